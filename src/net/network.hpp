// hull's container networking, the public face of src/net. The engine calls it beside the
// runtime: it makes a network namespace file, attaches it to a network before the
// container starts, writes /etc/hosts and /etc/resolv.conf for it, and detaches on rm.
//
// A network is a Linux bridge with the gateway address on it; a container gets a veth
// pair (host end on the bridge, the other end renamed eth0 in its netns), an address
// from the network's IPAM (SQLite, <root>/net.db), a default route and the bridge's MTU.
// Outbound NAT and published ports are nftables rules in hull's own table `ip hull`,
// rebuilt atomically from the database on every change and deleted with the last
// network; ip_forward is switched on only while a bridge network exists.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hull::net {

// ---------------------------------------------------------------------------------------
// Published ports (docker's -p / -P)

struct PortSpec {
  std::string host_ip;     // "" = every address of the host
  uint16_t host_port = 0;  // 0 = a free port is picked at attach
  uint16_t container_port = 0;
  std::string proto = "tcp";  // "tcp" or "udp"
  // > host_port: attach picks the first free port of host_port..host_port_last (docker's
  // "-p 8000-8010:80"); 0 once resolved.
  uint16_t host_port_last = 0;
  bool operator==(const PortSpec&) const = default;
};

// docker's -p syntax: [ip:][hostPort:]containerPort[/proto]. Ports may be ranges: equal
// lengths pair up ("8000-8002:80-82" is three PortSpecs), a host range with one container
// port is a range to pick a free host port from ("8000-8010:80"); "ip::80" and ":80" take
// a free host port. Every malformed form is an error naming the input and the part.
Result<std::vector<PortSpec>> parse_publish(std::string_view spec);
// One ExposedPorts key of an image config ("80/tcp", "53/udp", "8080") for -P.
Result<PortSpec> parse_exposed(std::string_view key);
// "127.0.0.1:18080->80/tcp, 0.0.0.0:8080->80/tcp", as `docker ps` shows PORTS.
std::string format_ports(const std::vector<PortSpec>& ports);
// One line per port as `docker port` prints: "80/tcp -> 127.0.0.1:18080".
std::string format_port_lines(const std::vector<PortSpec>& ports);

// ---------------------------------------------------------------------------------------
// Networks and attachments

struct EndpointInfo {
  std::string container_id, container_name;
  std::string ip;  // CIDR, e.g. "10.88.0.2/16"
  std::string mac;
  std::string host_veth;
  std::vector<std::string> aliases;
  std::vector<PortSpec> ports;  // resolved host ports
};

struct NetworkInfo {
  std::string name;  // "bridge" is the default network
  std::string id;    // 64 hex
  std::string driver = "bridge";
  std::string bridge;    // interface name: "hull0", "hull-<10 hex>", or -o's bridge.name
  std::string subnet;    // "10.88.0.0/16"
  std::string gateway;   // "10.88.0.1"
  std::string ip_range;  // --ip-range, "" = the whole subnet
  int mtu = 1500;
  int64_t created = 0;  // unix seconds
  bool is_default = false;
  bool internal = false;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;  // -o as given
  std::vector<EndpointInfo> endpoints;
};

// docker network create's flags.
struct CreateOptions {
  std::string subnet;    // "" = a free /24 from 10.89.0.0/16 upward
  std::string gateway;   // "" = the subnet's first address
  std::string ip_range;  // containers' addresses come from this CIDR inside the subnet
  // No route out: no masquerade, no forwarding between the bridge and any other
  // interface, no published ports, and containers get no default route (docker's).
  bool internal = false;
  std::map<std::string, std::string> labels;
  // -o: com.docker.network.bridge.name (the bridge's interface name),
  // com.docker.network.driver.mtu, com.docker.network.bridge.enable_ip_masquerade;
  // any other com.docker.network.* key is refused rather than ignored; other keys are kept.
  std::map<std::string, std::string> options;
};

struct Attachment {
  std::string network;
  std::string interface;  // in the container: eth0, eth1, ...
  std::string ip;         // CIDR
  std::string gateway;
  std::string mac;
  std::string host_veth;
  int mtu = 1500;
  std::vector<PortSpec> ports;  // resolved: host_port never 0
};

struct AttachRequest {
  std::string container_id;
  std::string container_name;
  std::string hostname;            // written in /etc/hosts next to the container's address
  std::string netns_path;          // a netns file (create_netns) or /proc/<pid>/ns/net
  std::string network = "bridge";  // "bridge" = the default network hull0
  std::vector<PortSpec> ports;
  std::vector<std::string> aliases;      // --network-alias: names peers resolve
  std::vector<std::string> extra_hosts;  // --add-host "name:ip" (already validated)
  // The container's /etc/hosts on the host (the file the engine bind-mounts). hull
  // rewrites it in place, keeping the inode, when peers join or leave its networks.
  // Empty: the engine writes hosts_file() itself and gets no updates.
  std::string hosts_path;
  std::string ip;          // --ip: a fixed address inside the subnet, "" = next free
  std::string mac;         // --mac-address (validated), "" = 02:42 + the address
  std::string domainname;  // --domainname: hosts names "HOST.DOMAIN HOST", as docker
};

struct Config {
  // Subnet of the default network when it is first created; "" = the first of
  // 10.88.0.0/16, 10.87.0.0/16, 172.30.0.0/16, ... that overlaps no route of the host.
  // HULL_BRIDGE_SUBNET in the environment overrides it.
  std::string default_subnet;
  std::string default_bridge = "hull0";
};

class Networks {
 public:
  // Opens (creating) <root>/net.db. Nothing is done in the kernel until a network is
  // created or a container attached.
  static Result<Networks> open(const std::string& root, const Config& config = {});

  Networks(Networks&&) noexcept;
  Networks& operator=(Networks&&) noexcept;
  ~Networks();

  // A user network: its bridge exists from create to remove. An empty subnet picks a
  // free /24 from 10.89.0.0/16 upward; an empty gateway is the subnet's first address.
  Result<NetworkInfo> create(const std::string& name, const std::string& subnet = "",
                             const std::string& gateway = "");
  Result<NetworkInfo> create(const std::string& name, const CreateOptions& options);
  // Fails while containers are attached. The default network cannot be removed.
  Status remove(const std::string& name_or_id);
  Result<std::vector<NetworkInfo>> list();
  Result<NetworkInfo> inspect(const std::string& name_or_id);
  // Removes user networks with no containers; returns their names.
  Result<std::vector<std::string>> prune();

  // Connects a container's netns to a network. On error nothing is left: no veth, no
  // address held, no rule. A host port in use is an error naming the port.
  Result<Attachment> attach(const AttachRequest& request);
  // The brief's positional form of attach.
  Result<Attachment> attach(const std::string& container_id, const std::string& container_name,
                            const std::string& netns_path, const std::string& network,
                            const std::vector<PortSpec>& ports,
                            const std::vector<std::string>& aliases);
  // Idempotent: removes the container's veths, addresses and port rules on every
  // network; the default bridge and the nft table go with their last user.
  Status detach(const std::string& container_id);
  // `network disconnect`: one network only.
  Status detach(const std::string& container_id, const std::string& network);
  // The container's attachments, in interface order (for ps PORTS, port, inspect).
  Result<std::vector<Attachment>> attachments(const std::string& container_id);

  // /etc/hosts of an attached container: localhost lines, its own address with hostname,
  // the other containers (names and aliases) of its user networks, extra hosts.
  Result<std::string> hosts_file(const std::string& container_id,
                                 const std::vector<std::string>& extra_hosts = {});

  // After a crash: detaches every container not in live_ids, deletes hull's veths and
  // bridges that the database does not know, and rebuilds (or removes) the nft table.
  Status prune_orphans(const std::vector<std::string>& live_ids);

  struct Impl;

 private:
  explicit Networks(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------
// Network namespaces

// A new network namespace, lo up, kept alive by a bind mount on path (created as an
// empty file); the engine passes path to the runtime as namespaces[network].path. Made
// on a short-lived thread, so the caller's netns is left alone: it also works in a user
// namespace (the rootless engine's), where the new netns belongs to that namespace and
// the host's could not be joined back.
Result<std::string> create_netns(const std::string& path);
// Unmounts and deletes the file; a missing path is not an error.
Status remove_netns(const std::string& path);

// ---------------------------------------------------------------------------------------
// /etc/hosts and /etc/resolv.conf

struct HostEntry {
  std::string ip;
  std::vector<std::string> names;
};

// --add-host "name:ip" (docker also takes "name=ip"); "host-gateway" is replaced by
// gateway when given.
Result<HostEntry> parse_add_host(std::string_view spec, std::string_view gateway = "");
// The hosts text: localhost lines, then entries in order, then extra hosts.
std::string render_hosts(const std::vector<HostEntry>& entries,
                         const std::vector<HostEntry>& extra = {});
// /etc/hosts for a container without a bridge network (--network none): the localhost
// lines and extra hosts, as docker writes it.
std::string render_hosts_standalone(const std::vector<HostEntry>& extra = {});

// docker's rules: --dns replaces the nameservers, --dns-search the search list,
// --dns-option the options; loopback nameservers (127/8, ::1) are dropped because they
// mean nothing inside the container; with none left, 8.8.8.8 and 8.8.4.4.
std::string render_resolv_conf(std::string_view host_text, const std::vector<std::string>& dns,
                               const std::vector<std::string>& search,
                               const std::vector<std::string>& options = {});
// Reads the host's resolv.conf (systemd-resolved's upstream file when the stub is in
// use) and renders it; host_network keeps loopback servers, as docker does for --network
// host.
Result<std::string> container_resolv_conf(const std::vector<std::string>& dns,
                                          const std::vector<std::string>& search,
                                          const std::vector<std::string>& options,
                                          bool host_network);

// ---------------------------------------------------------------------------------------
// Rootless networking through pasta (Debian's passt)

struct PastaRequest {
  std::string netns_path;   // the container's netns (owned by userns_path)
  std::string userns_path;  // the user namespace owning it
  std::vector<PortSpec> ports;
  std::string pid_file;  // where pasta writes its pid
};
// Starts pasta in the background, configured to copy the host's addresses and routes
// into the netns, with -t/-u forwards for ports. Returns pasta's pid: the caller stops it
// (SIGTERM) when the container goes, as pasta does not notice a /proc/PID/ns/net netns
// going away. A failure carries pasta's own last line of stderr.
Result<pid_t> start_pasta(const PastaRequest& request);

}  // namespace hull::net

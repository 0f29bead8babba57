// The rtnetlink calls hull needs, over libnl-route-3: bridges, veth pairs, addresses,
// routes. Internal to src/net. A socket opened "in" a netns stays bound to it after the
// thread that opened it is gone (netlink sockets belong to the netns they were created
// in), so one short-lived thread per container is enough.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

struct nl_sock;

namespace hull::net::nl {

class Socket {
 public:
  // A NETLINK_ROUTE socket in the caller's network namespace.
  static Result<Socket> open();
  // The same, in the namespace of netns_fd (opened by a short-lived thread: the caller's
  // namespace never changes, so this works in a user namespace too).
  static Result<Socket> open_in(int netns_fd);

  Socket(Socket&& o) noexcept : sk_(o.sk_) { o.sk_ = nullptr; }
  Socket& operator=(Socket&& o) noexcept;
  Socket(const Socket&) = delete;
  ~Socket();
  [[nodiscard]] nl_sock* get() const { return sk_; }

 private:
  explicit Socket(nl_sock* sk) : sk_(sk) {}
  nl_sock* sk_ = nullptr;
};

struct LinkInfo {
  std::string name;
  std::string kind;  // "bridge", "veth", "" for physical
  int index = 0;
  int mtu = 0;
  int master = 0;
};

// 0 when there is no such link.
Result<int> link_index(Socket& s, const std::string& name);
Result<LinkInfo> link_info(Socket& s, const std::string& name);
Result<std::vector<LinkInfo>> links(Socket& s);

Status create_bridge(Socket& s, const std::string& name, int mtu);
// A veth pair: host_name in the caller's namespace, enslaved to master and up; peer_name
// created directly in netns_fd (no rename dance, no window with a clashing name) with mac.
Status create_veth(Socket& s, const std::string& host_name, int master, int mtu,
                   const std::string& peer_name, int netns_fd, const std::string& peer_mac);
// ENODEV is success: the link is already gone.
Status delete_link(Socket& s, const std::string& name);
Status set_up(Socket& s, const std::string& name);
Status add_address(Socket& s, const std::string& ifname, uint32_t addr, int prefix);
Status add_default_route(Socket& s, const std::string& ifname, uint32_t gateway);

// A per-netns sysctl, key relative to /proc/sys/net ("ipv4/ip_forward"); /proc/sys/net
// shows the netns of the thread that opens it.
Status write_sysctl(const std::string& key, std::string_view value);
Result<std::string> read_sysctl(const std::string& key);

}  // namespace hull::net::nl

// Networks: the database of networks and endpoints (net.db) and the kernel state that
// follows from it. Every change runs under an exclusive flock on <root>/net.lock, in one
// SQLite transaction, and ends with reconcile(), which makes the shared kernel state (nft
// table, ip_forward, the default bridge) match the database. An error unwinds what this
// call made in the kernel and rolls the transaction back.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <functional>
#include <map>
#include <set>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/sha256.hpp"
#include "common/sqlite_schema.hpp"
#include "common/strings.hpp"
#include "net/ipam.hpp"
#include "net/ipv4.hpp"
#include "net/netlink.hpp"
#include "net/network.hpp"
#include "net/nft.hpp"
#include "net/sqlite.hpp"

namespace hull::net {
namespace {

constexpr std::string_view kDefaultName = "bridge";
constexpr std::string_view kUserBridgePrefix = "hull-";
constexpr std::string_view kVethPrefix = "hullv";
constexpr int kDefaultMtu = 1500;

// docker's other predefined networks, listed beside the default bridge: host (the host's
// own network stack) and none (a loopback only). They have no row and no kernel object;
// a container joins them only at create (--network host|none). Their ids are fixed.
std::optional<NetworkInfo> predefined(std::string_view name_or_id) {
  for (std::string_view name : {"host", "none"}) {
    std::string id = Sha256::hex(fmt::format("hull predefined network {}", name));
    if (name_or_id != name && (name_or_id.size() < 3 || !id.starts_with(name_or_id))) continue;
    NetworkInfo n;
    n.name = name;
    n.id = std::move(id);
    n.driver = name == "host" ? "host" : "null";
    n.is_default = true;
    return n;
  }
  return std::nullopt;
}

// Created once (sqlite_schema.hpp): bump kSchemaVersion with every change.
constexpr int kSchemaVersion = 1;
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS networks(
  name TEXT PRIMARY KEY, id TEXT UNIQUE NOT NULL, bridge TEXT UNIQUE NOT NULL,
  subnet TEXT NOT NULL, gateway TEXT NOT NULL, mtu INTEGER NOT NULL,
  created INTEGER NOT NULL, is_default INTEGER NOT NULL, next_ip INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS endpoints(
  container_id TEXT NOT NULL, network TEXT NOT NULL REFERENCES networks(name),
  container_name TEXT NOT NULL, hostname TEXT NOT NULL, ip INTEGER NOT NULL,
  mac TEXT NOT NULL, host_veth TEXT UNIQUE NOT NULL, ifname TEXT NOT NULL,
  aliases TEXT NOT NULL, ports TEXT NOT NULL, extra_hosts TEXT NOT NULL,
  hosts_path TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY(container_id, network), UNIQUE(network, ip));
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
)";
// Version 2: network create's --ip-range, --internal, --label and -o. ALTER TABLE has no
// IF NOT EXISTS, so the version is checked again inside the write transaction.
constexpr int kSchemaV2 = 2;
constexpr const char* kSchemaV2Ddl = R"(
ALTER TABLE networks ADD COLUMN ip_range TEXT NOT NULL DEFAULT '';
ALTER TABLE networks ADD COLUMN internal INTEGER NOT NULL DEFAULT 0;
ALTER TABLE networks ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE networks ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
)";

Status migrate_v2(sql::Db& db) {
  if (sqlite::user_version(db.get()) >= kSchemaV2) return {};
  HULL_CHECK(db.exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    if (sqlite::user_version(db.get()) >= kSchemaV2) return {};
    HULL_CHECK(db.exec(kSchemaV2Ddl));
    return db.exec(fmt::format("PRAGMA user_version={}", kSchemaV2));
  }();
  if (!body) {
    (void)db.exec("ROLLBACK");
    return std::unexpected(body.error().wrap(fmt::format("{}: schema version 2", db.path())));
  }
  return db.exec("COMMIT");
}

struct NetRow {
  std::string name, id, bridge, subnet, gateway;
  int mtu = kDefaultMtu;
  int64_t created = 0;
  bool is_default = false;
  uint32_t next_ip = 0;
  std::string ip_range;
  bool internal = false;
  std::map<std::string, std::string> labels, options;

  [[nodiscard]] bool masquerade() const {
    auto it = options.find("com.docker.network.bridge.enable_ip_masquerade");
    return !internal && (it == options.end() || it->second != "false");
  }
};

struct EpRow {
  std::string container_id, network, container_name, hostname;
  uint32_t ip = 0;
  std::string mac, host_veth, ifname;
  std::vector<std::string> aliases;
  std::vector<PortSpec> ports;
  std::vector<std::string> extra_hosts;
  std::string hosts_path;
  int64_t seq = 0;
};

const char* kNetCols =
    "name, id, bridge, subnet, gateway, mtu, created, is_default, next_ip, ip_range, internal, "
    "labels, options";
const char* kEpCols =
    "container_id, network, container_name, hostname, ip, mac, host_veth, ifname, aliases, "
    "ports, extra_hosts, hosts_path, seq";

std::map<std::string, std::string> map_from_json(const std::string& text) {
  std::map<std::string, std::string> out;
  auto j = parse_json(text, "net.db");
  if (j && j->is_object())
    for (const auto& [k, v] : j->items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

NetRow net_row(const sql::Row& r) {
  NetRow n{r.s(0), r.s(1),      r.s(2),
           r.s(3), r.s(4),      static_cast<int>(r.i(5)),
           r.i(6), r.i(7) != 0, static_cast<uint32_t>(r.i(8))};
  n.ip_range = r.s(9);
  n.internal = r.i(10) != 0;
  n.labels = map_from_json(r.s(11));
  n.options = map_from_json(r.s(12));
  return n;
}

std::vector<std::string> strings_from_json(const std::string& text) {
  std::vector<std::string> out;
  auto j = parse_json(text, "net.db");
  if (j && j->is_array())
    for (const auto& v : *j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string ports_to_json(const std::vector<PortSpec>& ports) {
  Json a = Json::array();
  for (const auto& p : ports)
    a.push_back({{"host_ip", p.host_ip},
                 {"host_port", p.host_port},
                 {"container_port", p.container_port},
                 {"proto", p.proto}});
  return a.dump();
}

std::vector<PortSpec> ports_from_json(const std::string& text) {
  std::vector<PortSpec> out;
  auto j = parse_json(text, "net.db");
  if (!j || !j->is_array()) return out;
  for (const auto& v : *j) {
    PortSpec p;
    p.host_ip = v.value("host_ip", "");
    p.host_port = v.value("host_port", uint16_t{0});
    p.container_port = v.value("container_port", uint16_t{0});
    p.proto = v.value("proto", "tcp");
    out.push_back(std::move(p));
  }
  return out;
}

EpRow ep_row(const sql::Row& r) {
  EpRow e;
  e.container_id = r.s(0);
  e.network = r.s(1);
  e.container_name = r.s(2);
  e.hostname = r.s(3);
  e.ip = static_cast<uint32_t>(r.i(4));
  e.mac = r.s(5);
  e.host_veth = r.s(6);
  e.ifname = r.s(7);
  e.aliases = strings_from_json(r.s(8));
  e.ports = ports_from_json(r.s(9));
  e.extra_hosts = strings_from_json(r.s(10));
  e.hosts_path = r.s(11);
  e.seq = r.i(12);
  return e;
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // getrandom cannot fail once the pool is initialised; mix time in as a last resort.
      for (size_t i = got; i < bytes; ++i) raw[i] = static_cast<char>(rand());
      break;
    }
    got += static_cast<size_t>(n);
  }
  std::string out;
  for (unsigned char c : raw) out += fmt::format("{:02x}", c);
  return out;
}

bool valid_network_name(std::string_view n) {
  if (n.empty() || n.size() > 128) return false;
  if (!isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

// Runs the function on scope exit unless dismissed: the unwinding of a half-made attach.
class Undo {
 public:
  void add(std::function<void()> f) { steps_.push_back(std::move(f)); }
  void dismiss() { steps_.clear(); }
  ~Undo() {
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) (*it)();
  }

 private:
  std::vector<std::function<void()>> steps_;
};

// Whether a process could bind host_ip:port now. SO_REUSEADDR so that TIME_WAIT
// leftovers do not count as "in use" while a listener still does.
Status check_port_free(const PortSpec& p) {
  int type = p.proto == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  UniqueFd s(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!s) return sys_fail("socket");
  int one = 1;
  setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(p.host_port);
  a.sin_addr.s_addr = htonl(p.host_ip.empty() ? INADDR_ANY : *parse_ipv4(p.host_ip));
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    int err = errno;
    std::string where =
        fmt::format("{}:{}/{}", p.host_ip.empty() ? "0.0.0.0" : p.host_ip, p.host_port, p.proto);
    if (err == EADDRINUSE)
      return fail(fmt::format("publish {}: host port {} is already in use", where, p.host_port),
                  err);
    if (err == EADDRNOTAVAIL)
      return fail(fmt::format("publish {}: {} is not an address of this host", where, p.host_ip),
                  err);
    return sys_fail(fmt::format("publish {}: bind", where), err);
  }
  return {};
}

// A free port from the kernel's ephemeral range, as docker picks for -p 80.
Result<uint16_t> pick_free_port(const PortSpec& p) {
  int type = p.proto == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  UniqueFd s(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!s) return sys_fail("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(p.host_ip.empty() ? INADDR_ANY : *parse_ipv4(p.host_ip));
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
    return sys_failf("pick a free {} port on {}", p.proto,
                     p.host_ip.empty() ? "0.0.0.0" : p.host_ip);
  socklen_t len = sizeof a;
  if (getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) < 0)
    return sys_fail("getsockname");
  return ntohs(a.sin_port);
}

bool ports_clash(const PortSpec& a, const PortSpec& b) {
  return a.proto == b.proto && a.host_port == b.host_port &&
         (a.host_ip.empty() || b.host_ip.empty() || a.host_ip == b.host_ip);
}

std::string subnet_of(const EpRow& e, const NetRow& n) {
  auto s = parse_subnet(n.subnet);
  return fmt::format("{}/{}", format_ipv4(e.ip), s ? s->prefix : 32);
}

}  // namespace

struct Networks::Impl {
  std::string root;
  Config config;
  sql::Db db;
  UniqueFd lock_fd;

  // --- locking and transactions -------------------------------------------------------

  struct Locked {
    int fd = -1;
    explicit Locked(int f) : fd(f) {}
    Locked(Locked&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    Locked(const Locked&) = delete;
    ~Locked() {
      if (fd >= 0) flock(fd, LOCK_UN);
    }
  };
  Result<Locked> lock() {
    while (flock(lock_fd.get(), LOCK_EX) < 0)
      if (errno != EINTR) return sys_failf("flock \"{}/net.lock\"", root);
    return Locked(lock_fd.get());
  }

  // --- reads --------------------------------------------------------------------------

  Result<std::vector<NetRow>> networks() {
    std::vector<NetRow> out;
    HULL_CHECK(db.query(fmt::format("SELECT {} FROM networks ORDER BY created, name", kNetCols), {},
                        [&](const sql::Row& r) { out.push_back(net_row(r)); }));
    return out;
  }

  Result<std::optional<NetRow>> find_network(const std::string& name_or_id) {
    std::string key = name_or_id == "default" ? std::string(kDefaultName) : name_or_id;
    std::vector<NetRow> hits;
    HULL_CHECK(db.query(fmt::format("SELECT {} FROM networks WHERE name = ?1 OR id = ?1", kNetCols),
                        {key}, [&](const sql::Row& r) { hits.push_back(net_row(r)); }));
    if (!hits.empty()) return hits.front();
    if (key.size() >= 3) {
      HULL_CHECK(
          db.query(fmt::format("SELECT {} FROM networks WHERE substr(id, 1, ?2) = ?1", kNetCols),
                   {key, static_cast<int64_t>(key.size())},
                   [&](const sql::Row& r) { hits.push_back(net_row(r)); }));
      if (hits.size() > 1) return failf("network id prefix \"{}\" is ambiguous", key);
      if (hits.size() == 1) return hits.front();
    }
    return std::optional<NetRow>{};
  }

  Result<std::vector<EpRow>> endpoints(const std::string& where, const std::vector<sql::Value>& p) {
    std::vector<EpRow> out;
    HULL_CHECK(db.query(fmt::format("SELECT {} FROM endpoints {} ORDER BY seq", kEpCols, where), p,
                        [&](const sql::Row& r) { out.push_back(ep_row(r)); }));
    return out;
  }

  // --- the default network ------------------------------------------------------------

  Result<NetRow> ensure_default() {
    auto found = HULL_TRY(find_network(std::string(kDefaultName)));
    if (found) return *found;
    std::string subnet_text = config.default_subnet;
    if (const char* env = getenv("HULL_BRIDGE_SUBNET"); env && *env) subnet_text = env;
    Subnet subnet;
    std::vector<Subnet> taken = ipam::host_routes();
    for (const auto& n : HULL_TRY(networks()))
      if (auto s = parse_subnet(n.subnet)) taken.push_back(*s);
    if (!subnet_text.empty()) {
      subnet = HULL_TRY(parse_subnet(subnet_text));
    } else {
      std::vector<Subnet> candidates;
      for (const char* c : {"10.88.0.0/16", "10.87.0.0/16", "172.30.0.0/16", "172.31.0.0/16",
                            "10.86.0.0/16", "192.168.240.0/20"})
        candidates.push_back(*parse_subnet(c));
      subnet = HULL_TRY(ipam::pick_subnet(candidates, taken));
    }
    NetRow n;
    n.name = kDefaultName;
    n.bridge = config.default_bridge;
    n.is_default = true;
    return HULL_TRY(insert_network(std::move(n), subnet, subnet.base + 1));
  }

  // n carries the name, is_default and create's extras; an empty bridge is named after
  // the new id.
  Result<NetRow> insert_network(NetRow n, const Subnet& subnet, uint32_t gateway) {
    n.id = random_hex(32);
    n.subnet = subnet.str();
    n.gateway = format_ipv4(gateway);
    n.created = static_cast<int64_t>(time(nullptr));
    n.next_ip = gateway + 1;
    if (!n.ip_range.empty())
      if (auto r = parse_subnet(n.ip_range)) n.next_ip = r->base;
    if (n.bridge.empty()) n.bridge = std::string(kUserBridgePrefix) + n.id.substr(0, 10);
    HULL_CHECK(
        db.run("INSERT INTO networks(name, id, bridge, subnet, gateway, mtu, created, is_default, "
               "next_ip, ip_range, internal, labels, options) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
               {n.name, n.id, n.bridge, n.subnet, n.gateway, int64_t{n.mtu}, n.created,
                int64_t{n.is_default}, int64_t{n.next_ip}, n.ip_range, int64_t{n.internal},
                Json(n.labels).dump(), Json(n.options).dump()}));
    return n;
  }

  // --- kernel state -------------------------------------------------------------------

  // The bridge with its gateway address, up. Returns whether this call created it.
  Result<bool> ensure_bridge(nl::Socket& sock, const NetRow& n) {
    if (HULL_TRY(nl::link_index(sock, n.bridge)) != 0) return false;
    auto subnet = HULL_TRY(parse_subnet(n.subnet));
    HULL_CHECK(nl::create_bridge(sock, n.bridge, n.mtu));
    auto rest = [&]() -> Status {
      HULL_CHECK(nl::add_address(sock, n.bridge, *parse_ipv4(n.gateway), subnet.prefix));
      // Lets 127.0.0.1:hostPort be DNATed out of this bridge (the output chain's rule).
      HULL_CHECK(nl::write_sysctl(fmt::format("ipv4/conf/{}/route_localnet", n.bridge), "1"));
      return {};
    }();
    if (!rest) {
      (void)nl::delete_link(sock, n.bridge);
      return std::unexpected(rest.error());
    }
    return true;
  }

  // Makes nft, ip_forward and the default bridge match the database. The nft commit (an
  // RCU grace period in the kernel, milliseconds on a busy host) is skipped when the
  // rules are those last applied, which is every attach without ports once the bridge
  // exists; force re-applies (prune_orphans: someone may have flushed the table).
  Status reconcile(nl::Socket& sock, bool force = false) {
    auto nets = HULL_TRY(networks());
    auto eps = HULL_TRY(endpoints("", {}));
    std::map<std::string, int> users;
    for (const auto& e : eps) users[e.network]++;
    nft::Model model;
    std::set<std::string> internal;
    for (const auto& n : nets) {
      bool in_use = !n.is_default || users[n.name] > 0;
      if (!in_use) {
        HULL_CHECK(nl::delete_link(sock, n.bridge));
        continue;
      }
      model.bridges.push_back({n.bridge, n.subnet, n.internal, n.masquerade()});
      if (n.internal) internal.insert(n.name);
    }
    for (const auto& e : eps) {
      // docker publishes no port of a container on an internal network.
      if (internal.contains(e.network)) continue;
      for (const auto& p : e.ports)
        model.ports.push_back(
            {p.host_ip, p.host_port, p.proto, format_ipv4(e.ip), p.container_port});
    }
    std::string text = nft::render(model);
    std::optional<std::string> last;
    HULL_CHECK(db.query("SELECT value FROM meta WHERE key = 'nft'", {},
                        [&](const sql::Row& r) { last = r.s(0); }));
    if (force || !last || *last != text) {
      // A container with -p coming or going changes only the ports chain.
      // Should the table have gone from the kernel meanwhile (someone flushed the
      // ruleset), the ports-only update fails as a whole and the table is made afresh.
      bool ports_only = !force && last && !model.bridges.empty() &&
                        nft::without_ports(*last) == nft::without_ports(text);
      if (!ports_only || !nft::apply_ports(model)) HULL_CHECK(nft::apply(model));
      HULL_CHECK(db.run("INSERT OR REPLACE INTO meta(key, value) VALUES('nft', ?)", {text}));
    }
    return set_forwarding(!model.bridges.empty());
  }

  // ip_forward on while a bridge exists; the value found before is restored after.
  Status set_forwarding(bool on) {
    std::optional<std::string> saved;
    HULL_CHECK(db.query("SELECT value FROM meta WHERE key = 'ip_forward'", {},
                        [&](const sql::Row& r) { saved = r.s(0); }));
    if (on) {
      if (!saved) {
        auto cur = HULL_TRY(nl::read_sysctl("ipv4/ip_forward"));
        HULL_CHECK(db.run("INSERT INTO meta(key, value) VALUES('ip_forward', ?)", {cur}));
        if (cur == "1") return {};
      }
      if (HULL_TRY(nl::read_sysctl("ipv4/ip_forward")) == "1") return {};
      return nl::write_sysctl("ipv4/ip_forward", "1");
    }
    if (!saved) return {};
    HULL_CHECK(nl::write_sysctl("ipv4/ip_forward", *saved));
    return db.run("DELETE FROM meta WHERE key = 'ip_forward'", {});
  }

  // --- /etc/hosts ----------------------------------------------------------------------

  Result<std::string> render_for(const std::string& container_id,
                                 const std::vector<std::string>& extra_args) {
    auto mine = HULL_TRY(endpoints("WHERE container_id = ?", {container_id}));
    std::vector<HostEntry> entries, extra;
    std::set<std::string> seen_ids{container_id};
    for (size_t i = 0; i < mine.size(); ++i) {
      const auto& e = mine[i];
      HostEntry self{format_ipv4(e.ip), {}};
      if (!e.hostname.empty()) self.names.push_back(e.hostname);
      if (i == 0 || !self.names.empty()) entries.push_back(self);
    }
    for (const auto& e : mine) {
      auto net = HULL_TRY(find_network(e.network));
      // Names resolve on user networks only, as with docker's embedded DNS.
      if (!net || net->is_default) continue;
      for (const auto& peer : HULL_TRY(endpoints("WHERE network = ?", {e.network}))) {
        if (peer.container_id == container_id) continue;
        HostEntry h{format_ipv4(peer.ip), {}};
        if (!peer.container_name.empty()) h.names.push_back(peer.container_name);
        for (const auto& a : peer.aliases)
          if (std::find(h.names.begin(), h.names.end(), a) == h.names.end()) h.names.push_back(a);
        h.names.push_back(peer.container_id.substr(0, 12));
        entries.push_back(std::move(h));
      }
    }
    std::string gateway;
    if (!mine.empty())
      if (auto n = HULL_TRY(find_network(mine[0].network))) gateway = n->gateway;
    std::vector<std::string> extra_specs =
        mine.empty() ? std::vector<std::string>{} : mine[0].extra_hosts;
    extra_specs.insert(extra_specs.end(), extra_args.begin(), extra_args.end());
    for (const auto& s : extra_specs) extra.push_back(HULL_TRY(parse_add_host(s, gateway)));
    return render_hosts(entries, extra);
  }

  // Rewrites the hosts files of every container on these networks (best effort: a
  // container whose file is gone is simply skipped).
  void refresh_hosts(const std::set<std::string>& nets, const std::string& also) {
    std::set<std::string> ids;
    if (!also.empty()) ids.insert(also);
    for (const auto& n : nets)
      if (auto eps = endpoints("WHERE network = ?", {n}))
        for (const auto& e : *eps) ids.insert(e.container_id);
    for (const auto& id : ids) {
      auto eps = endpoints("WHERE container_id = ? AND hosts_path != ''", {id});
      if (!eps || eps->empty()) continue;
      auto text = render_for(id, {});
      if (!text) {
        log::warn("hosts file of {}: {}", id, text.error().message);
        continue;
      }
      // In place (O_TRUNC, same inode): the container sees the file through a bind mount.
      if (auto r = fs::write_file(eps->front().hosts_path, *text); !r)
        log::debug("hosts file of {}: {}", id, r.error().message);
    }
  }

  // --- attach / detach ----------------------------------------------------------------

  Result<std::vector<PortSpec>> resolve_ports(const std::vector<PortSpec>& wanted) {
    std::vector<PortSpec> taken;
    for (const auto& e : HULL_TRY(endpoints("", {})))
      taken.insert(taken.end(), e.ports.begin(), e.ports.end());
    std::vector<PortSpec> out;
    for (PortSpec p : wanted) {
      if (p.container_port == 0) return failf("publish: container port 0 is not valid");
      if (!p.host_ip.empty() && !parse_ipv4(p.host_ip))
        return failf("publish: host address \"{}\" is not an IPv4 address", p.host_ip);
      if (p.proto != "tcp" && p.proto != "udp")
        return failf("publish: protocol \"{}\" is not tcp or udp", p.proto);
      auto clash = [&](const PortSpec& q) {
        return std::any_of(taken.begin(), taken.end(),
                           [&](auto& t) { return ports_clash(t, q); }) ||
               std::any_of(out.begin(), out.end(), [&](auto& t) { return ports_clash(t, q); });
      };
      if (p.host_port_last > p.host_port) {
        // docker's "-p 8000-8010:80": the first port of the range that nobody holds.
        const PortSpec asked = p;
        bool found = false;
        for (unsigned port = asked.host_port; port <= asked.host_port_last && !found; ++port) {
          p.host_port = static_cast<uint16_t>(port);
          if (clash(p)) continue;
          auto free = check_port_free(p);
          if (!free && free.error().code != EADDRINUSE) return std::unexpected(free.error());
          found = free.has_value();
        }
        if (!found)
          return fail(fmt::format("publish {}:{}-{}/{}: every host port of the range is in use",
                                  asked.host_ip.empty() ? "0.0.0.0" : asked.host_ip,
                                  asked.host_port, asked.host_port_last, asked.proto),
                      EADDRINUSE);
        p.host_port_last = 0;
      } else if (p.host_port == 0) {
        p.host_port_last = 0;
        for (int attempt = 0;; ++attempt) {
          p.host_port = HULL_TRY(pick_free_port(p));
          if (!clash(p)) break;
          if (attempt == 50) return fail("publish: no free host port found", EADDRINUSE);
        }
      } else {
        if (clash(p))
          // docker's words, which scripts look for.
          return fail(fmt::format("publish {}:{}/{}: Bind for {}:{} failed: port is already "
                                  "allocated (by another container, or twice in this one)",
                                  p.host_ip.empty() ? "0.0.0.0" : p.host_ip, p.host_port, p.proto,
                                  p.host_ip.empty() ? "0.0.0.0" : p.host_ip, p.host_port),
                      EADDRINUSE);
        HULL_CHECK(check_port_free(p));
        p.host_port_last = 0;
      }
      out.push_back(p);
    }
    return out;
  }

  Result<Attachment> attach(const AttachRequest& rq) {
    if (rq.container_id.empty()) return fail("attach: empty container id", EINVAL);
    if (rq.network == "host" || rq.network == "none")
      return failf(
          "network \"{}\" cannot be connected to: a container joins it only when created "
          "(--network {})",
          rq.network, rq.network);
    if (rq.network.starts_with("container:"))
      return failf("attach: \"{}\" is not a bridge network; the engine handles it", rq.network);
    auto lk = HULL_TRY(lock());
    UniqueFd ns(::open(rq.netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) return sys_failf("open netns \"{}\"", rq.netns_path);
    auto sock = HULL_TRY(nl::Socket::open());
    auto in_ns = HULL_TRY(nl::Socket::open_in(ns.get()));

    HULL_CHECK(db.exec("BEGIN IMMEDIATE"));
    Undo undo;
    bool committed = false;
    undo.add([&] {
      if (committed) return;
      (void)db.exec("ROLLBACK");
      if (auto r = reconcile(sock, true); !r)
        log::warn("attach failed and reconcile did too: {}", r.error().message);
    });

    NetRow net;
    if (rq.network == kDefaultName || rq.network == "default") {
      net = HULL_TRY(ensure_default());
    } else {
      auto found = HULL_TRY(find_network(rq.network));
      if (!found) return fail(fmt::format("network \"{}\" not found", rq.network), ENOENT);
      net = *found;
    }
    auto subnet = HULL_TRY(parse_subnet(net.subnet));
    uint32_t gateway = *parse_ipv4(net.gateway);

    auto existing = HULL_TRY(endpoints("WHERE container_id = ?", {rq.container_id}));
    for (const auto& e : existing)
      if (e.network == net.name)
        return fail(fmt::format("container {} is already attached to network \"{}\"",
                                rq.container_id, net.name),
                    EEXIST);

    std::vector<PortSpec> ports = HULL_TRY(resolve_ports(rq.ports));

    std::set<uint32_t> used;
    HULL_CHECK(db.query("SELECT ip FROM endpoints WHERE network = ?", {net.name},
                        [&](const sql::Row& r) { used.insert(static_cast<uint32_t>(r.i(0))); }));
    uint32_t ip;
    if (!rq.ip.empty()) {
      auto a = parse_ipv4(rq.ip);
      if (!a) return failf("--ip \"{}\": not an IPv4 address", rq.ip);
      HULL_CHECK(ipam::check_static(subnet, gateway, used, *a));
      ip = *a;
    } else {
      Subnet pool = subnet;
      if (!net.ip_range.empty()) pool = HULL_TRY(parse_subnet(net.ip_range));
      ip = HULL_TRY(ipam::allocate(subnet, pool, gateway, used, net.next_ip));
      HULL_CHECK(
          db.run("UPDATE networks SET next_ip = ? WHERE name = ?", {int64_t{ip + 1}, net.name}));
    }

    EpRow ep;
    ep.container_id = rq.container_id;
    ep.network = net.name;
    ep.container_name = rq.container_name;
    ep.hostname = rq.hostname;
    // docker's hosts line with a domain name: the FQDN, then the short name.
    if (!rq.hostname.empty() && !rq.domainname.empty())
      ep.hostname = fmt::format("{}.{} {}", rq.hostname, rq.domainname, rq.hostname);
    ep.ip = ip;
    ep.mac = rq.mac.empty() ? ipam::mac_for(ip) : rq.mac;
    ep.host_veth = std::string(kVethPrefix) + random_hex(5);
    ep.ifname = fmt::format("eth{}", existing.size());
    ep.aliases = rq.aliases;
    ep.ports = ports;
    ep.extra_hosts = rq.extra_hosts;
    ep.hosts_path = rq.hosts_path;
    int64_t seq = 0;
    HULL_CHECK(db.query("SELECT COALESCE(MAX(seq), 0) + 1 FROM endpoints", {},
                        [&](const sql::Row& r) { seq = r.i(0); }));
    HULL_CHECK(
        db.run(fmt::format("INSERT INTO endpoints({}) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", kEpCols),
               {ep.container_id, ep.network, ep.container_name, ep.hostname, int64_t{ep.ip}, ep.mac,
                ep.host_veth, ep.ifname, Json(ep.aliases).dump(), ports_to_json(ep.ports),
                Json(ep.extra_hosts).dump(), ep.hosts_path, seq}));

    // Kernel: bridge, veth pair, addresses and routes inside the netns, then rules.
    bool made_bridge = HULL_TRY(ensure_bridge(sock, net));
    if (made_bridge)
      undo.add([&] {
        if (!committed) (void)nl::delete_link(sock, net.bridge);
      });
    int master = HULL_TRY(nl::link_index(sock, net.bridge));
    HULL_CHECK(nl::create_veth(sock, ep.host_veth, master, net.mtu, ep.ifname, ns.get(), ep.mac));
    undo.add([&] {
      if (!committed) (void)nl::delete_link(sock, ep.host_veth);
    });
    auto in_netns = [&]() -> Status {
      HULL_CHECK(nl::set_up(in_ns, "lo"));
      HULL_CHECK(nl::add_address(in_ns, ep.ifname, ip, subnet.prefix));
      HULL_CHECK(nl::set_up(in_ns, ep.ifname));
      // An internal network has no way out, so no default route (docker's).
      if (existing.empty() && !net.internal)
        HULL_CHECK(nl::add_default_route(in_ns, ep.ifname, gateway));
      return {};
    }();
    if (!in_netns)
      return std::unexpected(in_netns.error().wrap(fmt::format("netns \"{}\"", rq.netns_path)));
    HULL_CHECK(reconcile(sock));
    HULL_CHECK(db.exec("COMMIT"));
    committed = true;
    undo.dismiss();

    refresh_hosts({net.name}, rq.hosts_path.empty() ? std::string() : rq.container_id);

    Attachment at;
    at.network = net.name;
    at.interface = ep.ifname;
    at.ip = fmt::format("{}/{}", format_ipv4(ip), subnet.prefix);
    at.gateway = net.gateway;
    at.mac = ep.mac;
    at.host_veth = ep.host_veth;
    at.mtu = net.mtu;
    at.ports = ports;
    return at;
  }

  Status detach(const std::string& container_id, const std::string* network) {
    auto lk = HULL_TRY(lock());
    auto sock = HULL_TRY(nl::Socket::open());
    std::vector<EpRow> eps;
    if (network) {
      auto net = HULL_TRY(find_network(*network));
      if (!net) return fail(fmt::format("network \"{}\" not found", *network), ENOENT);
      eps =
          HULL_TRY(endpoints("WHERE container_id = ? AND network = ?", {container_id, net->name}));
      if (eps.empty())
        return fail(
            fmt::format("container {} is not connected to network \"{}\"", container_id, net->name),
            ENOENT);
    } else {
      eps = HULL_TRY(endpoints("WHERE container_id = ?", {container_id}));
    }
    if (eps.empty()) return {};
    std::set<std::string> nets;
    HULL_CHECK(db.exec("BEGIN IMMEDIATE"));
    auto body = [&]() -> Status {
      for (const auto& e : eps) {
        // Deleting the host end deletes the pair, and with it the address in the netns.
        HULL_CHECK(nl::delete_link(sock, e.host_veth));
        HULL_CHECK(db.run("DELETE FROM endpoints WHERE container_id = ? AND network = ?",
                          {e.container_id, e.network}));
        nets.insert(e.network);
      }
      HULL_CHECK(reconcile(sock));
      return db.exec("COMMIT");
    }();
    if (!body) {
      (void)db.exec("ROLLBACK");
      (void)reconcile(sock, true);
      return body;
    }
    refresh_hosts(nets, "");
    return {};
  }

  Result<NetworkInfo> info(const NetRow& n) {
    NetworkInfo i;
    i.name = n.name;
    i.id = n.id;
    i.bridge = n.bridge;
    i.subnet = n.subnet;
    i.gateway = n.gateway;
    i.ip_range = n.ip_range;
    i.mtu = n.mtu;
    i.created = n.created;
    i.is_default = n.is_default;
    i.internal = n.internal;
    i.labels = n.labels;
    i.options = n.options;
    for (const auto& e : HULL_TRY(endpoints("WHERE network = ?", {n.name})))
      i.endpoints.push_back(EndpointInfo{e.container_id, e.container_name, subnet_of(e, n), e.mac,
                                         e.host_veth, e.aliases, e.ports});
    return i;
  }
};

// ------------------------------------------------------------------------------------
// Networks

Networks::Networks(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Networks::Networks(Networks&&) noexcept = default;
Networks& Networks::operator=(Networks&&) noexcept = default;
Networks::~Networks() = default;

Result<Networks> Networks::open(const std::string& root, const Config& config) {
  HULL_CHECK(fs::mkdir_p(root, 0700));
  std::string lock_path = root + "/net.lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return sys_failf("open \"{}\"", lock_path);
  auto db = HULL_TRY(sql::Db::open(root + "/net.db"));
  HULL_CHECK(sqlite::ensure_schema(db.get(), kSchemaVersion, kSchema, root + "/net.db"));
  HULL_CHECK(migrate_v2(db));
  auto impl = std::make_unique<Impl>(Impl{root, config, std::move(db), std::move(lock)});
  return Networks(std::move(impl));
}

Result<NetworkInfo> Networks::create(const std::string& name, const std::string& subnet_text,
                                     const std::string& gateway_text) {
  CreateOptions o;
  o.subnet = subnet_text;
  o.gateway = gateway_text;
  return create(name, o);
}

Result<NetworkInfo> Networks::create(const std::string& name, const CreateOptions& o) {
  auto& I = *impl_;
  if (!valid_network_name(name))
    return failf("invalid network name \"{}\": use letters, digits, '_', '.', '-'", name);
  if (name == kDefaultName || name == "host" || name == "none" || name == "default")
    return failf("network name \"{}\" is reserved", name);
  NetRow row;
  row.name = name;
  row.internal = o.internal;
  row.labels = o.labels;
  row.options = o.options;
  for (const auto& [key, value] : o.options) {
    if (key == "com.docker.network.bridge.name") {
      if (value.empty() || value.size() > 15 || value.find_first_of("/ :") != std::string::npos)
        return failf(
            "-o {}={}: not a valid interface name (1-15 characters, no '/', ':' or "
            "blank)",
            key, value);
      row.bridge = value;
    } else if (key == "com.docker.network.driver.mtu") {
      int mtu = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), mtu);
      if (ec != std::errc() || end != value.data() + value.size() || mtu < 68 || mtu > 65535)
        return failf("-o {}={}: the MTU is a number from 68 to 65535", key, value);
      row.mtu = mtu;
    } else if (key == "com.docker.network.bridge.enable_ip_masquerade") {
      if (value != "true" && value != "false")
        return failf("-o {}={}: want true or false", key, value);
    } else if (key.starts_with("com.docker.network.")) {
      // Refused rather than stored and ignored: enable_icc=false, for one, would promise
      // an isolation hull does not give.
      return failf(
          "-o {}: not supported by hull (supported: com.docker.network.bridge.name, "
          "com.docker.network.driver.mtu, "
          "com.docker.network.bridge.enable_ip_masquerade)",
          key);
    }
  }
  auto lk = HULL_TRY(I.lock());
  auto sock = HULL_TRY(nl::Socket::open());
  if (HULL_TRY(I.find_network(name)))
    return fail(fmt::format("network with name \"{}\" already exists", name), EEXIST);
  std::vector<Subnet> others;
  for (const auto& n : HULL_TRY(I.networks())) {
    if (auto s = parse_subnet(n.subnet)) others.push_back(*s);
    if (!row.bridge.empty() && n.bridge == row.bridge)
      return fail(
          fmt::format("bridge name \"{}\" is already used by network \"{}\"", row.bridge, n.name),
          EEXIST);
  }
  if (!row.bridge.empty() && HULL_TRY(nl::link_index(sock, row.bridge)) != 0)
    return fail(fmt::format("-o com.docker.network.bridge.name={}: an interface of that name "
                            "already exists",
                            row.bridge),
                EEXIST);
  Subnet subnet;
  if (!o.subnet.empty()) {
    subnet = HULL_TRY(parse_subnet(o.subnet));
    if (subnet.prefix > 30) return failf("subnet {} is too small (at most /30)", subnet.str());
    for (const auto& other : others)
      if (subnet.overlaps(other))
        return failf("subnet {} overlaps the subnet {} of another hull network", subnet.str(),
                     other.str());
  } else {
    if (!o.ip_range.empty() || !o.gateway.empty())
      return failf("--{} needs --subnet", o.ip_range.empty() ? "gateway" : "ip-range");
    auto taken = others;
    auto routes = ipam::host_routes();
    taken.insert(taken.end(), routes.begin(), routes.end());
    std::vector<Subnet> candidates;
    for (uint32_t i = 0; i < 256; ++i)
      candidates.push_back(Subnet{(10u << 24) | (89u << 16) | (i << 8), 24});
    subnet = HULL_TRY(ipam::pick_subnet(candidates, taken));
  }
  uint32_t gateway = subnet.base + 1;
  if (!o.gateway.empty()) {
    auto g = parse_ipv4(o.gateway);
    if (!g) return failf("invalid gateway \"{}\": not an IPv4 address", o.gateway);
    if (!subnet.contains(*g) || *g == subnet.base || *g == subnet.broadcast())
      return failf("gateway {} is not a host address of subnet {}", o.gateway, subnet.str());
    gateway = *g;
  }
  if (!o.ip_range.empty()) {
    auto r = HULL_TRY(parse_subnet(o.ip_range));
    if (!subnet.contains(r.base) || r.prefix < subnet.prefix)
      return failf("ip range {} is not inside subnet {}", r.str(), subnet.str());
    row.ip_range = r.str();
  }
  HULL_CHECK(I.db.exec("BEGIN IMMEDIATE"));
  bool made = false;
  auto body = [&]() -> Status {
    row = HULL_TRY(I.insert_network(row, subnet, gateway));
    made = HULL_TRY(I.ensure_bridge(sock, row));
    HULL_CHECK(I.reconcile(sock));
    return I.db.exec("COMMIT");
  }();
  if (!body) {
    (void)I.db.exec("ROLLBACK");
    if (made) (void)nl::delete_link(sock, row.bridge);
    (void)I.reconcile(sock, true);
    return std::unexpected(body.error().wrap(fmt::format("create network \"{}\"", name)));
  }
  return I.info(row);
}

Status Networks::remove(const std::string& name_or_id) {
  auto& I = *impl_;
  auto lk = HULL_TRY(I.lock());
  auto sock = HULL_TRY(nl::Socket::open());
  auto found = HULL_TRY(I.find_network(name_or_id));
  if (!found) {
    if (auto p = predefined(name_or_id))
      return failf("{} is a pre-defined network and cannot be removed", p->name);
    return fail(fmt::format("network \"{}\" not found", name_or_id), ENOENT);
  }
  if (found->is_default)
    return failf("{} is a pre-defined network and cannot be removed", found->name);
  auto eps = HULL_TRY(I.endpoints("WHERE network = ?", {found->name}));
  if (!eps.empty())
    return fail(
        fmt::format("network \"{}\" has {} connected container(s), e.g. {}", found->name,
                    eps.size(),
                    eps[0].container_name.empty() ? eps[0].container_id : eps[0].container_name),
        EBUSY);
  HULL_CHECK(I.db.exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    HULL_CHECK(I.db.run("DELETE FROM networks WHERE name = ?", {found->name}));
    HULL_CHECK(I.reconcile(sock));  // drops its rules first: they name the bridge
    HULL_CHECK(nl::delete_link(sock, found->bridge));
    return I.db.exec("COMMIT");
  }();
  if (!body) {
    (void)I.db.exec("ROLLBACK");
    (void)I.reconcile(sock, true);
    return body;
  }
  return {};
}

// The default network is always listed, as docker's bridge is; its row (and subnet
// choice) is made here if no container has used it yet. No kernel change. host and none
// are as old as it.
static Result<int64_t> default_network_created(Networks::Impl& I) {
  auto lk = HULL_TRY(I.lock());
  HULL_CHECK(I.db.exec("BEGIN IMMEDIATE"));
  auto d = I.ensure_default();
  if (!d) {
    (void)I.db.exec("ROLLBACK");
    return std::unexpected(d.error());
  }
  HULL_CHECK(I.db.exec("COMMIT"));
  return d->created;
}

Result<std::vector<NetworkInfo>> Networks::list() {
  auto& I = *impl_;
  int64_t created = HULL_TRY(default_network_created(I));
  std::vector<NetworkInfo> out;
  for (const auto& n : HULL_TRY(I.networks())) out.push_back(HULL_TRY(I.info(n)));
  for (const char* name : {"host", "none"}) {
    out.push_back(*predefined(name));
    out.back().created = created;
  }
  return out;
}

Result<NetworkInfo> Networks::inspect(const std::string& name_or_id) {
  auto& I = *impl_;
  auto found = HULL_TRY(I.find_network(name_or_id));
  if (!found) {
    if (auto p = predefined(name_or_id)) {
      p->created = HULL_TRY(default_network_created(I));
      return *p;
    }
    return fail(fmt::format("network \"{}\" not found", name_or_id), ENOENT);
  }
  return I.info(*found);
}

Result<std::vector<std::string>> Networks::prune() {
  std::vector<std::string> removed;
  for (const auto& n : HULL_TRY(list())) {
    if (n.is_default || !n.endpoints.empty()) continue;
    HULL_CHECK(remove(n.name));
    removed.push_back(n.name);
  }
  return removed;
}

Result<Attachment> Networks::attach(const AttachRequest& request) {
  auto r = impl_->attach(request);
  if (!r)
    return std::unexpected(r.error().wrap(
        fmt::format("attach {} to network \"{}\"",
                    request.container_name.empty() ? request.container_id : request.container_name,
                    request.network)));
  return r;
}

Result<Attachment> Networks::attach(const std::string& container_id,
                                    const std::string& container_name,
                                    const std::string& netns_path, const std::string& network,
                                    const std::vector<PortSpec>& ports,
                                    const std::vector<std::string>& aliases) {
  AttachRequest rq;
  rq.container_id = container_id;
  rq.container_name = container_name;
  rq.hostname = container_id.substr(0, 12);
  rq.netns_path = netns_path;
  rq.network = network;
  rq.ports = ports;
  rq.aliases = aliases;
  return attach(rq);
}

Status Networks::detach(const std::string& container_id) {
  return impl_->detach(container_id, nullptr);
}

Status Networks::detach(const std::string& container_id, const std::string& network) {
  return impl_->detach(container_id, &network);
}

Result<std::vector<Attachment>> Networks::attachments(const std::string& container_id) {
  auto& I = *impl_;
  std::vector<Attachment> out;
  for (const auto& e : HULL_TRY(I.endpoints("WHERE container_id = ?", {container_id}))) {
    auto net = HULL_TRY(I.find_network(e.network));
    if (!net) continue;
    Attachment a;
    a.network = e.network;
    a.interface = e.ifname;
    a.ip = subnet_of(e, *net);
    a.gateway = net->gateway;
    a.mac = e.mac;
    a.host_veth = e.host_veth;
    a.mtu = net->mtu;
    a.ports = e.ports;
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::string> Networks::hosts_file(const std::string& container_id,
                                         const std::vector<std::string>& extra_hosts) {
  return impl_->render_for(container_id, extra_hosts);
}

Status Networks::prune_orphans(const std::vector<std::string>& live_ids) {
  auto& I = *impl_;
  std::set<std::string> live(live_ids.begin(), live_ids.end());
  std::set<std::string> dead;
  for (const auto& e : HULL_TRY(I.endpoints("", {})))
    if (!live.contains(e.container_id)) dead.insert(e.container_id);
  for (const auto& id : dead) HULL_CHECK(detach(id));

  auto lk = HULL_TRY(I.lock());
  auto sock = HULL_TRY(nl::Socket::open());
  std::set<std::string> known_veths, known_bridges;
  for (const auto& e : HULL_TRY(I.endpoints("", {}))) known_veths.insert(e.host_veth);
  for (const auto& n : HULL_TRY(I.networks())) known_bridges.insert(n.bridge);
  for (const auto& l : HULL_TRY(nl::links(sock))) {
    bool ours_veth = l.kind == "veth" && l.name.starts_with(kVethPrefix);
    bool ours_bridge = l.kind == "bridge" &&
                       (l.name.starts_with(kUserBridgePrefix) || l.name == I.config.default_bridge);
    if ((ours_veth && !known_veths.contains(l.name)) ||
        (ours_bridge && !known_bridges.contains(l.name))) {
      log::debug("prune orphan link {}", l.name);
      HULL_CHECK(nl::delete_link(sock, l.name));
    }
  }
  // Bridges of user networks lost in a crash before reaching the kernel come back.
  for (const auto& n : HULL_TRY(I.networks()))
    if (!n.is_default) (void)HULL_TRY(I.ensure_bridge(sock, n));
  return I.reconcile(sock, true);
}

}  // namespace hull::net

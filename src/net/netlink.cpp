#include "net/netlink.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>

#include <memory>

#include "common/fs.hpp"
#include "common/own_thread.hpp"
#include "common/strings.hpp"

namespace hull::net::nl {
namespace {

// libnl returns its own negative NLE_* codes; map the ones callers act upon to errno.
int to_errno(int nle) {
  switch (-nle) {
    case NLE_EXIST:
      return EEXIST;
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV:
      return ENODEV;
    case NLE_PERM:
      return EPERM;
    case NLE_NOACCESS:
      return EACCES;
    case NLE_BUSY:
      return EBUSY;
    case NLE_INVAL:
      return EINVAL;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_RANGE:
      return ERANGE;
    default:
      return EIO;
  }
}

std::unexpected<Error> nl_fail(std::string what, int nle) {
  return std::unexpected(Error{to_errno(nle), fmt::format("{}: {}", what, nl_geterror(nle))});
}

struct LinkDel {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkDel>;
struct AddrDel {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
using AddrPtr = std::unique_ptr<nl_addr, AddrDel>;

AddrPtr ipv4_addr(uint32_t host_order, int prefix) {
  uint32_t be = htonl(host_order);
  AddrPtr a(nl_addr_build(AF_INET, &be, sizeof be));
  if (a) nl_addr_set_prefixlen(a.get(), prefix);
  return a;
}

Result<LinkPtr> get_link(Socket& s, const std::string& name) {
  rtnl_link* l = nullptr;
  int err = rtnl_link_get_kernel(s.get(), 0, name.c_str(), &l);
  if (err < 0) return nl_fail(fmt::format("get link \"{}\"", name), err);
  return LinkPtr(l);
}

LinkInfo to_info(rtnl_link* l) {
  LinkInfo i;
  if (const char* n = rtnl_link_get_name(l)) i.name = n;
  if (const char* k = rtnl_link_get_type(l)) i.kind = k;
  i.index = rtnl_link_get_ifindex(l);
  i.mtu = static_cast<int>(rtnl_link_get_mtu(l));
  i.master = rtnl_link_get_master(l);
  return i;
}

Result<nl_sock*> new_socket() {
  nl_sock* sk = nl_socket_alloc();
  if (!sk) return fail("netlink: nl_socket_alloc failed", ENOMEM);
  if (int err = nl_connect(sk, NETLINK_ROUTE); err < 0) {
    nl_socket_free(sk);
    return nl_fail("netlink: connect NETLINK_ROUTE", err);
  }
  return sk;
}

}  // namespace

Result<Socket> Socket::open() {
  return Socket(HULL_TRY(new_socket()));
}

Result<Socket> Socket::open_in(int netns_fd) {
  // On a thread that ends in netns_fd rather than setns there and back: the way back is
  // EPERM in a user namespace (the rootless engine's), and the socket stays in netns_fd.
  return Socket(HULL_TRY(on_own_thread([&]() -> Result<nl_sock*> {
    if (::setns(netns_fd, CLONE_NEWNET) < 0) return sys_fail("setns CLONE_NEWNET");
    return new_socket();
  })));
}

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    if (sk_) nl_socket_free(sk_);
    sk_ = std::exchange(o.sk_, nullptr);
  }
  return *this;
}

Socket::~Socket() {
  if (sk_) nl_socket_free(sk_);
}

Result<int> link_index(Socket& s, const std::string& name) {
  rtnl_link* l = nullptr;
  int err = rtnl_link_get_kernel(s.get(), 0, name.c_str(), &l);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return 0;
  if (err < 0) return nl_fail(fmt::format("get link \"{}\"", name), err);
  int index = rtnl_link_get_ifindex(l);
  rtnl_link_put(l);
  return index;
}

Result<LinkInfo> link_info(Socket& s, const std::string& name) {
  auto l = HULL_TRY(get_link(s, name));
  return to_info(l.get());
}

Result<std::vector<LinkInfo>> links(Socket& s) {
  nl_cache* cache = nullptr;
  if (int err = rtnl_link_alloc_cache(s.get(), AF_UNSPEC, &cache); err < 0)
    return nl_fail("netlink: dump links", err);
  std::vector<LinkInfo> out;
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o))
    out.push_back(to_info(reinterpret_cast<rtnl_link*>(o)));
  nl_cache_free(cache);
  return out;
}

Status create_bridge(Socket& s, const std::string& name, int mtu) {
  LinkPtr l(rtnl_link_bridge_alloc());
  if (!l) return fail("netlink: rtnl_link_bridge_alloc failed", ENOMEM);
  rtnl_link_set_name(l.get(), name.c_str());
  if (mtu > 0) rtnl_link_set_mtu(l.get(), static_cast<unsigned>(mtu));
  rtnl_link_set_flags(l.get(), IFF_UP);
  if (int err = rtnl_link_add(s.get(), l.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_fail(fmt::format("create bridge \"{}\"", name), err);
  return {};
}

Status create_veth(Socket& s, const std::string& host_name, int master, int mtu,
                   const std::string& peer_name, int netns_fd, const std::string& peer_mac) {
  LinkPtr l(rtnl_link_veth_alloc());
  if (!l) return fail("netlink: rtnl_link_veth_alloc failed", ENOMEM);
  rtnl_link* peer = rtnl_link_veth_get_peer(l.get());
  rtnl_link_set_name(l.get(), host_name.c_str());
  rtnl_link_set_name(peer, peer_name.c_str());
  if (mtu > 0) {
    rtnl_link_set_mtu(l.get(), static_cast<unsigned>(mtu));
    rtnl_link_set_mtu(peer, static_cast<unsigned>(mtu));
  }
  if (master > 0) rtnl_link_set_master(l.get(), master);
  rtnl_link_set_flags(l.get(), IFF_UP);
  rtnl_link_set_ns_fd(peer, netns_fd);
  if (!peer_mac.empty()) {
    nl_addr* mac = nullptr;
    if (int err = nl_addr_parse(peer_mac.c_str(), AF_LLC, &mac); err < 0) {
      rtnl_link_put(peer);
      return nl_fail(fmt::format("parse mac \"{}\"", peer_mac), err);
    }
    rtnl_link_set_addr(peer, mac);
    nl_addr_put(mac);
  }
  int err = rtnl_link_add(s.get(), l.get(), NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(peer);  // get_peer took a reference
  if (err < 0)
    return nl_fail(fmt::format("create veth \"{}\" (peer \"{}\" in the container netns)", host_name,
                               peer_name),
                   err);
  return {};
}

Status delete_link(Socket& s, const std::string& name) {
  LinkPtr l(rtnl_link_alloc());
  if (!l) return fail("netlink: rtnl_link_alloc failed", ENOMEM);
  rtnl_link_set_name(l.get(), name.c_str());
  int err = rtnl_link_delete(s.get(), l.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return {};
  if (err < 0) return nl_fail(fmt::format("delete link \"{}\"", name), err);
  return {};
}

Status set_up(Socket& s, const std::string& name) {
  auto old = HULL_TRY(get_link(s, name));
  LinkPtr change(rtnl_link_alloc());
  if (!change) return fail("netlink: rtnl_link_alloc failed", ENOMEM);
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(s.get(), old.get(), change.get(), 0); err < 0)
    return nl_fail(fmt::format("set link \"{}\" up", name), err);
  return {};
}

Status add_address(Socket& s, const std::string& ifname, uint32_t addr, int prefix) {
  int index = HULL_TRY(link_index(s, ifname));
  if (index == 0) return fail(fmt::format("add address to \"{}\": no such link", ifname), ENODEV);
  std::unique_ptr<rtnl_addr, decltype(&rtnl_addr_put)> a(rtnl_addr_alloc(), rtnl_addr_put);
  auto local = ipv4_addr(addr, prefix);
  if (!a || !local) return fail("netlink: rtnl_addr_alloc failed", ENOMEM);
  rtnl_addr_set_ifindex(a.get(), index);
  rtnl_addr_set_family(a.get(), AF_INET);
  rtnl_addr_set_local(a.get(), local.get());
  rtnl_addr_set_prefixlen(a.get(), prefix);
  if (prefix < 31) {
    uint32_t bcast = addr | (prefix == 0 ? ~0u : ~(~0u << (32 - prefix)));
    auto b = ipv4_addr(bcast, prefix);
    rtnl_addr_set_broadcast(a.get(), b.get());
  }
  if (int err = rtnl_addr_add(s.get(), a.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_fail(fmt::format("add address to \"{}\"", ifname), err);
  return {};
}

Status add_default_route(Socket& s, const std::string& ifname, uint32_t gateway) {
  int index = HULL_TRY(link_index(s, ifname));
  if (index == 0) return fail(fmt::format("add route via \"{}\": no such link", ifname), ENODEV);
  std::unique_ptr<rtnl_route, decltype(&rtnl_route_put)> r(rtnl_route_alloc(), rtnl_route_put);
  auto dst = ipv4_addr(0, 0);
  auto gw = ipv4_addr(gateway, 32);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!r || !dst || !gw || !nh) return fail("netlink: route alloc failed", ENOMEM);
  rtnl_route_set_family(r.get(), AF_INET);
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  rtnl_route_set_scope(r.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_protocol(r.get(), RTPROT_BOOT);
  rtnl_route_set_type(r.get(), RTN_UNICAST);
  rtnl_route_set_dst(r.get(), dst.get());
  rtnl_route_nh_set_ifindex(nh, index);
  rtnl_route_nh_set_gateway(nh, gw.get());
  rtnl_route_add_nexthop(r.get(), nh);  // the route owns nh from here
  if (int err = rtnl_route_add(s.get(), r.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_fail(fmt::format("add default route via \"{}\"", ifname), err);
  return {};
}

Status write_sysctl(const std::string& key, std::string_view value) {
  std::string path = "/proc/sys/net/" + key;
  return fs::write_existing(path, value);
}

Result<std::string> read_sysctl(const std::string& key) {
  std::string path = "/proc/sys/net/" + key;
  auto text = HULL_TRY(fs::read_file(path));
  return std::string(trim(text));
}

}  // namespace hull::net::nl

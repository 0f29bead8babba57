// src/net against the kernel, as root. Each test runs in its own network namespace
// (unshare(CLONE_NEWNET) in SetUp, back in TearDown), so the host's network is never
// touched: bridges, veths, nft tables and ip_forward are all the test namespace's, and
// the kernel frees whatever is left when it goes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "common/fs.hpp"
#include "net/netlink.hpp"
#include "net/network.hpp"
#include "net/nft.hpp"

namespace hull::net {
namespace {

std::string sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

class NetKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    self_ = UniqueFd(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(self_);
    if (unshare(CLONE_NEWNET) < 0) GTEST_SKIP() << "unshare(CLONE_NEWNET) not permitted";
    in_test_ns_ = true;
    char tmpl[] = "/tmp/hull-net-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto sock = nl::Socket::open();
    ASSERT_TRUE(sock);
    ASSERT_TRUE(nl::set_up(*sock, "lo"));
  }
  void TearDown() override {
    for (const auto& p : netns_) (void)remove_netns(p);
    if (in_test_ns_) {
      EXPECT_EQ(setns(self_.get(), CLONE_NEWNET), 0);
    }
    if (!root_.empty()) (void)fs::remove_all(root_);
  }

  std::string netns(const std::string& name) {
    std::string p = root_ + "/" + name;
    auto r = create_netns(p);
    EXPECT_TRUE(r) << r.error().message;
    netns_.push_back(p);
    return p;
  }
  Networks open_networks() {
    auto n = Networks::open(root_ + "/db");
    EXPECT_TRUE(n) << n.error().message;
    return std::move(*n);
  }
  static int link(const std::string& name) {
    auto s = nl::Socket::open();
    auto i = nl::link_index(*s, name);
    return i ? *i : -1;
  }
  static std::vector<std::string> hull_links() {
    std::vector<std::string> out;
    auto s = nl::Socket::open();
    auto all = nl::links(*s);
    for (const auto& l : *all)
      if (l.name.starts_with("hull")) out.push_back(l.name);
    return out;
  }
  static bool nft_table() { return *nft::table_exists(); }
  static std::string forwarding() { return *nl::read_sysctl("ipv4/ip_forward"); }

  UniqueFd self_;
  bool in_test_ns_ = false;
  std::string root_;
  std::vector<std::string> netns_;
};

TEST_F(NetKernel, BridgeVethAddressesAndRulesComeAndGo) {
  auto nets = open_networks();
  std::string ns = netns("c1");
  EXPECT_EQ(forwarding(), "0");
  auto at = nets.attach("c1c1c1c1c1c1aaaa", "one", ns, "bridge", {}, {});
  ASSERT_TRUE(at) << at.error().message;
  EXPECT_EQ(at->interface, "eth0");
  EXPECT_GT(link("hull0"), 0);
  EXPECT_GT(link(at->host_veth), 0);
  EXPECT_TRUE(nft_table());
  EXPECT_EQ(forwarding(), "1");
  std::string inside = sh("nsenter --net=" + ns + " ip -o addr show dev eth0");
  EXPECT_NE(inside.find("inet " + at->ip), std::string::npos) << inside;
  std::string route = sh("nsenter --net=" + ns + " ip route show default");
  EXPECT_NE(route.find("default via " + at->gateway + " dev eth0"), std::string::npos) << route;
  std::string lo = sh("nsenter --net=" + ns + " ip -o link show dev lo");
  EXPECT_NE(lo.find("UP"), std::string::npos) << lo;
  std::string mtu = sh("nsenter --net=" + ns + " ip -o link show dev eth0");
  EXPECT_NE(mtu.find("mtu 1500"), std::string::npos) << mtu;
  // The container can reach its gateway.
  EXPECT_EQ(
      system(("nsenter --net=" + ns + " busybox ping -c1 -W2 " + at->gateway + " >/dev/null 2>&1")
                 .c_str()),
      0);

  ASSERT_TRUE(nets.detach("c1c1c1c1c1c1aaaa"));
  EXPECT_EQ(link(at->host_veth), 0);
  EXPECT_EQ(link("hull0"), 0);
  EXPECT_FALSE(nft_table());
  EXPECT_EQ(forwarding(), "0");
  EXPECT_TRUE(hull_links().empty());
  EXPECT_TRUE(nets.detach("c1c1c1c1c1c1aaaa")) << "detach is idempotent";
}

TEST_F(NetKernel, FiftyCyclesNeverReuseAnAddressInUse) {
  auto nets = open_networks();
  auto keep1 = nets.attach("keep1", "keep1", netns("k1"), "bridge", {}, {});
  auto keep2 = nets.attach("keep2", "keep2", netns("k2"), "bridge", {}, {});
  ASSERT_TRUE(keep1 && keep2);
  std::set<std::string> seen{keep1->ip, keep2->ip};
  int64_t attach_us = 0, detach_us = 0;
  EXPECT_NE(keep1->ip, keep2->ip);
  for (int i = 0; i < 50; ++i) {
    std::string id = "cycle" + std::to_string(i);
    std::string ns = netns(id);
    auto t0 = std::chrono::steady_clock::now();
    auto a = nets.attach(id, id, ns, "bridge", {}, {});
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(a) << i << ": " << a.error().message;
    EXPECT_TRUE(seen.insert(a->ip).second) << "address handed out twice: " << a->ip;
    ASSERT_TRUE(nets.detach(id));
    auto t2 = std::chrono::steady_clock::now();
    attach_us += std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
    detach_us += std::chrono::duration_cast<std::chrono::microseconds>(t2 - t1).count();
    ASSERT_TRUE(remove_netns(ns));
    netns_.pop_back();
  }
  // The per-container cost of networking (issue 7 asks <= 10 ms); printed, not asserted,
  // because a loaded CI host stretches RCU grace periods.
  std::printf("net set-up: attach %.2f ms, detach %.2f ms (mean of 50)\n", attach_us / 50e3,
              detach_us / 50e3);
  RecordProperty("attach_us_mean", std::to_string(attach_us / 50));
  auto info = nets.inspect("bridge");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->endpoints.size(), 2u);
  ASSERT_TRUE(nets.detach("keep1"));
  ASSERT_TRUE(nets.detach("keep2"));
  EXPECT_TRUE(hull_links().empty());
  EXPECT_FALSE(nft_table());
}

// A server in the container's netns on port 80 answers on the host's 127.0.0.1:18080.
TEST_F(NetKernel, PublishedPortAnswersOnLocalhost) {
  auto nets = open_networks();
  std::string ns = netns("web");
  std::vector<PortSpec> ports = {{"127.0.0.1", 18080, 80, "tcp"}, {"", 0, 81, "tcp"}};
  auto at = nets.attach("webwebwebweb", "web", ns, "bridge", ports, {});
  ASSERT_TRUE(at) << at.error().message;
  ASSERT_EQ(at->ports.size(), 2u);
  EXPECT_EQ(at->ports[0].host_port, 18080);
  EXPECT_NE(at->ports[1].host_port, 0);

  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  if (child == 0) {
    int fd = open(ns.c_str(), O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) _exit(2);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(80);
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(s, 4) < 0) _exit(3);
    (void)!write(ready[1], "r", 1);
    for (int i = 0; i < 2; ++i) {
      int c = accept(s, nullptr, nullptr);
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      getpeername(c, reinterpret_cast<sockaddr*>(&peer), &len);
      char buf[64];
      int n = snprintf(buf, sizeof buf, "hello from %s", inet_ntoa(peer.sin_addr));
      (void)!write(c, buf, n);
      close(c);
    }
    _exit(0);
  }
  close(ready[1]);
  char r;
  ASSERT_EQ(read(ready[0], &r, 1), 1);
  close(ready[0]);
  auto fetch = [](const char* ip) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(18080);
    inet_pton(AF_INET, ip, &a.sin_addr);
    timeval tv{3, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      char buf[64];
      ssize_t n = read(s, buf, sizeof buf);
      if (n > 0) out.assign(buf, n);
    }
    close(s);
    return out;
  };
  // From 127.0.0.1, masqueraded to the gateway so the container can answer.
  EXPECT_EQ(fetch("127.0.0.1"), "hello from " + at->gateway);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  std::string rules = *nft::run("list table ip hull");
  EXPECT_NE(rules.find("dnat to 10."), std::string::npos) << rules;
  ASSERT_TRUE(nets.detach("webwebwebweb"));
  EXPECT_FALSE(nft_table());
}

TEST_F(NetKernel, PortInUseIsAClearErrorAndLeavesNothing) {
  auto nets = open_networks();
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(18081);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s, 1), 0);
  std::string ns = netns("busy");
  auto r = nets.attach("busy", "busy", ns, "bridge", {{"", 18081, 80, "tcp"}}, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EADDRINUSE);
  EXPECT_NE(r.error().message.find("host port 18081 is already in use"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(hull_links().empty());
  EXPECT_FALSE(nft_table());
  EXPECT_EQ(forwarding(), "0");
  auto inside = sh("nsenter --net=" + ns + " ip -o link");
  EXPECT_EQ(inside.find("eth0"), std::string::npos) << inside;
  close(s);

  // Taken by another container: also refused, and the first keeps its rule.
  auto first = nets.attach("first", "first", netns("f"), "bridge", {{"", 18082, 80, "tcp"}}, {});
  ASSERT_TRUE(first) << first.error().message;
  auto second = nets.attach("second", "second", netns("s"), "bridge", {{"", 18082, 81, "tcp"}}, {});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("already allocated"), std::string::npos);
  EXPECT_EQ(nets.attachments("second")->size(), 0u);
  EXPECT_NE(nft::run("list table ip hull")->find("dport 18082"), std::string::npos);
  ASSERT_TRUE(nets.detach("first"));
  EXPECT_TRUE(hull_links().empty());
}

TEST_F(NetKernel, UserNetworkNamesInHostsFiles) {
  auto nets = open_networks();
  auto created = nets.create("app", "10.123.0.0/24");
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->gateway, "10.123.0.1");
  EXPECT_GT(link(created->bridge), 0);
  EXPECT_TRUE(nft_table());
  EXPECT_FALSE(nets.create("app"));
  EXPECT_FALSE(nets.create("other", "10.123.0.0/25")) << "overlapping subnet";

  AttachRequest rq;
  rq.container_id = "aaaaaaaaaaaaaaaa";
  rq.container_name = "web";
  rq.hostname = "aaaaaaaaaaaa";
  rq.netns_path = netns("web");
  rq.network = "app";
  rq.aliases = {"www"};
  rq.hosts_path = root_ + "/web.hosts";
  ASSERT_TRUE(fs::write_file(rq.hosts_path, ""));
  ASSERT_TRUE(nets.attach(rq));
  AttachRequest rq2 = rq;
  rq2.container_id = "bbbbbbbbbbbbbbbb";
  rq2.container_name = "client";
  rq2.hostname = "bbbbbbbbbbbb";
  rq2.netns_path = netns("client");
  rq2.aliases = {};
  rq2.extra_hosts = {"db:10.0.0.9"};
  rq2.hosts_path = root_ + "/client.hosts";
  auto at2 = nets.attach(rq2);
  ASSERT_TRUE(at2) << at2.error().message;

  std::string web_hosts = *fs::read_file(rq.hosts_path);
  EXPECT_NE(web_hosts.find("10.123.0.3\tclient bbbbbbbbbbbb\n"), std::string::npos) << web_hosts;
  std::string client_hosts = *fs::read_file(rq2.hosts_path);
  EXPECT_NE(client_hosts.find("10.123.0.2\tweb www aaaaaaaaaaaa\n"), std::string::npos)
      << client_hosts;
  EXPECT_NE(client_hosts.find("10.0.0.9\tdb\n"), std::string::npos);
  // client pings web through the bridge by the address its hosts file gives.
  EXPECT_EQ(
      system(("nsenter --net=" + rq2.netns_path + " busybox ping -c1 -W2 10.123.0.2 >/dev/null")
                 .c_str()),
      0);

  EXPECT_EQ(nets.remove("app").error().code, EBUSY);
  ASSERT_TRUE(nets.detach("bbbbbbbbbbbbbbbb", "app"));
  web_hosts = *fs::read_file(rq.hosts_path);
  EXPECT_EQ(web_hosts.find("client"), std::string::npos) << web_hosts;
  ASSERT_TRUE(nets.detach("aaaaaaaaaaaaaaaa"));
  ASSERT_TRUE(nets.remove("app"));
  EXPECT_EQ(link(created->bridge), 0);
  EXPECT_FALSE(nft_table());
  EXPECT_EQ(forwarding(), "0");
}

TEST_F(NetKernel, TwoNetworksAreIsolated) {
  auto nets = open_networks();
  ASSERT_TRUE(nets.create("n1", "10.124.1.0/24"));
  ASSERT_TRUE(nets.create("n2", "10.124.2.0/24"));
  std::string ns1 = netns("a"), ns2 = netns("b");
  auto a = nets.attach("a", "a", ns1, "n1", {}, {});
  auto b = nets.attach("b", "b", ns2, "n2", {}, {});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(
      system(
          ("nsenter --net=" + ns1 + " busybox ping -c1 -W1 10.124.2.2 >/dev/null 2>&1").c_str()) ==
          0,
      false);
  // Connected to both, a container gets eth1 and reaches the second network.
  auto a2 = nets.attach("a", "a", ns1, "n2", {}, {});
  ASSERT_TRUE(a2) << a2.error().message;
  EXPECT_EQ(a2->interface, "eth1");
  EXPECT_EQ(
      system(("nsenter --net=" + ns1 + " busybox ping -c1 -W2 10.124.2.2 >/dev/null").c_str()), 0);
  EXPECT_EQ(nets.attachments("a")->size(), 2u);
  ASSERT_TRUE(nets.detach("a"));
  ASSERT_TRUE(nets.detach("b"));
  auto pruned = nets.prune();
  ASSERT_TRUE(pruned);
  EXPECT_EQ(pruned->size(), 2u);
  EXPECT_TRUE(hull_links().empty());
  EXPECT_FALSE(nft_table());
}

TEST_F(NetKernel, PruneOrphansAfterACrash) {
  {
    auto nets = open_networks();
    ASSERT_TRUE(nets.attach("live", "live", netns("l"), "bridge", {{"", 18090, 80, "tcp"}}, {}));
    ASSERT_TRUE(nets.attach("dead", "dead", netns("d"), "bridge", {{"", 18091, 80, "tcp"}}, {}));
  }
  // A veth of hull's that the database never heard of (a crash mid-attach).
  ASSERT_EQ(system("ip link add hullvdeadbeef type veth peer name hullvpeer0"), 0);
  auto nets = open_networks();
  ASSERT_TRUE(nets.prune_orphans({"live"}));
  EXPECT_EQ(link("hullvdeadbeef"), 0);
  EXPECT_EQ(nets.attachments("dead")->size(), 0u);
  EXPECT_EQ(nets.attachments("live")->size(), 1u);
  std::string rules = *nft::run("list table ip hull");
  EXPECT_NE(rules.find("18090"), std::string::npos);
  EXPECT_EQ(rules.find("18091"), std::string::npos);
  ASSERT_TRUE(nets.prune_orphans({}));
  EXPECT_TRUE(hull_links().empty());
  EXPECT_FALSE(nft_table());
}

TEST_F(NetKernel, NoneNetworkHasOnlyLoopback) {
  std::string ns = netns("none");
  ASSERT_TRUE(setup_loopback(ns));
  std::string links = sh("nsenter --net=" + ns + " ip -o link");
  EXPECT_NE(links.find("lo: <LOOPBACK,UP"), std::string::npos) << links;
  EXPECT_EQ(std::count(links.begin(), links.end(), '\n'), 1) << links;
  ASSERT_TRUE(remove_netns(ns));
  EXPECT_FALSE(fs::exists(ns));
  netns_.pop_back();
  EXPECT_TRUE(remove_netns(ns)) << "missing path is fine";
}

}  // namespace
}  // namespace hull::net

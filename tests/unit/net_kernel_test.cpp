// src/net against the kernel, as root. Each test runs in its own network namespace
// (unshare(CLONE_NEWNET) in SetUp, back in TearDown), so the host's network is never
// touched: bridges, veths, nft tables and ip_forward are all the test namespace's, and
// the kernel frees whatever is left when it goes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <set>

#include "common/fs.hpp"
#include "common/loopback.hpp"
#include "common/own_thread.hpp"
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
// bench/engine-run-net runs this (disabled by default: it is a measurement, not a check)
// with --gtest_also_run_disabled_tests and reads the BENCH lines: one attach per line of
// a container that publishes a port (veth pair, IPAM, address and route in its netns, and
// an nft commit, the rules having changed), with another container attached all along so
// the bridge exists, as for every container but the first. HULL_BENCH_CYCLES (default 30).
TEST_F(NetKernel, DISABLED_SetupTimingForBench) {
  int cycles = 30;
  if (const char* c = getenv("HULL_BENCH_CYCLES"); c && atoi(c) > 0) cycles = atoi(c);
  auto nets = open_networks();
  ASSERT_TRUE(nets.attach("keep", "keep", netns("keep"), "bridge", {}, {}));
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::string with_port = "BENCH attach_port_ms", plain = "BENCH attach_ms",
              detach = "BENCH detach_ms";
  for (int i = 0; i < cycles; ++i) {
    for (bool publish : {true, false}) {
      std::string id = fmt::format("bench{}{}", i, publish ? "p" : "n");
      std::string ns = netns(id);
      std::vector<PortSpec> ports;
      if (publish) ports.push_back({"", static_cast<uint16_t>(20000 + i), 80, "tcp"});
      auto t0 = Clock::now();
      auto a = nets.attach(id, id, ns, "bridge", ports, {});
      auto t1 = Clock::now();
      ASSERT_TRUE(a) << a.error().message;
      ASSERT_TRUE(nets.detach(id));
      auto t2 = Clock::now();
      (publish ? with_port : plain) += fmt::format(" {:.3f}", ms(t1 - t0));
      if (publish) detach += fmt::format(" {:.3f}", ms(t2 - t1));
      ASSERT_TRUE(remove_netns(ns));
      netns_.pop_back();
    }
  }
  std::printf("%s\n%s\n%s\n", with_port.c_str(), plain.c_str(), detach.c_str());
  ASSERT_TRUE(nets.detach("keep"));
  EXPECT_TRUE(hull_links().empty());
  EXPECT_FALSE(nft_table());
}

// A -p coming or going refills only the ports chain; a table that vanished meanwhile (a
// flushed ruleset, in this test's own netns) is made afresh instead.
TEST_F(NetKernel, PortsOnlyUpdateAndAVanishedTable) {
  auto nets = open_networks();
  ASSERT_TRUE(nets.attach("p1", "p1", netns("p1"), "bridge", {{"", 18090, 80, "tcp"}}, {}));
  ASSERT_TRUE(nets.attach("p2", "p2", netns("p2"), "bridge", {{"", 18091, 80, "tcp"}}, {}));
  std::string rules = *nft::run("list table ip hull");
  EXPECT_NE(rules.find("dport 18090"), std::string::npos) << rules;
  EXPECT_NE(rules.find("dport 18091"), std::string::npos) << rules;
  EXPECT_NE(rules.find("masquerade"), std::string::npos) << rules;
  ASSERT_TRUE(nets.detach("p2"));
  rules = *nft::run("list table ip hull");
  EXPECT_EQ(rules.find("dport 18091"), std::string::npos) << rules;
  ASSERT_EQ(system("nft flush ruleset"), 0);
  auto p3 = nets.attach("p3", "p3", netns("p3"), "bridge", {{"", 18092, 80, "tcp"}}, {});
  ASSERT_TRUE(p3) << p3.error().message;
  rules = *nft::run("list table ip hull");
  EXPECT_NE(rules.find("dport 18090"), std::string::npos) << rules;
  EXPECT_NE(rules.find("dport 18092"), std::string::npos) << rules;
  EXPECT_NE(rules.find("masquerade"), std::string::npos) << rules;
  ASSERT_TRUE(nets.detach("p1"));
  ASSERT_TRUE(nets.detach("p3"));
  EXPECT_FALSE(nft_table());
  EXPECT_TRUE(hull_links().empty());
}

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
  // loopback_up works in the caller's netns (the runtime's init calls it in a new one).
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(ns.c_str(), O_RDONLY | O_CLOEXEC);
    _exit(fd >= 0 && ::setns(fd, CLONE_NEWNET) == 0 && hull::loopback_up() ? 0 : 1);
  }
  int status = -1;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_EQ(status, 0);
  std::string links = sh("nsenter --net=" + ns + " ip -o link");
  EXPECT_NE(links.find("lo: <LOOPBACK,UP"), std::string::npos) << links;
  EXPECT_EQ(std::count(links.begin(), links.end(), '\n'), 1) << links;
  ASSERT_TRUE(remove_netns(ns));
  EXPECT_FALSE(fs::exists(ns));
  netns_.pop_back();
  EXPECT_TRUE(remove_netns(ns)) << "missing path is fine";
}

// Rootless networking end to end, as an unprivileged user (uid 65534) throughout: a
// process of that user makes its own user and network namespaces and serves TCP on port
// 80 there; start_pasta, run by the same user, connects that netns with a -p 18090:80
// forward; a client in the test's netns gets the answer on 127.0.0.1:18090.
constexpr uid_t kNobody = 65534;

// Forks a child that becomes uid/gid 65534 (dumpable again, so that the same user may
// open its /proc/PID/ns files) and runs f. With stand_in_tun, the child first gets a
// private mount namespace in which a 0666 node of /dev/net/tun's device (10:200)
// replaces the host's: see the test for why. The host's node is never changed.
pid_t spawn_as_nobody(const std::function<int()>& f, bool stand_in_tun) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  if (stand_in_tun) {
    if (unshare(CLONE_NEWNS) < 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0 ||
        mount("tmpfs", "/dev/net", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") < 0 ||
        mknod("/dev/net/tun", S_IFCHR | 0666, makedev(10, 200)) < 0 ||
        chmod("/dev/net/tun", 0666) < 0)
      _exit(100);
  }
  if (setgroups(0, nullptr) < 0 || setresgid(kNobody, kNobody, kNobody) < 0 ||
      setresuid(kNobody, kNobody, kNobody) < 0 || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
    _exit(101);
  _exit(f());
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The rootless engine makes its containers' netns (lo up) with create_netns from inside
// its user namespace, where the host's netns (owned by the initial user
// namespace) cannot be joined back: both must leave the caller's netns alone. As uid
// 65534 in a user and mount namespace of its own, as the pause process has.
TEST_F(NetKernel, NetnsAndLoopbackFromInsideAUserNamespace) {
  ASSERT_EQ(chmod(root_.c_str(), 0777), 0);
  const std::string path = root_ + "/userns-netns";
  pid_t pid = spawn_as_nobody(
      [&] {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) return 10;
        if (!fs::write_existing("/proc/self/setgroups", "deny") ||
            !fs::write_existing("/proc/self/uid_map", "0 65534 1") ||
            !fs::write_existing("/proc/self/gid_map", "0 65534 1"))
          return 11;
        struct stat before {
        }, after{};
        if (stat("/proc/thread-self/ns/net", &before) < 0) return 12;
        auto made = create_netns(path);
        if (!made) {
          std::fprintf(stderr, "create_netns: %s\n", made.error().message.c_str());
          return 13;
        }
        if (stat("/proc/thread-self/ns/net", &after) < 0 || after.st_ino != before.st_ino)
          return 15;  // the caller moved
        struct stat ns {};
        if (stat(path.c_str(), &ns) < 0 || ns.st_ino == before.st_ino) return 16;
        // lo is up in the new netns (its flags, read there by a socket of that netns).
        UniqueFd nsfd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
        auto flags = on_own_thread([&]() -> Result<int> {
          if (setns(nsfd.get(), CLONE_NEWNET) < 0) return sys_fail("setns");
          UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
          ifreq ifr{};
          std::memcpy(ifr.ifr_name, "lo", 3);
          if (!s || ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) return sys_fail("SIOCGIFFLAGS");
          return ifr.ifr_flags;
        });
        if (!flags || !(*flags & IFF_UP)) return 17;
        return remove_netns(path) ? 0 : 18;
      },
      false);
  ASSERT_GT(pid, 0);
  int status = wait_exit(pid);
  if (status == 10) GTEST_SKIP() << "no unprivileged user namespaces here";
  EXPECT_EQ(status, 0) << "see the step numbers in the test (128+6: aborted)";
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(NetKernel, RootlessPastaForwardsAPublishedPortAsAnUnprivilegedUser) {
  if (sh("command -v pasta").empty()) GTEST_SKIP() << "pasta (Debian's passt) not installed";
  // pasta copies the addresses and routes of the host's routable interface: give the
  // test's netns one (a veth pair, both ends here).
  ASSERT_EQ(system("ip link add rlv0 type veth peer name rlv1 && ip addr add 192.0.2.2/24 "
                   "dev rlv0 && ip link set rlv0 up && ip link set rlv1 up && "
                   "ip route add default via 192.0.2.1"),
            0);
  // Distributions ship /dev/net/tun as 0666. Where it is root-only (this machine: 0600),
  // an unprivileged pasta fails with "Failed to open tun socket in namespace"; the user's
  // processes then get the stand-in node (spawn_as_nobody) and the test says so.
  pid_t probe = spawn_as_nobody(
      [] {
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        return fd >= 0 ? 0 : errno;
      },
      false);
  int tun_err = wait_exit(probe);
  const bool stand_in = tun_err != 0;
  if (stand_in)
    std::printf(
        "note: /dev/net/tun is not open to users here (open as uid 65534: %s); "
        "using a 0666 stand-in node in a private mount namespace\n",
        strerror(tun_err));

  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  UniqueFd ready_r(ready[0]), ready_w(ready[1]);
  pid_t server = spawn_as_nobody(
      [&] {
        ready_r.reset();
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) return 10;
        // Map only ourselves: no newuidmap, no /etc/subuid needed.
        if (!fs::write_existing("/proc/self/setgroups", "deny") ||
            !fs::write_existing("/proc/self/uid_map", "0 65534 1") ||
            !fs::write_existing("/proc/self/gid_map", "0 65534 1"))
          return 11;
        auto s = nl::Socket::open();
        if (!s || !nl::set_up(*s, "lo")) return 12;
        UniqueFd l(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        int one = 1;
        setsockopt(l.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(80);  // below 1024: root of its own user namespace may
        if (bind(l.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(l.get(), 4) < 0)
          return 13;
        if (write(ready_w.get(), "r", 1) != 1) return 14;
        ready_w.reset();
        pollfd p{l.get(), POLLIN, 0};
        if (poll(&p, 1, 20000) != 1) return 15;
        UniqueFd c(accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
        const char msg[] = "hello-rootless";
        return c && write(c.get(), msg, sizeof msg - 1) == sizeof msg - 1 ? 0 : 16;
      },
      false);
  ASSERT_GT(server, 0);
  ready_w.reset();
  char r = 0;
  ASSERT_EQ(read(ready_r.get(), &r, 1), 1) << "server exited: " << wait_exit(server);

  // The user must reach its pid file: the test's root dir is 0700 (mkdtemp).
  ASSERT_EQ(chmod(root_.c_str(), 0711), 0);
  std::string dir = root_ + "/rootless";
  ASSERT_EQ(mkdir(dir.c_str(), 0777), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  PastaRequest rq;
  rq.netns_path = fmt::format("/proc/{}/ns/net", server);
  rq.userns_path = fmt::format("/proc/{}/ns/user", server);
  rq.ports = {{"", 18090, 80, "tcp"}};
  rq.pid_file = dir + "/pasta.pid";
  int err_pipe[2];
  ASSERT_EQ(pipe2(err_pipe, O_CLOEXEC), 0);
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  pid_t launcher = spawn_as_nobody(
      [&] {
        auto pid = start_pasta(rq);
        if (pid) return 0;
        (void)!write(err_w.get(), pid.error().message.data(), pid.error().message.size());
        return 1;
      },
      stand_in);
  err_w.reset();
  int launched = wait_exit(launcher);
  std::string err;
  char buf[512];
  for (ssize_t n; (n = read(err_r.get(), buf, sizeof buf)) > 0;) err.append(buf, n);
  ASSERT_EQ(launched, 0) << "start_pasta as uid 65534: " << err;

  auto pid_text = fs::read_file(rq.pid_file);
  ASSERT_TRUE(pid_text);
  pid_t pasta = atoi(pid_text->c_str());
  ASSERT_GT(pasta, 0);
  // pasta itself runs unprivileged.
  auto status = fs::read_file(fmt::format("/proc/{}/status", pasta));
  ASSERT_TRUE(status);
  EXPECT_NE(status->find("\nUid:\t65534\t65534\t65534\t65534\n"), std::string::npos) << *status;

  std::string got;
  for (int attempt = 0; attempt < 50 && got.empty(); ++attempt) {
    UniqueFd c(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(18090);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{2, 0};
    setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
      for (ssize_t n; (n = read(c.get(), buf, sizeof buf)) > 0;) got.append(buf, n);
    if (got.empty()) usleep(100000);
  }
  EXPECT_EQ(got, "hello-rootless");
  EXPECT_EQ(wait_exit(server), 0);
  // pasta does not notice a /proc/PID/ns/net netns going away: whoever started it stops
  // it by pid (it is ours), and it goes at SIGTERM.
  ASSERT_EQ(kill(pasta, SIGTERM), 0);
  for (int i = 0; i < 50 && kill(pasta, 0) == 0; ++i) usleep(100000);
  if (kill(pasta, 0) == 0) {
    ADD_FAILURE() << "pasta " << pasta << " ignored SIGTERM";
    kill(pasta, SIGKILL);
  }
  (void)system("ip link del rlv0 2>/dev/null");
}

}  // namespace
}  // namespace hull::net

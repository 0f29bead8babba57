// Rootless hull: per-user paths, /etc/subuid parsing, id map arguments, the run checks and
// the user namespace detection. The namespaces themselves are tested as root by
// tests/integration/rootless/.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "common/fs.hpp"
#include "common/userns.hpp"
#include "engine/rootless.hpp"

namespace hull::engine::rootless {
namespace {

Getenv env_of(std::map<std::string, std::string> m) {
  return [m](const char* n) -> std::optional<std::string> {
    auto it = m.find(n);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

TEST(RootlessPaths, XdgDirsComeFirst) {
  auto p = default_paths(1000, env_of({{"XDG_DATA_HOME", "/d"},
                                       {"HOME", "/home/u"},
                                       {"XDG_RUNTIME_DIR", "/run/user/1000"}}));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->root, "/d/hull");
  EXPECT_EQ(p->run_root, "/run/user/1000/hull");
}

TEST(RootlessPaths, HomeAndTmpAreTheFallbacks) {
  auto p = default_paths(1234, env_of({{"HOME", "/home/u"}}));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->root, "/home/u/.local/share/hull");
  EXPECT_EQ(p->run_root, "/tmp/hull-1234");
  // The XDG spec: a relative path is invalid and ignored.
  p = default_paths(7, env_of({{"HOME", "/h"}, {"XDG_DATA_HOME", "rel"}, {"XDG_RUNTIME_DIR", ""}}));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->root, "/h/.local/share/hull");
  EXPECT_EQ(p->run_root, "/tmp/hull-7");
}

TEST(RootlessPaths, NoHomeIsAnErrorSayingWhatToDo) {
  auto p = default_paths(1000, env_of({}));
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("--root"), std::string::npos) << p.error().message;
}

TEST(RootlessSubid, MatchesByNameOrUidOnly) {
  const char* text =
      "# comment\n"
      "alice:100000:65536\n"
      "bob:165536:65536\n"
      "1000:300000:1000\n"
      "alice:bad:1\n"
      "alice:5:0\n"
      "alice:400000\n"
      "  alice:500000:10  \n";
  auto r = parse_subid(text, "alice", 1000);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], (IdRange{100000, 65536}));
  EXPECT_EQ(r[1], (IdRange{300000, 1000}));
  EXPECT_EQ(r[2], (IdRange{500000, 10}));
  EXPECT_TRUE(parse_subid(text, "carol", 2000).empty());
  // A user without a name (no passwd entry) matches by uid alone.
  EXPECT_EQ(parse_subid(text, "", 1000).size(), 1u);
}

TEST(RootlessSubid, MapArgumentsPutTheUserAtZeroAndRangesAfter) {
  auto a = id_map_args(1000, {{100000, 65536}, {300000, 10}});
  std::vector<std::string> want = {"0",     "1000",  "1",      "1", "100000",
                                   "65536", "65537", "300000", "10"};
  EXPECT_EQ(a, want);
  EXPECT_EQ(id_map_args(5, {}), (std::vector<std::string>{"0", "5", "1"}));
}

TEST(RootlessUserNs, UidMapRule) {
  EXPECT_FALSE(userns::uid_map_is_user_ns("         0          0 4294967295\n"));
  EXPECT_FALSE(userns::uid_map_is_user_ns("0 0 4294967295"));
  EXPECT_FALSE(userns::uid_map_is_user_ns(""));
  EXPECT_TRUE(userns::uid_map_is_user_ns("         0       1000          1\n"));
  EXPECT_TRUE(userns::uid_map_is_user_ns("0 0 4294967295\n0 0 1\n"));  // not the identity
  EXPECT_TRUE(userns::uid_map_is_user_ns("0 0 65536\n"));
}

TEST(RootlessUserNs, TheKernelsUidMapTellsANewUserNamespace) {
  // Here: the initial namespace (unit tests never run inside one of hull's).
  auto here = fs::read_file("/proc/self/uid_map");
  ASSERT_TRUE(here);
  EXPECT_FALSE(userns::uid_map_is_user_ns(*here)) << *here;
  // A child in a new user namespace, unmapped: the map is empty until written, so a
  // mapping is written for it the way the pause process gets one.
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(sync[0]);
    const uid_t uid = geteuid();  // after unshare it reads as the overflow id
    if (unshare(CLONE_NEWUSER) < 0) _exit(2);
    (void)!write(sync[1], "x", 1);
    // Root may write any map; others their own id.
    auto w = fs::write_existing("/proc/self/uid_map", fmt::format("0 {} 1\n", uid));
    if (!w) _exit(3);
    auto m = fs::read_file("/proc/self/uid_map");
    _exit(m && userns::uid_map_is_user_ns(*m) ? 0 : 1);
  }
  close(sync[1]);
  char c;
  (void)!read(sync[0], &c, 1);
  close(sync[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2) GTEST_SKIP() << "no unprivileged user namespaces here";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/hull-rootless-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

TEST(RootlessRunRoot, MadePrivateAndRefusedWhenNotOurs) {
  TempDir d;
  std::string rr = d.path + "/a/b/hull";
  ASSERT_TRUE(ensure_private_dir(rr, geteuid()));
  struct stat st {};
  ASSERT_EQ(stat(rr.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(chmod(rr.c_str(), 0755), 0);
  ASSERT_TRUE(ensure_private_dir(rr, geteuid()));
  ASSERT_EQ(stat(rr.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // Someone else's directory (as /tmp/hull-UID made by another user) is refused.
  auto other = ensure_private_dir(rr, geteuid() + 1);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("owned by uid"), std::string::npos);
  EXPECT_NE(other.error().message.find(rr), std::string::npos);
  std::string file = d.path + "/file";
  ASSERT_TRUE(fs::write_file(file, "x"));
  EXPECT_FALSE(ensure_private_dir(file, geteuid()));
}

TEST(RootlessCheck, NetworksThatNeedRootAreRefusedByName) {
  RunOptions o;
  for (const char* ok : {"pasta", "none", "host", "container:web"})
    EXPECT_TRUE(check_run(o, ok, false)) << ok;
  for (const char* bad : {"bridge", "mynet"}) {
    auto r = check_run(o, bad, true);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find(std::string("--network ") + bad), std::string::npos);
    EXPECT_NE(r.error().message.find("pasta"), std::string::npos);
  }
}

TEST(RootlessCheck, LimitsWithoutACgroupNameTheFlag) {
  auto with = [](auto set) {
    RunOptions o;
    set(o);
    return o;
  };
  std::vector<std::pair<RunOptions, std::string>> cases = {
      {with([](RunOptions& o) { o.memory = "64m"; }), "-m/--memory"},
      {with([](RunOptions& o) { o.memory_swap = "1g"; }), "--memory-swap"},
      {with([](RunOptions& o) { o.cpus = "0.5"; }), "--cpus"},
      {with([](RunOptions& o) { o.cpuset_cpus = "0"; }), "--cpuset-cpus"},
      {with([](RunOptions& o) { o.cpu_shares = 512; }), "--cpu-shares"},
      {with([](RunOptions& o) { o.pids_limit = 10; }), "--pids-limit"},
  };
  for (const auto& [o, flag] : cases) {
    auto r = check_run(o, "pasta", false);
    ASSERT_FALSE(r) << flag;
    EXPECT_TRUE(r.error().message.starts_with(flag + ":")) << r.error().message;
    // With a delegated cgroup the runtime applies them.
    EXPECT_TRUE(check_run(o, "pasta", true)) << flag;
  }
  EXPECT_TRUE(check_run(RunOptions{}, "pasta", false));
}

TEST(RootlessSpec, PastaNetworkPublishesPortsButHasNoBridgeFeatures) {
  TempDir d;
  BuildContext c;
  c.id = std::string(64, 'b');
  c.root = d.path;
  c.container_dir = d.path + "/containers/" + c.id;
  c.host_resolv_conf = d.path + "/resolv.conf";
  c.default_network = "pasta";
  c.getenv = [](const std::string&) { return std::optional<std::string>(); };
  RunOptions o;
  o.image = "busybox";
  o.command = {"true"};
  o.publish = {"18090:80", "53/udp"};
  o.add_hosts = {"db:10.0.0.5"};
  auto plan = build_spec(o, {}, c);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->config.network, "pasta");
  ASSERT_EQ(plan->config.ports.size(), 2u);
  EXPECT_EQ(plan->config.ports[0].host_port, 18090);
  EXPECT_EQ(plan->config.ports[0].container_port, 80);
  EXPECT_EQ(plan->config.ports[1].host_port, 0);  // picked when pasta starts
  EXPECT_EQ(plan->config.ports[1].proto, "udp");
  // No bridge: --add-host goes in the hosts file made here, not to src/net.
  EXPECT_NE(plan->hosts.find("10.0.0.5\tdb"), std::string::npos) << plan->hosts;
  EXPECT_TRUE(plan->config.extra_hosts.empty());
  // -P is allowed (free host ports); bridge-only flags are not.
  o.publish_all = true;
  EXPECT_TRUE(build_spec(o, {}, c));
  o.network_aliases = {"web"};
  EXPECT_FALSE(build_spec(o, {}, c));
}

}  // namespace
}  // namespace hull::engine::rootless

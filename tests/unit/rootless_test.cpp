// Rootless hull: per-user paths, /etc/subuid parsing, id map arguments, the run checks and
// the user namespace detection. The namespaces themselves are tested as root by
// tests/integration/rootless/.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "common/fs.hpp"
#include "common/userns.hpp"
#include "engine/rootless.hpp"
#include "runtime/state.hpp"

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
  ASSERT_TRUE(ensure_private_dir("run root", rr, geteuid(), true));
  struct stat st {};
  ASSERT_EQ(stat(rr.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(chmod(rr.c_str(), 0755), 0);
  ASSERT_TRUE(ensure_private_dir("run root", rr, geteuid(), true));
  ASSERT_EQ(stat(rr.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // The store keeps its mode.
  ASSERT_EQ(chmod(rr.c_str(), 0755), 0);
  ASSERT_TRUE(ensure_private_dir("store", rr, geteuid(), false));
  ASSERT_EQ(stat(rr.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  // Someone else's directory (as /tmp/hull-UID made by another user) is refused.
  auto other = ensure_private_dir("run root", rr, geteuid() + 1, true);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("owned by uid"), std::string::npos);
  EXPECT_NE(other.error().message.find(rr), std::string::npos);
  std::string file = d.path + "/file";
  ASSERT_TRUE(fs::write_file(file, "x"));
  EXPECT_FALSE(ensure_private_dir("run root", file, geteuid(), true));
}

// check_trusted_path as root for a user it makes up (uid 4242), with another (4343) as
// the one who could plant things. Every case names the path at fault and its owner.
class RootlessTrustedPath : public ::testing::Test {
 protected:
  static constexpr uid_t kUser = 4242, kOther = 4343;
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (chown)";
    ASSERT_EQ(chmod(d_.path.c_str(), 0755), 0);
  }
  std::string dir(const std::string& name, mode_t mode, uid_t owner) {
    std::string p = d_.path + "/" + name;
    EXPECT_EQ(mkdir(p.c_str(), 0700), 0) << p;
    EXPECT_EQ(chmod(p.c_str(), mode), 0);
    EXPECT_EQ(chown(p.c_str(), owner, owner), 0);
    return p;
  }
  std::string link(const std::string& name, const std::string& target, uid_t owner) {
    std::string p = d_.path + "/" + name;
    EXPECT_EQ(symlink(target.c_str(), p.c_str()), 0);
    EXPECT_EQ(lchown(p.c_str(), owner, owner), 0);
    return p;
  }
  static std::string refused(const std::string& path) {
    auto r = check_trusted_path("run root", path, kUser);
    return r ? std::string("(accepted)") : r.error().message;
  }
  TempDir d_;
};

TEST_F(RootlessTrustedPath, OwnDirectoriesUnderRootOnesAndStickyOnesPass) {
  std::string home = dir("home", 0755, kUser);
  EXPECT_TRUE(check_trusted_path("run root", home, kUser));
  EXPECT_TRUE(check_trusted_path("run root", home + "/not/made/yet", kUser));
  std::string tmp = dir("tmp", 01777, 0);  // as /tmp
  std::string mine = dir("tmp/hull-4242", 0700, kUser);
  EXPECT_TRUE(check_trusted_path("run root", mine, kUser));
  EXPECT_TRUE(check_trusted_path("run root", tmp + "/./hull-4242/../hull-4242", kUser));
  // A symlink of the user's (or root's) is followed, its target checked.
  link("mylink", mine, kUser);
  EXPECT_TRUE(check_trusted_path("run root", d_.path + "/mylink", kUser));
}

TEST_F(RootlessTrustedPath, AnotherUsersSymlinkIsNotFollowed) {
  std::string tmp = dir("tmp", 01777, 0);
  std::string theirs = dir("tmp/theirs", 0777, kOther);
  std::string planted = link("tmp/hull-4242", theirs, kOther);
  std::string m = refused(planted);
  EXPECT_NE(m.find(planted + " is a symlink owned by uid 4343"), std::string::npos) << m;
  EXPECT_NE(m.find("not followed"), std::string::npos) << m;
  // ensure_private_dir makes nothing through it.
  EXPECT_FALSE(ensure_private_dir("run root", planted, kUser, true));
  EXPECT_FALSE(ensure_private_dir("run root", planted + "/sub", kUser, true));
  EXPECT_FALSE(fs::exists(theirs + "/sub"));
  struct stat st {};
  ASSERT_EQ(stat(theirs.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0777u) << "not chmod-ed through the link";
}

TEST_F(RootlessTrustedPath, ADirectoryOnTheWayOwnedByAnotherUserIsRefused) {
  std::string shared = dir("shared", 0755, kOther);
  std::string mine = dir("shared/mine", 0700, kUser);
  std::string m = refused(mine + "/hull");
  EXPECT_NE(
      m.find("run root " + mine + "/hull: " + shared + " is owned by uid 4343, not 4242 or root"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find("--run-root"), std::string::npos) << m;
  // The last component must be the user's own, not root's either.
  std::string rootdir = dir("rootdir", 0755, 0);
  m = refused(rootdir);
  EXPECT_NE(m.find(rootdir + " is owned by uid 0, not 4242"), std::string::npos) << m;
  // The store says --root.
  auto r = check_trusted_path("store", mine + "/store", kUser);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("store " + mine + "/store: ")) << r.error().message;
  EXPECT_NE(r.error().message.find("--root DIR"), std::string::npos);
}

TEST_F(RootlessTrustedPath, WritableByOthersWithoutTheStickyBitIsRefused) {
  std::string open = dir("open", 0777, 0);
  std::string mine = dir("open/mine", 0700, kUser);
  std::string m = refused(mine);
  EXPECT_NE(m.find(open + " is writable by others (mode 0777) without the sticky bit"),
            std::string::npos)
      << m;
  std::string group = dir("group", 0775, 0);
  m = refused(group + "/x");
  EXPECT_NE(m.find(group + " is writable by its group (mode 0775)"), std::string::npos) << m;
  // The directory itself too, though the user's: others may have put files in it.
  std::string loose = dir("loose", 0777, kUser);
  m = refused(loose);
  EXPECT_NE(m.find(loose + " is writable by others"), std::string::npos) << m;
  EXPECT_FALSE(ensure_private_dir("run root", loose, kUser, true));
  // A symlink of the user's to such a directory: the target is checked.
  std::string l = link("l", mine, kUser);
  m = refused(l);
  EXPECT_NE(m.find(open + " is writable by others"), std::string::npos) << m;
}

// stop_network signals the pid of a pasta record only if that process is a pasta with the
// recorded start time: a record naming another process (a reboot, a reused pid) is not
// acted upon, but is removed.
TEST(RootlessPastaRecord, OnlyAPastaIsStopped) {
  TempDir d;
  ASSERT_TRUE(fs::mkdir_p(d.path + "/pasta", 0700));
  auto spawn = [](const char* comm) {
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_NAME, comm, 0, 0, 0);
      for (;;) pause();
    }
    return pid;
  };
  auto record = [&](const std::string& id, pid_t pid, const std::string& comm) {
    // The child names itself: wait for it.
    for (int i = 0; i < 500 && fs::read_file(fmt::format("/proc/{}/comm", pid)) != comm + "\n"; ++i)
      usleep(2000);
    auto start = runtime::process_start_time(pid);
    ASSERT_TRUE(start);
    ASSERT_TRUE(fs::write_file(d.path + "/pasta/" + id, fmt::format("{} {}\n", pid, *start)));
  };
  auto alive = [](pid_t pid) { return waitpid(pid, nullptr, WNOHANG) == 0; };
  pid_t other = spawn("sleep");
  record("other", other, "sleep");
  stop_network(d.path, "other");
  EXPECT_TRUE(alive(other)) << "a process that is not pasta was signalled";
  EXPECT_FALSE(fs::exists(d.path + "/pasta/other"));
  kill(other, SIGKILL);
  waitpid(other, nullptr, 0);

  pid_t pasta = spawn("passt.avx2");  // pasta as it runs here (its AVX2 build)
  record("web", pasta, "passt.avx2");
  // A start time that is not the process's: not signalled either.
  ASSERT_TRUE(fs::write_file(d.path + "/pasta/stale", fmt::format("{} 1\n", pasta)));
  stop_network(d.path, "stale");
  EXPECT_TRUE(alive(pasta));
  stop_network(d.path, "web");
  int status = 0;
  ASSERT_EQ(waitpid(pasta, &status, 0), pasta);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  EXPECT_FALSE(fs::exists(d.path + "/pasta/web"));
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

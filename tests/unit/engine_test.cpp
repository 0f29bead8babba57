// Engine: flag -> spec translation, records, logs. No root needed.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/fs.hpp"
#include "engine/engine.hpp"
#include "engine/filters.hpp"
#include "engine/logs.hpp"
#include "engine/present.hpp"
#include "engine/record.hpp"
#include "engine/seccomp_profile.hpp"
#include "engine/spec_builder.hpp"
#include "engine/template.hpp"

namespace hull::engine {
namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/hull-engine-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

BuildContext ctx(const TempDir& d) {
  BuildContext c;
  c.id = std::string(64, 'a');
  c.root = d.path;
  c.container_dir = d.path + "/containers/" + c.id;
  c.host_resolv_conf = d.path + "/resolv.conf";
  c.getenv = [](const std::string& n) -> std::optional<std::string> {
    if (n == "FROM_CALLER") return "yes";
    return std::nullopt;
  };
  return c;
}

RunOptions base() {
  RunOptions o;
  o.image = "busybox";
  o.command = {"true"};
  return o;
}

const oci::Mount* find_mount(const oci::Spec& s, std::string_view dst) {
  for (const auto& m : s.mounts)
    if (m.destination == dst) return &m;
  return nullptr;
}

bool has(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST(EngineSpec, DefaultsAreDockers) {
  TempDir d;
  auto plan = build_spec(base(), {}, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  const auto& s = plan->spec;
  EXPECT_EQ(s.process->args, std::vector<std::string>{"true"});
  EXPECT_EQ(s.process->capabilities->bounding, [] {
    auto c = default_capabilities();
    std::sort(c.begin(), c.end());
    return c;
  }());
  EXPECT_EQ(s.process->capabilities->bounding.size(), 14u);
  ASSERT_TRUE(s.linux.seccomp);
  EXPECT_FALSE(s.linux.masked_paths.empty());
  EXPECT_TRUE(has(s.linux.readonly_paths, "/proc/sys"));
  const auto* shm = find_mount(s, "/dev/shm");
  ASSERT_NE(shm, nullptr);
  EXPECT_NE(shm->data.find("size=67108864"), std::string::npos);
  for (auto f : {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}) {
    const auto* m = find_mount(s, f);
    ASSERT_NE(m, nullptr) << f;
    EXPECT_TRUE(m->bind);
  }
  EXPECT_EQ(s.hostname, std::string(12, 'a'));
  EXPECT_TRUE(s.linux.has_namespace(oci::NamespaceType::pid));
  EXPECT_TRUE(s.linux.has_namespace(oci::NamespaceType::network));
  EXPECT_FALSE(s.process->no_new_privileges);
  EXPECT_EQ(plan->config.stop_signal, "SIGTERM");
  EXPECT_EQ(plan->config.stop_timeout, 10);
}

TEST(EngineSpec, ImageConfigAndOverrides) {
  TempDir d;
  ImageDefaults img;
  img.entrypoint = {"/entry"};
  img.cmd = {"arg1"};
  img.env = {"A=image", "B=image"};
  img.workdir = "/srv";
  auto o = base();
  o.command.clear();
  auto plan = build_spec(o, img, ctx(d));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->spec.process->args, (std::vector<std::string>{"/entry", "arg1"}));
  EXPECT_EQ(plan->spec.process->cwd, "/srv");
  o.entrypoint = "/other";
  plan = build_spec(o, img, ctx(d));
  ASSERT_TRUE(plan);
  // --entrypoint clears the image CMD too.
  EXPECT_EQ(plan->spec.process->args, (std::vector<std::string>{"/other"}));
  o.env = {"B=flag", "FROM_CALLER", "NOT_IN_CALLER"};
  o.workdir = "/w";
  plan = build_spec(o, img, ctx(d));
  ASSERT_TRUE(plan);
  const auto& env = plan->spec.process->env;
  EXPECT_TRUE(has(env, "A=image"));
  EXPECT_TRUE(has(env, "B=flag"));
  EXPECT_FALSE(has(env, "B=image"));
  EXPECT_TRUE(has(env, "FROM_CALLER=yes"));
  EXPECT_FALSE(std::any_of(env.begin(), env.end(),
                           [](const std::string& e) { return e.starts_with("NOT_IN_CALLER"); }));
  EXPECT_EQ(plan->spec.process->cwd, "/w");
  o.entrypoint = "";
  o.command.clear();
  EXPECT_FALSE(build_spec(o, img, ctx(d)));  // nothing left to run
}

TEST(EngineSpec, EnvFile) {
  TempDir d;
  ASSERT_TRUE(fs::write_file(d.path + "/env", "# comment\nX=1\n\nFROM_CALLER\nY=a=b\n"));
  auto o = base();
  o.env_files = {d.path + "/env"};
  auto plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan);
  EXPECT_TRUE(has(plan->spec.process->env, "X=1"));
  EXPECT_TRUE(has(plan->spec.process->env, "Y=a=b"));
  EXPECT_TRUE(has(plan->spec.process->env, "FROM_CALLER=yes"));
  o.env_files = {d.path + "/missing"};
  EXPECT_FALSE(build_spec(o, {}, ctx(d)));
}

TEST(EngineSpec, Resources) {
  TempDir d;
  auto o = base();
  o.memory = "64m";
  o.cpus = "1.5";
  o.cpu_shares = 512;
  o.cpuset_cpus = "0-1";
  o.pids_limit = 50;
  auto plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  const auto& r = *plan->spec.linux.resources;
  EXPECT_EQ(*r.memory->limit, 64 << 20);
  EXPECT_EQ(*r.memory->swap, 128 << 20);
  EXPECT_EQ(*r.cpu->quota, 150000);
  EXPECT_EQ(*r.cpu->period, 100000u);
  EXPECT_EQ(*r.cpu->shares, 512u);
  EXPECT_EQ(r.cpu->cpus, "0-1");
  EXPECT_EQ(*r.pids_limit, 50);
  o.memory_swap = "-1";
  plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan);
  EXPECT_EQ(*plan->spec.linux.resources->memory->swap, -1);
  // Twice a limit this large overflowed int64 into a negative swap.
  o.memory_swap.clear();
  o.memory = "8000000000g";
  plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(*plan->spec.linux.resources->memory->swap, -1);
  for (auto bad : {"64x", "1m", "", "abc"}) {
    auto b = base();
    b.memory = bad;
    if (std::string_view(bad).empty()) continue;
    auto e = build_spec(b, {}, ctx(d));
    ASSERT_FALSE(e) << bad;
    EXPECT_NE(e.error().message.find("--memory"), std::string::npos) << e.error().message;
  }
  auto b = base();
  b.cpus = "-1";
  EXPECT_FALSE(build_spec(b, {}, ctx(d)));
  b = base();
  b.cpuset_cpus = "3-1";
  EXPECT_FALSE(build_spec(b, {}, ctx(d)));
  b = base();
  b.memory = "64m";
  b.memory_swap = "32m";
  EXPECT_FALSE(build_spec(b, {}, ctx(d)));
}

// --since/--until past int64 nanoseconds (after 2262, before 1678, or a duration longer
// than 292 years) saturate: the products used to overflow into the other sign.
TEST(Logs, SinceSaturatesOutOfRange) {
  const int64_t now = int64_t(1700000000) * 1000000000;
  EXPECT_EQ(*parse_since("2023-11-14T22:13:20Z", now), now);
  EXPECT_EQ(*parse_since("1700000000.5", now), now + 500000000);
  EXPECT_EQ(*parse_since("1h30m", now), now - int64_t(5400) * 1000000000);
  EXPECT_EQ(*parse_since("3000-01-01T00:00:00Z", now), INT64_MAX);
  EXPECT_EQ(*parse_since("9999-12-31", now), INT64_MAX);
  EXPECT_EQ(*parse_since("1000-01-01T00:00:00Z", now), INT64_MIN);
  EXPECT_EQ(*parse_since("99999999999", now), INT64_MAX);
  EXPECT_EQ(*parse_since("10000000h", now), now - INT64_MAX);
  EXPECT_EQ(*parse_since("5000000h5000000h", now), now - INT64_MAX);
}

TEST(EngineSpec, Sizes) {
  EXPECT_EQ(*parse_size("64m", "x"), 64 << 20);
  EXPECT_EQ(*parse_size("1.5g", "x"), 1536ll << 20);
  EXPECT_EQ(*parse_size("512", "x"), 512);
  EXPECT_EQ(*parse_size("10KB", "x"), 10240);
  EXPECT_FALSE(parse_size("1q", "x"));
  EXPECT_FALSE(parse_size("m", "x"));
}

TEST(EngineSpec, Capabilities) {
  TempDir d;
  auto o = base();
  o.cap_add = {"sys_admin", "CAP_NET_ADMIN"};
  o.cap_drop = {"CHOWN"};
  auto plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan);
  auto caps = plan->spec.process->capabilities->bounding;
  EXPECT_NE(std::find(caps.begin(), caps.end(), CAP_SYS_ADMIN), caps.end());
  EXPECT_NE(std::find(caps.begin(), caps.end(), CAP_NET_ADMIN), caps.end());
  EXPECT_EQ(std::find(caps.begin(), caps.end(), CAP_CHOWN), caps.end());
  o = base();
  o.cap_drop = {"ALL"};
  o.cap_add = {"KILL"};
  plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->spec.process->capabilities->bounding, std::vector<int>{CAP_KILL});
  o = base();
  o.cap_add = {"ALL"};
  plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan);
  EXPECT_GE(plan->spec.process->capabilities->bounding.size(), 38u);
  o = base();
  o.cap_add = {"NOT_A_CAP"};
  EXPECT_FALSE(build_spec(o, {}, ctx(d)));
}

TEST(EngineSpec, PrivilegedAndSecurityOpts) {
  TempDir d;
  auto o = base();
  o.privileged = true;
  auto plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan);
  EXPECT_FALSE(plan->spec.linux.seccomp);
  EXPECT_TRUE(plan->spec.linux.masked_paths.empty());
  EXPECT_TRUE(plan->spec.linux.resources->devices.at(0).allow);
  EXPECT_EQ(find_mount(plan->spec, "/sys")->flags & MS_RDONLY, 0u);
  o = base();
  o.security_opts = {"no-new-privileges", "seccomp=unconfined"};
  plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan);
  EXPECT_TRUE(plan->spec.process->no_new_privileges);
  EXPECT_FALSE(plan->spec.linux.seccomp);
  o.security_opts = {"bogus=1"};
  EXPECT_FALSE(build_spec(o, {}, ctx(d)));
}

TEST(EngineSpec, SeccompProfileFollowsCaps) {
  auto names = [](const oci::Seccomp& s) {
    std::vector<std::string> out;
    for (const auto& r : s.syscalls)
      if (r.args.empty() && r.action == oci::SeccompAction::errno_)
        out.insert(out.end(), r.names.begin(), r.names.end());
    return out;
  };
  auto def = names(default_seccomp_profile(default_capabilities()));
  for (auto n : {"mount", "umount2", "kexec_load", "init_module", "finit_module", "delete_module",
                 "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "ptrace", "clone3"})
    EXPECT_TRUE(has(def, n)) << n;
  auto admin = names(default_seccomp_profile({CAP_SYS_ADMIN, CAP_SYS_PTRACE}));
  EXPECT_FALSE(has(admin, "mount"));
  EXPECT_FALSE(has(admin, "ptrace"));
  EXPECT_TRUE(has(admin, "keyctl"));
  // unshare/clone with CLONE_NEWUSER are denied by argument.
  auto prof = default_seccomp_profile(default_capabilities());
  bool unshare_rule = false;
  for (const auto& r : prof.syscalls)
    if (r.names == std::vector<std::string>{"unshare"} && r.args.size() == 1 &&
        r.args[0].value == CLONE_NEWUSER)
      unshare_rule = true;
  EXPECT_TRUE(unshare_rule);
}

TEST(EngineSpec, NamespaceModesAndSysctl) {
  TempDir d;
  auto o = base();
  o.pid_mode = "host";
  o.ipc_mode = "host";
  o.uts_mode = "host";
  o.network = "host";
  auto plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  const auto& lx = plan->spec.linux;
  EXPECT_FALSE(lx.has_namespace(oci::NamespaceType::pid));
  EXPECT_FALSE(lx.has_namespace(oci::NamespaceType::ipc));
  EXPECT_FALSE(lx.has_namespace(oci::NamespaceType::uts));
  EXPECT_FALSE(lx.has_namespace(oci::NamespaceType::network));
  EXPECT_TRUE(plan->spec.hostname.empty());
  o.sysctls = {"net.ipv4.ip_forward=1"};
  EXPECT_FALSE(build_spec(o, {}, ctx(d)));  // net.* with the host's network
  o = base();
  o.sysctls = {"net.ipv4.ip_forward=1", "kernel.shmmax=1000000"};
  plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->spec.linux.sysctl.at("kernel.shmmax"), "1000000");
  o.sysctls = {"kernel.panic=1"};
  EXPECT_FALSE(build_spec(o, {}, ctx(d)));
  o.sysctls = {"kernel.hostname=x"};  // --hostname's job; runc and crun refuse it
  EXPECT_FALSE(build_spec(o, {}, ctx(d)));
  o = base();
  o.pid_mode = "bogus";
  EXPECT_FALSE(build_spec(o, {}, ctx(d)));
}

// --pid/--ipc/--uts container:NAME, shareable and none: what build_spec makes of them before
// Engine::create resolves NAME (join_containers sets the paths and /dev/shm's source).
TEST(EngineSpec, ContainerNamespaceModes) {
  TempDir d;
  auto shm_of = [](const oci::Spec& s) -> const oci::Mount* {
    for (const auto& m : s.mounts)
      if (m.destination == "/dev/shm") return &m;
    return nullptr;
  };
  auto o = base();
  o.pid_mode = "container:a";
  o.ipc_mode = "container:b";
  o.uts_mode = "container:c";
  auto plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->config.pid_mode, "container:a");
  EXPECT_EQ(plan->config.ipc_mode, "container:b");
  EXPECT_EQ(plan->config.uts_mode, "container:c");
  for (auto t : {oci::NamespaceType::pid, oci::NamespaceType::ipc, oci::NamespaceType::uts})
    EXPECT_TRUE(plan->spec.linux.has_namespace(t));
  EXPECT_TRUE(plan->spec.hostname.empty());  // the joined namespace keeps its own
  ASSERT_TRUE(shm_of(plan->spec));
  EXPECT_EQ(shm_of(plan->spec)->type, "bind");
  o.sysctls = {"kernel.shmmax=1"};
  auto bad = build_spec(o, {}, ctx(d));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--ipc container:b"), std::string::npos);
  o.sysctls.clear();
  for (const char* flag : {"hostname", "domainname"}) {
    auto h = base();
    h.uts_mode = "container:c";
    (flag == std::string_view("hostname") ? h.hostname : h.domainname) = "x";
    auto r = build_spec(h, {}, ctx(d));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("conflicting options"), std::string::npos);
  }
  for (const char* mode : {"container:", "bogus", "shareable"}) {
    o = base();
    o.pid_mode = mode;  // shareable is --ipc's only
    EXPECT_FALSE(build_spec(o, {}, ctx(d))) << mode;
  }
  o = base();
  o.ipc_mode = "shareable";
  o.shm_size = "2m";
  plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->config.shm_size, 2 << 20);
  EXPECT_EQ(shm_of(plan->spec)->source, ctx(d).container_dir + "/shm");
  o.ipc_mode = "none";
  plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan);
  EXPECT_FALSE(shm_of(plan->spec));
  o.ipc_mode = "private";
  plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->config.ipc_mode, "");
  EXPECT_EQ(shm_of(plan->spec)->type, "tmpfs");
}

TEST(EngineSpec, Mounts) {
  TempDir d;
  auto o = base();
  o.volumes = {d.path + ":/data:ro", "named:/n", "/anon"};
  o.mounts = {"type=tmpfs,target=/t,tmpfs-size=1m"};
  o.tmpfs = {"/run:size=2m"};
  o.read_only = true;
  o.shm_size = "128m";
  auto plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  const auto& s = plan->spec;
  const auto* data = find_mount(s, "/data");
  ASSERT_NE(data, nullptr);
  EXPECT_TRUE(data->bind);
  EXPECT_NE(data->flags & MS_RDONLY, 0u);
  const auto* named = find_mount(s, "/n");
  ASSERT_NE(named, nullptr);
  EXPECT_EQ(named->source, d.path + "/volumes/named/_data");
  EXPECT_EQ(plan->named_volumes.size(), 2u);
  EXPECT_NE(find_mount(s, "/t")->data.find("size=1048576"), std::string::npos);
  EXPECT_NE(find_mount(s, "/run")->data.find("size=2m"), std::string::npos);
  EXPECT_NE(find_mount(s, "/dev/shm")->data.find("size=134217728"), std::string::npos);
  EXPECT_TRUE(s.root.readonly);
  for (auto bad : {"/does/not/exist:/x", "rel/path:/x", "a:b", "x:/y:bogus", "a:b:c:d"}) {
    o = base();
    o.volumes = {bad};
    auto e = build_spec(o, {}, ctx(d));
    EXPECT_FALSE(e) << bad;
  }
  o = base();
  o.mounts = {"type=bind,target=/x"};
  EXPECT_FALSE(build_spec(o, {}, ctx(d)));
  o.mounts = {"type=nfs,target=/x"};
  EXPECT_FALSE(build_spec(o, {}, ctx(d)));
}

// Options that build_spec must refuse, one per case number.
constexpr int kBadCases = 30;
void make_bad(int i, RunOptions& x) {
  auto one = [](std::vector<std::string>& v, const char* s) {
    v.clear();
    v.emplace_back(s);
  };
  switch (i) {
    case 0:
      one(x.ulimits, "nofile=2:1");
      break;
    case 1:
      one(x.ulimits, "bogus=1");
      break;
    case 2:
      x.stop_signal = "SIGNOPE";
      break;
    case 3:
      x.restart = "sometimes";
      break;
    case 4:
      x.restart = "always:3";
      break;
    case 5:
      x.restart = "always";
      x.rm = true;
      break;
    case 6:
      one(x.log_opts, "max-size=0");
      break;
    case 7:
      one(x.log_opts, "mode=fast");
      break;
    case 8:
      x.name = "-bad";
      break;
    case 9:
      x.name = "a/b";
      break;
    case 10:
      x.pull = "sometimes";
      break;
    case 11:
      x.platform = "linux/arm64";
      break;
    case 12:
      x.platform = "windows";
      break;
    case 13:
      x.user = "a:b:c";
      break;
    case 14:
      x.workdir = "relative";
      break;
    case 15:
      x.shm_size = "0";
      break;
    case 16:
      one(x.publish, "80:80");
      x.network = "none";
      break;
    case 17:
      one(x.publish, "80");
      x.network = "container:web";
      break;
    case 18:
      x.network = "container:";
      break;
    case 19:
      x.publish_all = true;
      x.network = "host";
      break;
    case 20:
      one(x.add_hosts, "db");
      break;
    case 21:
      one(x.add_hosts, "db:not-an-ip");
      break;
    case 22:
      one(x.add_hosts, "gw:host-gateway");
      x.network = "none";
      break;
    case 23:
      one(x.dns, "8.8.8");
      break;
    case 24:
      one(x.dns_search, "a b");
      break;
    case 25:
      x.ip = "10.0.0.300";
      break;
    case 26:
      x.ip = "10.0.0.3";
      x.network = "host";
      break;
    case 27:
      one(x.network_aliases, "db");
      x.network = "none";
      break;
    case 28:
      one(x.sysctls, "net.ipv4.ip_forward=1");
      x.network = "container:web";
      break;
    case 29:
      x.hostname = "box";
      x.network = "container:web";
      break;
    default:
      break;
  }
}

TEST(EngineSpec, MiscFlags) {
  TempDir d;
  auto o = base();
  o.ulimits = {"nofile=1024:2048", "nproc=100"};
  o.stop_signal = "SIGUSR1";
  o.stop_timeout = 3;
  o.restart = "on-failure:3";
  o.labels = {"a=b", "c"};
  o.log_opts = {"max-size=1k", "max-file=3"};
  o.hostname = "box";
  o.tty = true;
  o.name = "web-1";
  auto plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  const auto& p = *plan->spec.process;
  ASSERT_EQ(p.rlimits.size(), 2u);
  EXPECT_EQ(p.rlimits[0].type, RLIMIT_NOFILE);
  EXPECT_EQ(p.rlimits[0].soft, 1024u);
  EXPECT_EQ(p.rlimits[0].hard, 2048u);
  EXPECT_TRUE(p.terminal);
  EXPECT_TRUE(has(p.env, "TERM=xterm"));
  EXPECT_TRUE(has(p.env, "HOSTNAME=box"));
  EXPECT_EQ(plan->spec.hostname, "box");
  const auto& c = plan->config;
  EXPECT_EQ(c.stop_signal, "SIGUSR1");
  EXPECT_EQ(c.stop_timeout, 3);
  EXPECT_EQ(c.restart.kind, RestartPolicy::Kind::on_failure);
  EXPECT_EQ(c.restart.max_retries, 3);
  EXPECT_EQ(c.labels.at("a"), "b");
  EXPECT_EQ(c.labels.at("c"), "");
  EXPECT_EQ(c.log_max_size, 1024u);
  EXPECT_EQ(c.log_max_file, 3);
  EXPECT_EQ(c.name, "web-1");
  // A switch over case numbers, not a vector of lambdas: GCC 12 reports a false
  // -Wstringop-overflow on the latter at -O2.
  for (int i = 0; i < kBadCases; ++i) {
    auto b = base();
    make_bad(i, b);
    EXPECT_FALSE(build_spec(b, {}, ctx(d))) << "case " << i;
  }
}

// -p goes through src/net's parser (its own tests cover the syntax): ranges expand, a
// host range for one container port is kept for the start to pick from, errors name -p.
TEST(EngineSpec, Publish) {
  TempDir d;
  auto o = base();
  o.network = "bridge";
  o.publish = {"127.0.0.1:8000-8001:80-81/udp", "9000-9010:90", "80"};
  auto plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  std::vector<PortMapping> want = {{"127.0.0.1", 8000, 80, "udp"},
                                   {"127.0.0.1", 8001, 81, "udp"},
                                   {"", 9000, 90, "tcp", 9010},
                                   {"", 0, 80, "tcp"}};
  EXPECT_EQ(plan->config.ports, want);
  for (const char* bad : {"70000", "80/sctp", "8000-8002:80-81"}) {
    o.publish = {bad};
    auto r = build_spec(o, {}, ctx(d));
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
}

TEST(EngineSpec, NetworkFlags) {
  TempDir d;
  ASSERT_TRUE(fs::write_file(d.path + "/resolv.conf",
                             "nameserver 127.0.0.53\nsearch lan\noptions edns0\n"));
  auto o = base();
  o.network = "bridge";
  o.publish = {"8080:80"};
  o.publish_all = true;
  o.add_hosts = {"db:10.1.2.3", "gw:host-gateway"};
  o.dns = {"10.0.0.53"};
  o.dns_search = {"example.test"};
  o.dns_options = {"ndots:2"};
  o.ip = "10.89.0.10";
  ImageDefaults img;
  img.exposed_ports = {"80/tcp", "53/udp", "9000"};
  auto plan = build_spec(o, img, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  const auto& c = plan->config;
  // -p 8080:80 wins over -P for 80/tcp; the others get a free port (0 until attach).
  ASSERT_EQ(c.ports.size(), 3u);
  EXPECT_EQ(c.ports[0].host_port, 8080);
  EXPECT_EQ(c.ports[1].container_port, 53);
  EXPECT_EQ(c.ports[1].proto, "udp");
  EXPECT_EQ(c.ports[1].host_port, 0);
  EXPECT_EQ(c.ports[2].container_port, 9000);
  EXPECT_EQ(c.ports[2].proto, "tcp");
  EXPECT_EQ(c.extra_hosts, o.add_hosts);
  EXPECT_EQ(c.ip, "10.89.0.10");
  EXPECT_EQ(plan->resolv_conf, "nameserver 10.0.0.53\nsearch example.test\noptions ndots:2\n");
  // A record keeps them across a save.
  auto back = ContainerConfig::from_json(c.to_json());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->extra_hosts, c.extra_hosts);
  EXPECT_EQ(back->ip, c.ip);

  // Without a bridge network the hosts file is written here, extra hosts included.
  o = base();
  o.network = "none";
  o.add_hosts = {"db:10.1.2.3"};
  plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_NE(plan->hosts.find("10.1.2.3\tdb"), std::string::npos) << plan->hosts;
  EXPECT_TRUE(plan->config.extra_hosts.empty());
  EXPECT_NE(plan->resolv_conf.find("options edns0"), std::string::npos);
  EXPECT_EQ(plan->resolv_conf.find("127.0.0.53"), std::string::npos);

  // container:NAME keeps a network namespace entry (its path is set at start).
  o = base();
  o.network = "container:web";
  plan = build_spec(o, {}, ctx(d));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(plan->spec.linux.has_namespace(oci::NamespaceType::network));
  EXPECT_EQ(plan->config.network, "container:web");
}

TEST(EngineSpec, ResolvConf) {
  auto r = container_resolv_conf("nameserver 127.0.0.53\nsearch lan\n");
  EXPECT_EQ(r.find("127.0.0.53"), std::string::npos);
  EXPECT_NE(r.find("search lan"), std::string::npos);
  EXPECT_NE(r.find("nameserver 8.8.8.8"), std::string::npos);
  r = container_resolv_conf("nameserver 10.0.0.1\n");
  EXPECT_NE(r.find("10.0.0.1"), std::string::npos);
  EXPECT_EQ(r.find("8.8.8.8"), std::string::npos);
}

TEST(EngineSpec, ResolveUser) {
  TempDir d;
  ASSERT_TRUE(fs::mkdir_p(d.path + "/etc"));
  ASSERT_TRUE(fs::write_file(d.path + "/etc/passwd",
                             "root:x:0:0::/root:/bin/sh\nweb:x:1000:1001::/home:/bin/sh\n"));
  ASSERT_TRUE(fs::write_file(d.path + "/etc/group",
                             "root:x:0:\nwheel:x:10:root\nwebg:x:1001:web\nextra:x:2000:web\n"));
  using Gids = std::vector<gid_t>;
  // The primary gid leads the supplementary groups (docker since 23.0.3), then each group
  // listing the user, once.
  auto u = resolve_user(d.path, "web");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1001u);
  EXPECT_EQ(u->additional_gids, (Gids{1001, 2000}));
  // No user: uid 0's entry, with its memberships (docker's `groups=0(root),10(wheel)`).
  u = resolve_user(d.path, "");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_EQ(u->additional_gids, (Gids{0, 10}));
  // A group given: that one alone, no memberships (docker).
  u = resolve_user(d.path, "web:root");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_EQ(u->additional_gids, Gids{0});
  u = resolve_user(d.path, "web:4343");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->gid, 4343u);
  EXPECT_EQ(u->additional_gids, Gids{4343});
  u = resolve_user(d.path, "4242:4343");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 4343u);
  // A uid without a passwd entry keeps gid 0; one with an entry is that user, groups too.
  u = resolve_user(d.path, "4242");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_EQ(u->additional_gids, Gids{0});
  u = resolve_user(d.path, "1000");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->gid, 1001u);
  EXPECT_EQ(u->additional_gids, (Gids{1001, 2000}));
  // --group-add: a name of /etc/group or any number, after the user's own groups.
  u = resolve_process_user(d.path, "web", {"root", "7777", "extra"});
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->additional_gids, (Gids{1001, 2000, 0, 7777}));
  EXPECT_FALSE(resolve_process_user(d.path, "", {"nosuchgroup"}));
  EXPECT_FALSE(resolve_user(d.path, "nobody"));
  EXPECT_FALSE(resolve_user(d.path, "web:nogroup"));
  // No passwd at all: root by default, as docker.
  TempDir empty;
  u = resolve_user(empty.path, "");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->additional_gids, Gids{0});
  // /etc/passwd as a symlink out of the rootfs resolves inside it.
  TempDir d2;
  ASSERT_TRUE(fs::mkdir_p(d2.path + "/etc"));
  ASSERT_EQ(::symlink("/etc/passwd", (d2.path + "/etc/passwd").c_str()), 0);
  EXPECT_FALSE(resolve_user(d2.path, "root"));
}

// A read that fails is an error, not "no such container": hull __exited takes the latter
// for a removed container and records nothing.
TEST(EngineRecords, FailedReadIsNotNoSuchContainer) {
  TempDir d;
  auto db = Db::open(d.path);
  ASSERT_TRUE(db) << db.error().message;
  Container c;
  c.config.id = new_container_id();
  c.config.name = "kept";
  ASSERT_TRUE(db->insert(c));
  EXPECT_EQ(db->find("nosuch").error().code, ENOENT);
  EXPECT_EQ(db->find_state("nosuch").error().code, ENOENT);
  // The table gone under the connection: its reads fail.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((d.path + "/containers.db").c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "DROP TABLE containers", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  auto found = db->find(c.config.id);
  ASSERT_FALSE(found);
  EXPECT_NE(found.error().code, ENOENT) << found.error().message;
  auto state = db->find_state(c.config.id);
  ASSERT_FALSE(state);
  EXPECT_NE(state.error().code, ENOENT) << state.error().message;
}

TEST(EngineRecords, InsertFindRename) {
  TempDir d;
  auto db = Db::open(d.path);
  ASSERT_TRUE(db) << db.error().message;
  Container c;
  c.config.id = new_container_id();
  c.config.name = "first";
  c.config.restart = {RestartPolicy::Kind::on_failure, 2};
  ASSERT_TRUE(db->insert(c));
  Container c2 = c;
  c2.config.id = new_container_id();
  auto dup = db->insert(c2);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("already in use"), std::string::npos);
  c2.config.name = "second";
  ASSERT_TRUE(db->insert(c2));
  auto f = db->find("first");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->config.id, c.config.id);
  EXPECT_EQ(f->config.restart.max_retries, 2);
  EXPECT_TRUE(db->find(c.config.id.substr(0, 12)));
  EXPECT_FALSE(db->find("nope"));
  ASSERT_TRUE(db->rename(c.config.id, "renamed"));
  EXPECT_FALSE(db->find("first"));
  EXPECT_TRUE(db->find("renamed"));
  EXPECT_FALSE(db->rename(c.config.id, "second"));
  ContainerState st;
  st.status = ContainerStatus::exited;
  st.exit_code = 3;
  ASSERT_TRUE(db->save_state(c.config.id, st));
  EXPECT_EQ(db->find("renamed")->state.exit_code, 3);
  EXPECT_EQ(db->list()->size(), 2u);
  ASSERT_TRUE(db->remove(c.config.id));
  EXPECT_EQ(db->list()->size(), 1u);
}

TEST(EngineRecords, RemovedKeepsItsExitCode) {
  TempDir d;
  auto db = Db::open(d.path);
  ASSERT_TRUE(db) << db.error().message;
  Container c;
  c.config.id = new_container_id();
  c.config.name = "gone";
  ASSERT_TRUE(db->insert(c));
  EXPECT_FALSE(db->removed_exit(c.config.id));
  ASSERT_TRUE(db->remove_with_exit(c.config.id, 7));
  EXPECT_FALSE(db->find("gone"));
  EXPECT_EQ(db->removed_exit(c.config.id), 7);
  // The name is free again at once; a second removal of the same id overwrites.
  c.config.id = new_container_id();
  ASSERT_TRUE(db->insert(c));
  ASSERT_TRUE(db->remove_with_exit(c.config.id, 137));
  EXPECT_EQ(db->removed_exit(c.config.id), 137);
  EXPECT_FALSE(db->removed_exit("unknown"));
  // A record already gone (an rm -f raced it) is no error.
  EXPECT_TRUE(db->remove_with_exit("no-such-id", 1));
}

// A state change reads and writes in one transaction; a change that says "nothing"
// writes nothing, and a removed record is ENOENT.
TEST(EngineRecords, ChangeStateReadsTheRecordAsItIsNow) {
  TempDir d;
  auto db = Db::open(d.path);
  auto other = Db::open(d.path);  // another process's connection (hull __exited)
  ASSERT_TRUE(db && other);
  Container c;
  c.config.id = new_container_id();
  c.config.name = "changed";
  c.state.status = ContainerStatus::running;
  ASSERT_TRUE(db->insert(c));
  ContainerState recorded = c.state;
  recorded.status = ContainerStatus::exited;
  recorded.exit_code = 3;
  ASSERT_TRUE(other->save_state(c.config.id, recorded));
  auto s = db->change_state(c.config.id, [](ContainerState& s) {
    s.manual_stop = true;
    return true;
  });
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->exit_code, 3);
  EXPECT_TRUE(other->find_state(c.config.id)->manual_stop);
  EXPECT_EQ(other->find_state(c.config.id)->exit_code, 3);
  auto unchanged = db->change_state(c.config.id, [](ContainerState& s) {
    s.exit_code = 99;
    return false;
  });
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(other->find_state(c.config.id)->exit_code, 3);
  EXPECT_EQ(db->change_state("nosuch", [](ContainerState&) { return true; }).error().code, ENOENT);
}

// A record read while the container ran, whose monitor then recorded the exit and ended:
// the exit stands, where refresh took the old copy for "the monitor died unseen" and
// wrote 255 over the recorded code (seen as lost exits under load).
TEST(EngineRecords, RefreshKeepsAnExitRecordedAfterTheRead) {
  TempDir d;
  auto engine = Engine::open(d.path + "/root", d.path + "/run");
  ASSERT_TRUE(engine) << engine.error().message;
  auto db = Db::open(d.path + "/root");
  ASSERT_TRUE(db);
  pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);
  Container c;
  c.config.id = new_container_id();
  c.config.name = "ended";
  c.state.status = ContainerStatus::running;
  c.state.monitor_pid = gone;
  c.state.monitor_start = 1;
  ASSERT_TRUE(db->insert(c));
  Container stale = *db->find(c.config.id);
  ContainerState recorded = c.state;
  recorded.status = ContainerStatus::exited;
  recorded.exit_code = 3;
  recorded.monitor_pid = 0;
  ASSERT_TRUE(db->save_state(c.config.id, recorded));

  auto fresh = engine->refresh(stale);
  ASSERT_TRUE(fresh) << fresh.error().message;
  EXPECT_EQ(fresh->state.status, ContainerStatus::exited);
  EXPECT_EQ(fresh->state.exit_code, 3);
  EXPECT_EQ(db->find_state(c.config.id)->exit_code, 3);

  // Still live in the record with its monitor gone: it died unseen.
  ASSERT_TRUE(db->save_state(c.config.id, c.state));
  fresh = engine->refresh(*db->find(c.config.id));
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->state.exit_code, 255);
  EXPECT_EQ(db->find_state(c.config.id)->exit_code, 255);
  // Removed meanwhile: no such container, and list() leaves it out.
  ASSERT_TRUE(db->remove(c.config.id));
  EXPECT_EQ(engine->refresh(stale).error().code, ENOENT);
}

// Each removal prunes the exits older than an hour. That must read only those, through
// exits_at, not the whole table (which holds every exit of the last hour), and a
// database made before the index gets it at its next open.
TEST(EngineRecords, OldExitsArePrunedThroughAnIndex) {
  TempDir d;
  const std::string path = d.path + "/containers.db";
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "CREATE TABLE containers(id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, "
                         "config TEXT NOT NULL, state TEXT NOT NULL);"
                         "CREATE TABLE volumes(name TEXT PRIMARY KEY, created INTEGER);"
                         "CREATE TABLE exits(id TEXT PRIMARY KEY, exit_code INTEGER NOT NULL, "
                         "at INTEGER NOT NULL);"
                         "INSERT INTO exits VALUES('old', 1, 1000), ('recent', 2, 9e18);"
                         "PRAGMA user_version=1;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);

  auto db = Db::open(d.path);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  std::string plan;
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "EXPLAIN QUERY PLAN DELETE FROM exits WHERE at < 5", -1, &st,
                               nullptr),
            SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW)
    plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3)) + std::string("\n");
  sqlite3_finalize(st);
  sqlite3_close(raw);
  EXPECT_NE(plan.find("INDEX exits_at"), std::string::npos) << plan;

  Container c;
  c.config.id = new_container_id();
  c.config.name = "next";
  ASSERT_TRUE(db->insert(c));
  ASSERT_TRUE(db->remove_with_exit(c.config.id, 0));
  EXPECT_FALSE(db->removed_exit("old"));
  EXPECT_EQ(db->removed_exit("recent"), 2);
  EXPECT_EQ(db->removed_exit(c.config.id), 0);
}

TEST(EngineTemplate, GoTemplateSubset) {
  Json j = {{"Name", "/web"},
            {"State", {{"Status", "exited"}, {"ExitCode", 3}, {"Running", false}}},
            {"Config", {{"Cmd", {"sh", "-c", "exit 3"}}, {"Labels", {{"a", "1"}, {"b.c", "2"}}}}},
            {"Empty", Json::array()}};
  auto f = [&](std::string_view t) {
    auto r = format_template(j, t);
    return r ? *r : "error: " + r.error().message;
  };
  EXPECT_EQ(f("{{.State.ExitCode}} {{.Name}}"), "3 /web");
  // Values print as Go prints them; json as docker's json function.
  EXPECT_EQ(f("{{.Config.Cmd}}"), "[sh -c exit 3]");
  EXPECT_EQ(f("{{.Config.Labels}}"), "map[a:1 b.c:2]");
  EXPECT_EQ(f("{{json .Config.Cmd}}"), R"(["sh","-c","exit 3"])");
  EXPECT_EQ(f("{{.State.Running}}"), "false");
  EXPECT_EQ(f(R"({{index .Config.Labels "b.c"}}|{{index .Config.Labels "x"}}|)"), "2||");
  EXPECT_EQ(f(R"({{.Config.Labels "a"}})"), "1");
  EXPECT_EQ(f("{{range .Config.Cmd}}<{{.}}>{{end}}"), "<sh><-c><exit 3>");
  EXPECT_EQ(f("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}"), "a=1;b.c=2;");
  EXPECT_EQ(f("{{range $i, $e := .Config.Cmd}}{{$i}}{{end}}"), "012");
  EXPECT_EQ(f("{{range .Empty}}x{{else}}none{{end}}"), "none");
  EXPECT_EQ(f("{{if .State.Running}}up{{else}}down{{end}}"), "down");
  EXPECT_EQ(f(R"({{if eq .State.Status "exited"}}gone{{end}})"), "gone");
  EXPECT_EQ(f("{{range .Config.Cmd}}{{println .}}{{end}}"), "sh\n-c\nexit 3\n");
  EXPECT_EQ(f(R"({{join .Config.Cmd ","}})"), "sh,-c,exit 3");
  EXPECT_EQ(f("{{.Name | upper}} {{len .Config.Cmd}}"), "/WEB 3");
  EXPECT_EQ(f(R"({{printf "%-6s|%3d" .State.Status .State.ExitCode}})"), "exited|  3");
  EXPECT_EQ(f("a {{- .Name -}} b"), "a/webb");
  EXPECT_EQ(f("{{$.Name}}{{/* note */}}"), "/web");
  EXPECT_FALSE(format_template(j, "{{.Nope}}"));
  EXPECT_FALSE(format_template(j, "{{range .Config.Cmd}}"));
  EXPECT_FALSE(format_template(j, "{{end}}"));
  EXPECT_FALSE(format_template(j, "{{.Name"));
  EXPECT_FALSE(format_template(j, "{{nosuchfunc .Name}}"));
  // Bounded: a deep nesting or a huge width is an error, not a crash.
  std::string deep;
  for (int i = 0; i < 200000; ++i) deep += "{{if 1}}";
  auto r = format_template(j, deep);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nested deeper than 100"), std::string::npos);
  std::string ok;
  for (int i = 0; i < 100; ++i) ok += "{{if 1}}";
  ok += "x";
  for (int i = 0; i < 100; ++i) ok += "{{end}}";
  EXPECT_EQ(f(ok), "x");
  EXPECT_FALSE(format_template(j, R"({{printf "%99999999999999999999s" .Name}})"));
}

// docker's filters.Args: keys AND, a key's values OR, label values AND, booleans agree.
TEST(EngineFilters, DockerFilterArgsSemantics) {
  using K = FilterArgs::Kind;
  static constexpr FilterArgs::Key keys[] = {{"name", K::regex},
                                             {"status", K::text},
                                             {"dangling", K::boolean},
                                             {"label", K::label},
                                             {"label!", K::label}};
  auto parse = [](std::vector<std::string> given) {
    return FilterArgs::parse(given, keys, "test ls");
  };
  auto f = parse(
      {"name=^web", "name=db$", "status=up", "status=down", "label=a", "label=b=2", "label!=c"});
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_TRUE(f->search("name", {"web1"}));
  EXPECT_TRUE(f->search("name", {"x", "maindb"}));
  EXPECT_FALSE(f->search("name", {"aweb"}));
  EXPECT_TRUE(f->search("other", {"anything"}));  // not given: holds
  EXPECT_TRUE(f->any("status", [](const std::string& v) { return v == "down"; }));
  EXPECT_FALSE(f->any("status", [](const std::string& v) { return v == "gone"; }));
  EXPECT_TRUE(f->labels_hold({{"a", ""}, {"b", "2"}}));
  EXPECT_FALSE(f->labels_hold({{"a", ""}}));                         // b=2 must hold too
  EXPECT_FALSE(f->labels_hold({{"a", ""}, {"b", "3"}}));             // b's value differs
  EXPECT_FALSE(f->labels_hold({{"a", ""}, {"b", "2"}, {"c", ""}}));  // label!=c
  EXPECT_EQ(f->values("status"), (std::vector<std::string>{"up", "down"}));
  EXPECT_FALSE(f->boolean("dangling"));

  auto d = parse({"dangling=1", "dangling=true"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->boolean("dangling"), true);
  EXPECT_EQ(parse({"dangling=0"})->boolean("dangling"), false);

  for (auto [bad, named] : {std::pair{"colour=red",
                                      "\"colour\": test ls filters are name, "
                                      "status, dangling, label and label!"},
                            {"name=(", "'name=(': not a regular expression"},
                            {"dangling=maybe", "'dangling=maybe': want true or false"},
                            {"label==x", "no label name"},
                            {"nameweb", "bad format of filter"}}) {
    auto r = parse({bad});
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find(named), std::string::npos) << r.error().message;
  }
  auto both = parse({"dangling=true", "dangling=0"});
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message.find("true and false both given"), std::string::npos);
}

// List rows as docker's templates see them: Labels joined "k=v,k=v", CreatedAt as Go's
// time.String() of a UTC time.
TEST(EnginePresent, ListRowTexts) {
  EXPECT_EQ(labels_text({}), "");
  EXPECT_EQ(labels_text({{"tier", "web"}, {"app", ""}}), "app=,tier=web");
  EXPECT_EQ(go_time_text(1764779140), "2025-12-03 16:25:40 +0000 UTC");
}

}  // namespace
}  // namespace hull::engine

TEST(EngineDetachKeys, ParsedForTheMonitor) {
  using hull::engine::parse_detach_keys;
  // No spec: no bytes, so hull-monitor keeps its default (ctrl-p ctrl-q) and gets no flag.
  EXPECT_EQ(*parse_detach_keys(""), "");
  EXPECT_EQ(*parse_detach_keys("ctrl-a,x"), std::string("\x01x"));
  EXPECT_EQ(*parse_detach_keys("ctrl-@,d"), std::string("\0d", 2));
  std::string sixteen = "a";
  for (int i = 1; i < 16; ++i) sixteen += ",a";
  EXPECT_EQ(parse_detach_keys(sixteen)->size(), 16u);
  auto seventeen = parse_detach_keys(sixteen + ",b");
  ASSERT_FALSE(seventeen);
  EXPECT_NE(seventeen.error().message.find("more than 16 keys"), std::string::npos);
  for (const char* bad : {"ctrl-", "ctrl-A", "ab", "ctrl-p,,ctrl-q"}) {
    auto r = parse_detach_keys(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("invalid detach keys"), std::string::npos) << bad;
  }
}

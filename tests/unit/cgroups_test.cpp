// cgroup backends on fake trees: the exact control files and values written for each
// resource, layout detection, path planning, v1 -> v2 conversions and the v2 device
// program.
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "cgroups/devices.hpp"
#include "cgroups/manager.hpp"
#include "common/fs.hpp"

namespace hull::cgroups {
namespace {

constexpr const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr const char* kHybridCgroup =
    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n";

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hull-cgtest-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read(const std::string& path) {
  auto r = fs::read_file(path);
  return r ? *r : "<missing>";
}

void put(const std::string& path, const std::string& text) {
  ASSERT_TRUE(fs::write_file(path, text));
}

TEST(CgroupLayout, HybridHostIsV1WithUnifiedTree) {
  auto l = parse_layout(kHybridMountinfo, kHybridCgroup);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->kind(), Kind::v1);
  EXPECT_TRUE(l->hybrid());
  EXPECT_EQ(l->unified, "/sys/fs/cgroup/unified");
  EXPECT_EQ(l->unified_own, "/");
  ASSERT_NE(l->find_v1("memory"), nullptr);
  EXPECT_EQ(l->find_v1("memory")->mount, "/sys/fs/cgroup/memory");
  EXPECT_EQ(l->find_v1("memory")->own, "/process_api/abc");
  EXPECT_EQ(l->find_v1("cpu")->own, "/");
  ASSERT_NE(l->find_v1("name=systemd"), nullptr);
  EXPECT_EQ(l->find_v1("freezer"), nullptr);
}

TEST(CgroupLayout, MountHiddenByALaterOneIsIgnored) {
  // A tmpfs over the cgroup2 tree (how crun is run on hybrid hosts) hides it.
  std::string mi =
      std::string(kHybridMountinfo) + "99 41 0:77 / /sys/fs/cgroup/unified rw - tmpfs tmpfs rw\n";
  auto l = parse_layout(mi, kHybridCgroup);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->kind(), Kind::v1);
  EXPECT_TRUE(l->unified.empty());
  EXPECT_NE(l->find_v1("memory"), nullptr);
}

TEST(CgroupLayout, PureV2AndSystemdNamedOnlyAreV2) {
  auto l = parse_layout("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
                        "0::/user.slice/session-1.scope\n");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->kind(), Kind::v2);
  EXPECT_FALSE(l->hybrid());
  EXPECT_EQ(l->unified_own, "/user.slice/session-1.scope");
  auto s = parse_layout(
      "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
      "1:name=systemd:/\n0::/x\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind(), Kind::v2);
}

TEST(CgroupLayout, MountRootInsideCgroupNamespaceIsStripped) {
  auto l = parse_layout("41 31 0:38 /outer /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                        "0::/outer/inner\n");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->unified_own, "/inner");
  EXPECT_FALSE(parse_layout("", ""));
}

TEST(CgroupPath, DefaultRelativeAbsoluteAndEscapes) {
  EXPECT_EQ(*plan_path("/process_api/abc", "", "c1"), "/process_api/abc/c1");
  EXPECT_EQ(*plan_path("/", "", "c1"), "/c1");
  EXPECT_EQ(*plan_path("/a", "x/y", "c1"), "/a/x/y");
  EXPECT_EQ(*plan_path("/a", "/machine/c1", "c1"), "/machine/c1");
  EXPECT_EQ(*plan_path("/a", "//m//c1/", "c1"), "/m/c1");
  auto bad = plan_path("/", "/x/../../etc", "c1");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("\"..\""), std::string::npos);
  EXPECT_FALSE(plan_path("/", "/", "c1"));
}

TEST(CgroupPath, SubCgroupPathStaysInside) {
  EXPECT_EQ(*sub_cgroup_path(""), "");
  EXPECT_EQ(*sub_cgroup_path("/"), "");
  EXPECT_EQ(*sub_cgroup_path("a"), "a");
  EXPECT_EQ(*sub_cgroup_path("/a//b/./c/"), "a/b/c");
  for (const char* bad : {"..", "../x", "a/../../b", "a/..", "/.."}) {
    auto r = sub_cgroup_path(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("\"..\" is not allowed"), std::string::npos);
  }
}

TEST(CgroupConvert, SharesToWeightAsRunc) {
  EXPECT_EQ(shares_to_weight(0), 0u);
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(1024), 39u);
  EXPECT_EQ(shares_to_weight(262144), 10000u);
  EXPECT_EQ(shares_to_weight(1000000), 10000u);
}

TEST(CgroupConvert, BlkioWeightToIoWeight) {
  EXPECT_EQ(blkio_weight_to_io_weight(0), 0u);
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
}

TEST(CgroupConvert, SwapIsMemoryPlusSwap) {
  EXPECT_EQ(**swap_to_v2(64 << 20, 16 << 20), (48 << 20));
  EXPECT_EQ(**swap_to_v2(16 << 20, 16 << 20), 0);
  EXPECT_EQ(**swap_to_v2(-1, 16 << 20), -1);
  EXPECT_FALSE(*swap_to_v2(std::nullopt, 16 << 20));
  EXPECT_FALSE(swap_to_v2(8 << 20, 16 << 20));
  EXPECT_FALSE(swap_to_v2(8 << 20, std::nullopt));
  // A negative limit other than -1 is refused, as runc does: INT64_MAX - (-2) overflowed.
  EXPECT_FALSE(swap_to_v2(INT64_MAX, -2));
  EXPECT_FALSE(swap_to_v2(64 << 20, INT64_MIN));
}

oci::Resources full_resources() {
  oci::Resources r;
  r.devices = {{false, "", std::nullopt, std::nullopt, "rwm"}, {true, "c", 10, 229, "rw"}};
  r.memory = oci::MemoryResources{};
  r.memory->limit = 16 << 20;
  r.memory->swap = 32 << 20;
  r.memory->reservation = 8 << 20;
  r.memory->swappiness = 10;
  r.memory->disable_oom_killer = true;
  r.cpu = oci::CpuResources{};
  r.cpu->shares = 1024;
  r.cpu->quota = 20000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0";
  r.cpu->mems = "0";
  r.pids_limit = 32;
  r.block_io = oci::BlockIoResources{};
  r.block_io->weight = 500;
  r.block_io->weight_device = {{8, 0, 300, std::nullopt}};
  r.block_io->throttle_read_bps_device = {{8, 0, 1048576}};
  r.block_io->throttle_write_iops_device = {{8, 16, 100}};
  r.hugepage_limits = {{"2MB", 4194304}};
  return r;
}

struct FakeV1 {
  TempDir tmp;
  Layout layout;
  FakeV1() {
    layout.fake = true;
    for (const char* c :
         {"memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "hugetlb", "devices", "freezer"}) {
      std::string mount = tmp.path() + "/" + c;
      ::mkdir(mount.c_str(), 0755);
      layout.v1.push_back({{c}, mount, std::string(c) == "memory" ? "/caller" : "/"});
    }
    ::mkdir((tmp.path() + "/memory/caller").c_str(), 0755);
    put(tmp.path() + "/cpuset/cpuset.cpus", "0-1\n");
    put(tmp.path() + "/cpuset/cpuset.mems", "0\n");
    layout.unified = tmp.path() + "/unified";
    ::mkdir(layout.unified.c_str(), 0755);
    layout.unified_own = "/";
  }
  std::string f(const std::string& rel) const { return read(tmp.path() + "/" + rel); }
};

TEST(CgroupV1, CreateWritesEveryResource) {
  FakeV1 t;
  oci::Device fuse{"/dev/fuse", 'c', 10, 229};
  auto m = make_manager({"c1", "", false, {fuse}}, t.layout);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ((*m)->kind(), Kind::v1);
  EXPECT_EQ((*m)->path(), "/caller/c1");
  auto res = full_resources();
  // Swap equal to the limit (no swap) needs no swap accounting, which this fake tree
  // lacks; SwapOrderAndAccounting covers memsw.
  res.memory->swap = 16 << 20;
  auto r = (*m)->create(&res);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(fs::exists(t.tmp.path() + "/memory/caller/c1/memory.memsw.limit_in_bytes"));
  // Nested under the caller's own cgroup per hierarchy; the unified tree too.
  EXPECT_TRUE(fs::exists(t.tmp.path() + "/memory/caller/c1"));
  EXPECT_TRUE(fs::exists(t.tmp.path() + "/cpu/c1"));
  EXPECT_TRUE(fs::exists(t.tmp.path() + "/unified/c1"));
  EXPECT_EQ(t.f("memory/caller/c1/notify_on_release"), "1\n");
  EXPECT_EQ(t.f("freezer/c1/notify_on_release"), "1\n");
  EXPECT_EQ(t.f("memory/caller/c1/memory.limit_in_bytes"), "16777216\n");
  // No memsw file on this fake kernel: swap accounting is absent, and a swap beyond the
  // limit is refused below; here memsw exists only when the test creates it.
  EXPECT_EQ(t.f("memory/caller/c1/memory.soft_limit_in_bytes"), "8388608\n");
  EXPECT_EQ(t.f("memory/caller/c1/memory.swappiness"), "10\n");
  EXPECT_EQ(t.f("memory/caller/c1/memory.oom_control"), "1\n");
  EXPECT_EQ(t.f("cpu/c1/cpu.shares"), "1024\n");
  EXPECT_EQ(t.f("cpu/c1/cpu.cfs_period_us"), "100000\n");
  EXPECT_EQ(t.f("cpu/c1/cpu.cfs_quota_us"), "20000\n");
  // cpuset copied down from the parent first, then the spec's values.
  EXPECT_EQ(t.f("cpuset/c1/cpuset.cpus"), "0-1\n0\n");
  EXPECT_EQ(t.f("cpuset/c1/cpuset.mems"), "0\n0\n");
  EXPECT_EQ(t.f("pids/c1/pids.max"), "32\n");
  EXPECT_EQ(t.f("blkio/c1/blkio.weight"), "500\n");
  EXPECT_EQ(t.f("blkio/c1/blkio.weight_device"), "8:0 300\n");
  EXPECT_EQ(t.f("blkio/c1/blkio.throttle.read_bps_device"), "8:0 1048576\n");
  EXPECT_EQ(t.f("blkio/c1/blkio.throttle.write_iops_device"), "8:16 100\n");
  EXPECT_EQ(t.f("hugetlb/c1/hugetlb.2MB.limit_in_bytes"), "4194304\n");
  // Deny all, the spec's allow, linux.devices, then runc's default set.
  EXPECT_EQ(t.f("devices/c1/devices.deny"), "a\n");
  EXPECT_EQ(t.f("devices/c1/devices.allow"),
            "c 10:229 rw\nc 10:229 rwm\nc *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\n"
            "c 5:0 rwm\nc 1:5 rwm\nc 1:9 rwm\nc 5:1 rwm\nc 136:* rwm\nc 5:2 rwm\nc 10:200 rwm\n");

  ASSERT_TRUE((*m)->add_pid(4242));
  EXPECT_EQ(t.f("memory/caller/c1/cgroup.procs"), "4242\n");
  EXPECT_EQ(t.f("unified/c1/cgroup.procs"), "4242\n");

  // Reopened from state.json, it finds the same directories and removes them all.
  auto again = load_manager((*m)->to_json());
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_TRUE((*again)->freeze(true));
  EXPECT_EQ(t.f("freezer/c1/freezer.state"), "FROZEN\n");
  ASSERT_TRUE((*again)->destroy());
  for (const char* d : {"memory/caller/c1", "cpu/c1", "devices/c1", "unified/c1"})
    EXPECT_FALSE(fs::exists(t.tmp.path() + "/" + d)) << d;
  EXPECT_TRUE(fs::exists(t.tmp.path() + "/memory/caller"));
}

TEST(CgroupV1, SwapOrderAndAccounting) {
  FakeV1 t;
  auto m = make_manager({"c2", "/abs/c2", false, {}}, t.layout);
  ASSERT_TRUE(m);
  ASSERT_TRUE((*m)->create(nullptr));
  // Absolute: not nested under the caller's memory cgroup.
  std::string dir = t.tmp.path() + "/memory/abs/c2";
  ASSERT_TRUE(fs::exists(dir));
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 16 << 20;
  r.memory->swap = 64 << 20;
  auto no_memsw = (*m)->apply(r);
  ASSERT_FALSE(no_memsw);
  EXPECT_NE(no_memsw.error().message.find("swap accounting"), std::string::npos);
  put(dir + "/memory.memsw.limit_in_bytes", "");
  ASSERT_TRUE((*m)->apply(r));
  EXPECT_EQ(read(dir + "/memory.memsw.limit_in_bytes"), "67108864\n");
  oci::Resources pids;
  pids.pids_limit = -1;
  ASSERT_TRUE((*m)->apply(pids));
  EXPECT_EQ(t.f("pids/abs/c2/pids.max"), "max\n");
  oci::Resources unified;
  unified.unified["memory.high"] = "1";
  EXPECT_FALSE((*m)->apply(unified));
  ASSERT_TRUE((*m)->destroy());
  EXPECT_FALSE(fs::exists(t.tmp.path() + "/memory/abs"));
}

// A cgroupsPath of new levels: every parent create() must make is handed to the note
// before it exists, so that a process killed among the mkdirs leaves nothing the noted
// state's destroy() misses.
TEST(CgroupV1, ParentsAreNotedBeforeTheyAreMade) {
  FakeV1 t;
  auto m = make_manager({"c9", "/new/level/c9", false, {}}, t.layout);
  ASSERT_TRUE(m);
  std::vector<Json> notes;
  ASSERT_TRUE((*m)->create(nullptr, [&](const Json& j) -> Status {
    // Those this note adds to the last one are not made yet.
    size_t known = notes.empty() ? 0 : notes.back().at("created").size();
    for (size_t i = known; i < j.at("created").size(); ++i)
      EXPECT_FALSE(fs::exists(j.at("created")[i].get<std::string>())) << j.dump();
    notes.push_back(j);
    return {};
  }));
  ASSERT_FALSE(notes.empty());
  const std::string cpu_parent = t.tmp.path() + "/cpu/new";
  EXPECT_TRUE(fs::exists(cpu_parent + "/level/c9"));
  bool named = false;
  for (const auto& n : notes)
    for (const auto& d : n.at("created")) named |= d.get<std::string>() == cpu_parent;
  EXPECT_TRUE(named) << notes.back().dump();
  // What a killed create leaves, destroyed from its last note: nothing of it stays.
  auto saved = load_manager(notes.back());
  ASSERT_TRUE(saved) << saved.error().message;
  ASSERT_TRUE((*saved)->destroy());
  EXPECT_FALSE(fs::exists(cpu_parent));
  EXPECT_FALSE(fs::exists(t.tmp.path() + "/memory/new"));
}

TEST(CgroupV1, MissingControllerIsNamed) {
  TempDir tmp;
  Layout l;
  l.fake = true;
  l.v1.push_back({{"memory"}, tmp.path(), "/"});
  auto m = make_manager({"c3", "", false, {}}, l);
  ASSERT_TRUE(m);
  oci::Resources r;
  r.pids_limit = 10;
  auto e = (*m)->create(&r);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "linux.resources.pids: the cgroup v1 \"pids\" controller is not mounted");
  EXPECT_FALSE(fs::exists(tmp.path() + "/c3")) << "a failed create leaves nothing";
}

TEST(CgroupV1, StatsFromControlFiles) {
  FakeV1 t;
  auto m = make_manager({"s1", "", false, {}}, t.layout);
  ASSERT_TRUE(m);
  ASSERT_TRUE((*m)->create(nullptr));
  std::string mem = t.tmp.path() + "/memory/caller/s1/";
  put(mem + "memory.usage_in_bytes", "4096\n");
  put(mem + "memory.limit_in_bytes", "16777216\n");
  put(mem + "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  put(t.tmp.path() + "/pids/s1/pids.current", "3\n");
  put(t.tmp.path() + "/pids/s1/pids.max", "max\n");
  put(t.tmp.path() + "/cpuacct/s1/cpuacct.usage", "123456\n");
  put(t.tmp.path() + "/cpuacct/s1/cpuacct.usage_user", "100000\n");
  put(t.tmp.path() + "/cpuacct/s1/cpuacct.usage_sys", "23456\n");
  put(t.tmp.path() + "/cpu/s1/cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 99\n");
  put(mem + "memory.stat", "cache 8192\nrss 4096\ntotal_inactive_file 512\n");
  put(mem + "memory.kmem.usage_in_bytes", "1024\n");
  put(t.tmp.path() + "/cpuacct/s1/cpuacct.usage_percpu_sys", "5 6\n");
  auto s = (*m)->stats();
  ASSERT_TRUE(s);
  EXPECT_EQ(*(*m)->oom_kill_count(), 2u);
  Json j = s->to_json();
  EXPECT_EQ(j["memory"]["usage"]["usage"], 4096);
  EXPECT_EQ(j["memory"]["usage"]["limit"], 16777216);
  EXPECT_EQ(j["pids"]["current"], 3);
  EXPECT_EQ(j["pids"]["limit"], 0);
  EXPECT_EQ(j["cpu"]["usage"]["total"], 123456);
  EXPECT_EQ(j["cpu"]["usage"]["kernel"], 23456);
  EXPECT_EQ(j["cpu"]["throttling"]["throttledPeriods"], 4);
  // runc's fields beyond the usual: memory.stat as raw, kmem, per-cpu kernel time
  EXPECT_EQ(j["memory"]["raw"]["total_inactive_file"], 512);
  EXPECT_EQ(j["memory"]["cache"], 8192);
  EXPECT_EQ(j["memory"]["kernel"]["usage"], 1024);
  EXPECT_EQ(j["cpu"]["usage"]["percpu_kernel"], Json::array({5, 6}));
  EXPECT_TRUE(j["intel_rdt"].is_object());
  EXPECT_TRUE(j.contains("network_interfaces"));
  ASSERT_TRUE((*m)->destroy());
}

struct FakeV2 {
  TempDir tmp;
  Layout layout;
  FakeV2() {
    layout.fake = true;
    layout.unified = tmp.path();
    layout.unified_own = "/user";
    ::mkdir((tmp.path() + "/user").c_str(), 0755);
    put(tmp.path() + "/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
    put(tmp.path() + "/cgroup.subtree_control", "memory pids\n");
    put(tmp.path() + "/user/cgroup.controllers", "cpu memory pids\n");
    put(tmp.path() + "/user/cgroup.subtree_control", "");
  }
  std::string f(const std::string& rel) const { return read(tmp.path() + "/" + rel); }
};

TEST(CgroupV2, CreateWritesConvertedValues) {
  FakeV2 t;
  auto m = make_manager({"c1", "", false, {}}, t.layout);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ((*m)->kind(), Kind::v2);
  EXPECT_EQ((*m)->path(), "/user/c1");
  auto res = full_resources();
  res.memory->swappiness.reset();
  res.memory->disable_oom_killer.reset();
  res.unified["memory.high"] = "12582912";
  auto r = (*m)->create(&res);
  ASSERT_TRUE(r) << r.error().message;
  // Controllers the parents have but have not delegated yet, one write each.
  EXPECT_EQ(t.f("cgroup.subtree_control"), "memory pids\n+cpuset\n+cpu\n+io\n+hugetlb\n");
  EXPECT_EQ(t.f("user/cgroup.subtree_control"), "+cpu\n+memory\n+pids\n");
  const std::string c = "user/c1/";
  EXPECT_EQ(t.f(c + "memory.max"), "16777216\n");
  EXPECT_EQ(t.f(c + "memory.swap.max"), "16777216\n");  // 32 MiB memory+swap - 16 MiB
  EXPECT_EQ(t.f(c + "memory.low"), "8388608\n");
  EXPECT_EQ(t.f(c + "memory.high"), "12582912\n");
  EXPECT_EQ(t.f(c + "cpu.weight"), "39\n");
  EXPECT_EQ(t.f(c + "cpu.max"), "20000 100000\n");
  EXPECT_EQ(t.f(c + "cpuset.cpus"), "0\n");
  EXPECT_EQ(t.f(c + "cpuset.mems"), "0\n");
  EXPECT_EQ(t.f(c + "pids.max"), "32\n");
  EXPECT_EQ(t.f(c + "io.weight"), "4950\n8:0 2930\n");
  EXPECT_EQ(t.f(c + "io.max"), "8:0 rbps=1048576\n8:16 wiops=100\n");
  EXPECT_EQ(t.f(c + "hugetlb.2MB.max"), "4194304\n");
  EXPECT_EQ(t.f(c + "devices.bpf"), "77\n");  // 14 rules: 6 + 9*5 + 4 + 2*6 + 8 + 2
  EXPECT_FALSE(fs::exists(t.tmp.path() + "/" + c + "memory.swappiness"));

  ASSERT_TRUE((*m)->freeze(true));
  EXPECT_TRUE(*(*m)->frozen());
  ASSERT_TRUE((*m)->freeze(false));
  EXPECT_FALSE(*(*m)->frozen());
  put(t.tmp.path() + "/" + c + "memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n");
  EXPECT_EQ(*(*m)->oom_kill_count(), 1u);

  auto again = load_manager((*m)->to_json());
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->path(), "/user/c1");
  ASSERT_TRUE((*again)->destroy());
  EXPECT_FALSE(fs::exists(t.tmp.path() + "/user/c1"));
}

TEST(CgroupV2, ParentsAreNotedBeforeTheyAreMade) {
  FakeV2 t;
  auto m = make_manager({"c9", "/new/level/c9", false, {}}, t.layout);
  ASSERT_TRUE(m);
  std::optional<Json> noted;
  ASSERT_TRUE((*m)->create(nullptr, [&](const Json& j) -> Status {
    EXPECT_FALSE(fs::exists(t.tmp.path() + "/new"));
    noted = j;
    return {};
  }));
  ASSERT_TRUE(noted);
  EXPECT_EQ(noted->at("created").size(), 3u) << noted->dump();
  ASSERT_TRUE(fs::exists(t.tmp.path() + "/new/level/c9"));
  auto saved = load_manager(*noted);
  ASSERT_TRUE(saved) << saved.error().message;
  ASSERT_TRUE((*saved)->destroy());
  EXPECT_FALSE(fs::exists(t.tmp.path() + "/new"));
}

TEST(CgroupV2, CpuMaxForms) {
  FakeV2 t;
  auto m = make_manager({"q", "", false, {}}, t.layout);
  ASSERT_TRUE(m);
  ASSERT_TRUE((*m)->create(nullptr));
  oci::Resources r;
  r.cpu = oci::CpuResources{};
  r.cpu->quota = -1;
  ASSERT_TRUE((*m)->apply(r));
  r.cpu->quota = 50000;
  ASSERT_TRUE((*m)->apply(r));
  r.cpu->quota.reset();
  r.cpu->period = 200000;
  ASSERT_TRUE((*m)->apply(r));
  EXPECT_EQ(t.f("user/q/cpu.max"), "max\n50000\nmax 200000\n");
  oci::Resources bad;
  bad.unified["../../etc/passwd"] = "x";
  EXPECT_FALSE((*m)->apply(bad));
  bad.unified = {{"cgroup.procs", "1"}};
  EXPECT_FALSE((*m)->apply(bad));
  oci::Resources rt;
  rt.cpu = oci::CpuResources{};
  rt.cpu->realtime_runtime = 1000;
  EXPECT_FALSE((*m)->apply(rt));
  ASSERT_TRUE((*m)->destroy());
}

TEST(CgroupExecFallback, DecisionAsRunc) {
  // Only the kernel's v2 rules (no internal processes, a threaded or invalid domain), only
  // on v2, never for an explicit --cgroup.
  EXPECT_TRUE(exec_joins_init_cgroup(Kind::v2, EBUSY, false));
  EXPECT_TRUE(exec_joins_init_cgroup(Kind::v2, EOPNOTSUPP, false));
  EXPECT_FALSE(exec_joins_init_cgroup(Kind::v2, EBUSY, true));
  EXPECT_FALSE(exec_joins_init_cgroup(Kind::v1, EBUSY, false));
  EXPECT_FALSE(exec_joins_init_cgroup(Kind::disabled, EBUSY, false));
  for (int e : {EPERM, ENOENT, EACCES, EINVAL, 0})
    EXPECT_FALSE(exec_joins_init_cgroup(Kind::v2, e, false)) << e;
}

TEST(CgroupExecFallback, InitsCgroupMustBeBelowTheContainers) {
  EXPECT_EQ(*unified_path("12:pids:/a\n0::/user/c1/init.scope\n"), "/user/c1/init.scope");
  EXPECT_EQ(unified_path("4:memory:/x\n").error().code, ENOENT);
  EXPECT_EQ(*init_sub_path("/user/c1", "/user/c1/init.scope"), "init.scope");
  EXPECT_EQ(*init_sub_path("/user/c1/", "/user/c1/a/b/"), "a/b");
  EXPECT_EQ(*init_sub_path("/", "/c1"), "c1");
  // Nothing to fall back to, or outside the container's cgroup (a sibling with the same
  // prefix, a parent, a path climbing out).
  for (auto [container, init] :
       std::vector<std::pair<const char*, const char*>>{{"/user/c1", "/user/c1"},
                                                        {"/user/c1", "/user/c10/init"},
                                                        {"/user/c1", "/user"},
                                                        {"/user/c1", "/"},
                                                        {"/user/c1", "/user/c1/../../etc"}})
    EXPECT_FALSE(init_sub_path(container, init)) << container << " " << init;
}

TEST(CgroupExecFallback, OnlyV2HasOne) {
  FakeV2 t;
  auto m = make_manager({"c1", "", false, {}}, t.layout);
  ASSERT_TRUE(m);
  ASSERT_TRUE((*m)->create(nullptr));
  // This process is not below the fake container's cgroup: no fallback into it.
  auto r = (*m)->init_cgroup(::getpid());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not below the container's cgroup"), std::string::npos)
      << r.error().message;
  ASSERT_TRUE((*m)->destroy());
  EXPECT_EQ(load_manager(Json{{"kind", "disabled"}}).value()->init_cgroup(1).error().code, ENOTSUP);
}

TEST(CgroupDisabled, RefusesLimitsButNotDeviceRules) {
  auto m = load_manager(Json{{"kind", "disabled"}});
  ASSERT_TRUE(m);
  oci::Resources devices_only;
  devices_only.devices = {{false, "", std::nullopt, std::nullopt, "rwm"}};
  EXPECT_TRUE((*m)->create(&devices_only));
  oci::Resources mem;
  mem.memory = oci::MemoryResources{};
  mem.memory->limit = 1 << 20;
  auto e = (*m)->create(&mem);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("linux.resources.memory"), std::string::npos);
  EXPECT_NE(e.error().message.find("rootless"), std::string::npos);
}

TEST(DeviceRules, V1Lines) {
  EXPECT_EQ(v1_device_line({false, "a", std::nullopt, std::nullopt, "rwm"})->line, "a");
  EXPECT_EQ(v1_device_line({false, "a", std::nullopt, std::nullopt, "rwm"})->file, "devices.deny");
  EXPECT_EQ(v1_device_line({true, "b", 8, std::nullopt, "r"})->line, "b 8:* r");
  EXPECT_EQ(v1_device_line({true, "", std::nullopt, std::nullopt, "m"})->line, "a *:* m");
  EXPECT_FALSE(v1_device_line({true, "x", 1, 1, "r"}));
  EXPECT_FALSE(v1_device_line({true, "c", 1, 1, "rx"}));
}

TEST(DeviceProgram, ExactInstructions) {
  // deny all, then allow c 1:3 rw: emitted last rule first; the catch-all deny is the
  // unconditional end.
  auto p =
      device_program({{false, "a", std::nullopt, std::nullopt, "rwm"}, {true, "c", 1, 3, "rw"}});
  ASSERT_TRUE(p) << p.error().message;
  struct I {
    uint8_t code, dst, src;
    int16_t off;
    int32_t imm;
  };
  const I want[] = {
      {BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0},  // r2 = ctx->access_type
      {BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff},
      {BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0},
      {BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16},
      {BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0},  // major
      {BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0},  // minor
      // allow c 1:3 rw
      {BPF_JMP | BPF_JNE | BPF_K, 2, 0, 7, BPF_DEVCG_DEV_CHAR},
      {BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0},
      {BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE},
      {BPF_JMP | BPF_JNE | BPF_X, 1, 3, 4, 0},
      {BPF_JMP | BPF_JNE | BPF_K, 4, 0, 3, 1},
      {BPF_JMP | BPF_JNE | BPF_K, 5, 0, 2, 3},
      {BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, 1},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
      // deny a *:* rwm, unconditional: no default block after it
      {BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  ASSERT_EQ(p->size(), std::size(want));
  for (size_t i = 0; i < p->size(); ++i) {
    const auto& g = (*p)[i];
    EXPECT_EQ(g.code, want[i].code) << i;
    EXPECT_EQ(g.dst_reg, want[i].dst) << i;
    EXPECT_EQ(g.src_reg, want[i].src) << i;
    EXPECT_EQ(g.off, want[i].off) << i;
    EXPECT_EQ(g.imm, want[i].imm) << i;
  }
}

TEST(DeviceProgram, DenyRuleMatchesAnyAccessAndDefaultDenies) {
  auto p = device_program({{false, "b", 8, 0, "w"}});
  ASSERT_TRUE(p);
  // prologue 6 + type check + 3 access + major + minor + mov + exit + default 2
  ASSERT_EQ(p->size(), 16u);
  EXPECT_EQ((*p)[9].code, BPF_JMP | BPF_JEQ | BPF_K);  // no requested access denied: skip
  EXPECT_EQ((*p)[6].imm, BPF_DEVCG_DEV_BLOCK);
  EXPECT_EQ((*p)[14].imm, 0);  // nothing matched: deny
  EXPECT_FALSE(device_program({{true, "c", 1, 3, "rq"}}));
}

TEST(DeviceProgram, LoadsIntoTheKernelAsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  TempDir tmp;
  // The host's cgroup2 tree, where a device program can attach even without controllers.
  auto l = host_layout();
  if (!l || l->unified.empty()) GTEST_SKIP() << "no cgroup2 tree";
  std::string dir = l->unified + "/hull-unit-devtest-" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  auto rules = device_rules({{false, "a", std::nullopt, std::nullopt, "rwm"}}, {});
  auto p = device_program(rules);
  ASSERT_TRUE(p);
  auto fd = fs::open_dir(dir);
  ASSERT_TRUE(fd);
  auto r = attach_device_program(fd->get(), *p);
  EXPECT_TRUE(r) << r.error().message;
  // Attach again: the old program is replaced, not stacked.
  r = attach_device_program(fd->get(), *p);
  EXPECT_TRUE(r) << r.error().message;
  fd->reset();
  EXPECT_EQ(::rmdir(dir.c_str()), 0);
}

}  // namespace
}  // namespace hull::cgroups

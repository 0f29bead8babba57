// `hull update`: docker's checks (plan_update), and the whole of Engine::update on a fake
// cgroup v2 tree: the runtime's update writes the converted v2 files, config.json and the
// record keep the new values, and inspect shows them.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroups/manager.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "engine/engine.hpp"
#include "engine/present.hpp"
#include "engine/update.hpp"
#include "runtime/state.hpp"
#include "temp_dir.hpp"

namespace hull::engine {
namespace {

constexpr int64_t kMiB = 1 << 20;

UpdateRequest request(const UpdateOptions& o) {
  auto u = parse_update(o);
  EXPECT_TRUE(u) << u.error().message;
  return u ? *u : UpdateRequest{};
}

oci::Resources limits(int64_t memory, int64_t swap) {
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = memory;
  r.memory->swap = swap;
  return r;
}

std::string plan_error(const UpdateOptions& o, const oci::Resources& current = {},
                       const ContainerConfig& c = {}, std::optional<uint64_t> usage = {}) {
  auto p = plan_update(request(o), current, c, usage);
  return p ? "<no error>" : p.error().message;
}

TEST(EngineUpdate, ParseNamesTheFlag) {
  for (auto [o, flag] : std::vector<std::pair<UpdateOptions, std::string>>{
           {{.memory = "lots"}, "--memory"},
           {{.memory_swap = "1x"}, "--memory-swap"},
           {{.memory_reservation = "-"}, "--memory-reservation"},
           {{.cpus = "0"}, "--cpus"},
           {{.cpu_shares = "many"}, "--cpu-shares"},
           {{.cpu_quota = "1.5"}, "--cpu-quota"},
           {{.cpu_period = "x"}, "--cpu-period"},
           {{.cpuset_cpus = "3-1"}, "--cpuset-cpus"},
           {{.cpuset_mems = "a"}, "--cpuset-mems"},
           {{.pids_limit = "ten"}, "--pids-limit"},
           {{.blkio_weight = "heavy"}, "--blkio-weight"},
           {{.restart = "sometimes"}, "--restart"},
       }) {
    auto u = parse_update(o);
    ASSERT_FALSE(u) << flag;
    EXPECT_NE(u.error().message.find(flag), std::string::npos) << u.error().message;
  }
  EXPECT_TRUE(parse_update({})->empty());
  EXPECT_FALSE(parse_update({.restart = "no"})->empty());
  EXPECT_EQ(*parse_update({.memory_swap = "-1"})->memory_swap, -1);
}

TEST(EngineUpdate, DockersChecks) {
  EXPECT_NE(plan_error({.memory = "5m"}).find("--memory \"5m\": the minimum is 6MB"),
            std::string::npos);
  EXPECT_NE(plan_error({.memory_reservation = "1m"}).find("--memory-reservation"),
            std::string::npos);
  // memory+swap below memory, in one update or against the current limit.
  EXPECT_NE(plan_error({.memory = "64m", .memory_swap = "32m"}).find("at least the memory limit"),
            std::string::npos);
  EXPECT_NE(plan_error({.memory_swap = "32m"}, limits(64 * kMiB, 128 * kMiB))
                .find("at least the memory limit"),
            std::string::npos);
  EXPECT_NE(plan_error({.memory_swap = "32m"}).find("needs a memory limit"), std::string::npos);
  // A memory limit above the current memory+swap needs a new one with it (docker).
  EXPECT_NE(plan_error({.memory = "200m"}, limits(64 * kMiB, 128 * kMiB))
                .find("above the container's memory+swap limit"),
            std::string::npos);
  EXPECT_NE(plan_error({.memory = "10m"}, {}, {}, 20 * kMiB).find("current memory usage"),
            std::string::npos);
  auto with_reservation = limits(64 * kMiB, 128 * kMiB);
  with_reservation.memory->reservation = 32 * kMiB;
  EXPECT_NE(plan_error({.memory = "16m"}, with_reservation).find("below the memory reservation"),
            std::string::npos);
  EXPECT_NE(plan_error({.memory_reservation = "100m"}, with_reservation).find("above the memory"),
            std::string::npos);
  EXPECT_NE(plan_error({.cpu_quota = "500"}).find("--cpu-quota 500"), std::string::npos);
  EXPECT_NE(plan_error({.cpu_period = "2000000"}).find("--cpu-period"), std::string::npos);
  EXPECT_NE(plan_error({.cpu_shares = "1"}).find("--cpu-shares"), std::string::npos);
  EXPECT_NE(plan_error({.blkio_weight = "5"}).find("--blkio-weight"), std::string::npos);
  // --cpus and the CFS flags do not mix: in one update, or over an earlier one.
  EXPECT_NE(plan_error({.cpus = "1", .cpu_quota = "50000"}).find("conflicting"), std::string::npos);
  oci::Resources by_cpus;
  by_cpus.cpu.emplace();
  by_cpus.cpu->quota = 150000;
  by_cpus.cpu->period = 100000;
  EXPECT_NE(plan_error({.cpu_period = "50000"}, by_cpus).find("--cpus has already been set"),
            std::string::npos);
  ContainerConfig cfs;
  cfs.cpu_cfs = true;
  EXPECT_NE(plan_error({.cpus = "2"}, by_cpus, cfs).find("--cpu-quota or --cpu-period has"),
            std::string::npos);
  ContainerConfig rm;
  rm.auto_remove = true;
  EXPECT_NE(plan_error({.restart = "always"}, {}, rm).find("AutoRemove"), std::string::npos);
  EXPECT_EQ(plan_error({.restart = "no"}, {}, rm), "<no error>");
}

TEST(EngineUpdate, PlanKeepsWhatItDoesNotChange) {
  oci::Resources current = limits(64 * kMiB, 128 * kMiB);
  current.pids_limit = 10;
  current.devices = {oci::DeviceRule{false, "a", {}, {}, "rwm"}};
  auto p = plan_update(request({.memory = "96m", .pids_limit = "0", .restart = "on-failure:3"}),
                       current, {});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->resources_changed && p->config_changed);
  // The change alone (the runtime merges it over what it applied), and the whole after it.
  EXPECT_EQ(*p->changes.memory->limit, 96 * kMiB);
  EXPECT_FALSE(p->changes.memory->swap);  // 96m fits under the 128m memory+swap
  EXPECT_TRUE(p->changes.devices.empty());
  EXPECT_EQ(*p->changes.pids_limit, -1);  // 0: no limit, as docker
  EXPECT_EQ(*p->merged.memory->limit, 96 * kMiB);
  EXPECT_EQ(*p->merged.memory->swap, 128 * kMiB);
  EXPECT_EQ(p->merged.devices, current.devices);
  EXPECT_EQ(restart_policy_name(p->config.restart), "on-failure:3");
  // No memory+swap limit yet: twice the memory, as `run -m` sets it.
  auto fresh = plan_update(request({.memory = "32m"}), {}, {});
  ASSERT_TRUE(fresh);
  EXPECT_EQ(*fresh->changes.memory->swap, 64 * kMiB);
  // --cpus is a quota per 100 ms; --cpu-quota marks the record (inspect's CpuQuota).
  auto cpus = plan_update(request({.cpus = "1.5"}), {}, {});
  ASSERT_TRUE(cpus);
  EXPECT_EQ(*cpus->changes.cpu->quota, 150000);
  EXPECT_EQ(*cpus->changes.cpu->period, 100000u);
  EXPECT_FALSE(cpus->config.cpu_cfs);
  auto cfs = plan_update(request({.cpu_quota = "-1"}), {}, {});
  ASSERT_TRUE(cfs);
  EXPECT_TRUE(cfs->config.cpu_cfs && cfs->config_changed);
  auto restart_only = plan_update(request({.restart = "always"}), current, {});
  ASSERT_TRUE(restart_only);
  EXPECT_FALSE(restart_only->resources_changed);
}

// A fake cgroup v2 tree (control files made on write, every write a line).
struct FakeV2 {
  test::TempDir tmp{"hull-update-cg"};
  cgroups::Layout layout;
  FakeV2() {
    layout.fake = true;
    layout.unified = tmp.path;
    layout.unified_own = "/";
    EXPECT_TRUE(fs::write_file(tmp.path + "/cgroup.controllers", "cpuset cpu io memory pids\n"));
    EXPECT_TRUE(fs::write_file(tmp.path + "/cgroup.subtree_control", ""));
  }
  // The last value written to a control file of the container's cgroup.
  std::string last(const std::string& id, const std::string& file) const {
    auto text = fs::read_file(tmp.path + "/" + id + "/" + file);
    if (!text) return "<missing>";
    std::string value;
    for (auto line : split(*text, '\n'))
      if (!line.empty()) value = line;
    return value;
  }
};

TEST(EngineUpdate, RunningContainerOnCgroupV2) {
  FakeV2 cg;
  test::TempDir root{"hull-update-root"}, run_root{"hull-update-run"};
  auto e = Engine::open(root.path, run_root.path);
  ASSERT_TRUE(e) << e.error().message;
  // A running container: its init is this process (alive, so the runtime's update takes
  // it), its cgroup on the fake tree.
  Container c;
  c.config.id = new_container_id();
  c.config.name = "limited";
  c.config.rootfs_dir = "/";
  c.state.status = ContainerStatus::running;
  c.state.pid = ::getpid();
  ASSERT_TRUE(e->db().insert(c));
  oci::Spec spec = oci::default_spec(false);
  spec.linux.resources = limits(64 * kMiB, 128 * kMiB);
  spec.linux.resources->pids_limit = 10;
  ASSERT_EQ(::mkdir(e->container_dir(c.config.id).c_str(), 0700), 0);
  ASSERT_TRUE(
      fs::write_file(e->container_dir(c.config.id) + "/config.json", oci::to_json(spec).dump()));
  auto m = cgroups::make_manager({c.config.id, "", false, {}}, cg.layout);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE((*m)->create(&*spec.linux.resources));
  runtime::State st;
  st.id = c.config.id;
  st.pid = ::getpid();
  st.pid_start_time = *runtime::process_start_time(::getpid());
  st.cgroup = (*m)->to_json();
  st.resources = oci::to_json(*spec.linux.resources);
  ASSERT_TRUE(e->store().create_dir(c.config.id));
  ASSERT_TRUE(e->store().save(st));

  auto u = request({.memory = "96m",
                    .memory_swap = "256m",
                    .cpus = "0.5",
                    .cpu_shares = "512",
                    .pids_limit = "50",
                    .blkio_weight = "500",
                    .restart = "unless-stopped"});
  auto r = e->update("limited", u);
  ASSERT_TRUE(r) << r.error().message;
  // The v2 files, converted as runc converts (memory.swap.max is swap alone).
  const std::string& id = c.config.id;
  EXPECT_EQ(cg.last(id, "memory.max"), std::to_string(96 * kMiB));
  EXPECT_EQ(cg.last(id, "memory.swap.max"), std::to_string(160 * kMiB));
  EXPECT_EQ(cg.last(id, "pids.max"), "50");
  EXPECT_EQ(cg.last(id, "cpu.max"), "50000 100000");
  EXPECT_EQ(cg.last(id, "cpu.weight"), std::to_string(cgroups::shares_to_weight(512)));
  EXPECT_EQ(cg.last(id, "io.weight"), std::to_string(cgroups::blkio_weight_to_io_weight(500)));
  // Kept: config.json for the next start, state.json for the next runtime update.
  auto saved = e->load_spec(id);
  ASSERT_TRUE(saved);
  EXPECT_EQ(*saved->linux.resources->memory->limit, 96 * kMiB);
  EXPECT_EQ(*saved->linux.resources->pids_limit, 50);
  EXPECT_EQ(e->store().load(id)->resources["pids"]["limit"], 50);
  // inspect's HostConfig.
  auto found = e->find("limited");
  ASSERT_TRUE(found);
  Json hc = inspect_json(*e, *found)["HostConfig"];
  EXPECT_EQ(hc["Memory"], 96 * kMiB);
  EXPECT_EQ(hc["MemorySwap"], 256 * kMiB);
  EXPECT_EQ(hc["NanoCpus"], 500000000);
  EXPECT_EQ(hc["CpuShares"], 512);
  EXPECT_EQ(hc["PidsLimit"], 50);
  EXPECT_EQ(hc["BlkioWeight"], 500);
  EXPECT_EQ(hc["RestartPolicy"]["Name"], "unless-stopped");

  // A refused update changes nothing.
  EXPECT_FALSE(e->update("limited", request({.memory = "4m"})));
  EXPECT_EQ(cg.last(id, "memory.max"), std::to_string(96 * kMiB));
  EXPECT_EQ(*e->load_spec(id)->linux.resources->memory->limit, 96 * kMiB);
  auto missing = e->update("nosuch", request({.memory = "64m"}));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nosuch"), std::string::npos) << missing.error().message;
  ASSERT_TRUE((*m)->destroy());
}

}  // namespace
}  // namespace hull::engine

#include "engine/update.hpp"

#include <fcntl.h>

#include <cmath>

#include "cgroups/manager.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/userns.hpp"
#include "engine/engine.hpp"
#include "engine/rootless.hpp"
#include "engine/spec_builder.hpp"
#include "runtime/control.hpp"

namespace hull::engine {
namespace {

Result<int64_t> integer(const char* flag, const std::string& text) {
  auto v = parse_int<int64_t>(trim(text));
  if (!v) return failf("invalid {} \"{}\": not an integer", flag, text);
  return *v;
}

Status in_range(const char* flag, int64_t v, int64_t lo, int64_t hi, std::string_view what) {
  if (v < lo || v > hi) return failf("invalid {} {}: {}", flag, v, what);
  return {};
}

}  // namespace

bool UpdateRequest::empty() const {
  return !memory && !memory_swap && !memory_reservation && !cpus && !cpu_shares && !cpu_quota &&
         !cpu_period && !pids_limit && !blkio_weight && cpuset_cpus.empty() &&
         cpuset_mems.empty() && !restart;
}

Result<UpdateRequest> parse_update(const UpdateOptions& o) {
  UpdateRequest u;
  u.typed = o;
  if (!o.memory.empty()) u.memory = HULL_TRY(parse_size(o.memory, "--memory"));
  if (!o.memory_swap.empty())
    u.memory_swap =
        trim(o.memory_swap) == "-1" ? -1 : HULL_TRY(parse_size(o.memory_swap, "--memory-swap"));
  if (!o.memory_reservation.empty())
    u.memory_reservation = HULL_TRY(parse_size(o.memory_reservation, "--memory-reservation"));
  if (!o.cpus.empty()) u.cpus = HULL_TRY(parse_cpus(o.cpus));
  if (!o.cpu_shares.empty()) u.cpu_shares = HULL_TRY(integer("--cpu-shares", o.cpu_shares));
  if (!o.cpu_quota.empty()) u.cpu_quota = HULL_TRY(integer("--cpu-quota", o.cpu_quota));
  if (!o.cpu_period.empty()) u.cpu_period = HULL_TRY(integer("--cpu-period", o.cpu_period));
  if (!o.pids_limit.empty()) u.pids_limit = HULL_TRY(integer("--pids-limit", o.pids_limit));
  if (!o.blkio_weight.empty()) u.blkio_weight = HULL_TRY(integer("--blkio-weight", o.blkio_weight));
  for (auto [flag, text, out] : {std::tuple{"--cpuset-cpus", &o.cpuset_cpus, &u.cpuset_cpus},
                                 {"--cpuset-mems", &o.cpuset_mems, &u.cpuset_mems}}) {
    if (text->empty()) continue;
    if (!valid_cpuset(*text))
      return failf("invalid {} \"{}\": use a list such as 0-2,4", flag, *text);
    *out = *text;
  }
  if (!o.restart.empty()) {
    auto p = parse_restart_policy(o.restart);
    if (!p) return failf("invalid --restart \"{}\": {}", o.restart, p.error().message);
    u.restart = *p;
  }
  return u;
}

Result<UpdatePlan> plan_update(const UpdateRequest& u, const oci::Resources& current,
                               const ContainerConfig& config,
                               std::optional<uint64_t> memory_usage) {
  const UpdateOptions& t = u.typed;
  UpdatePlan plan;
  plan.config = config;
  oci::Resources& r = plan.changes;
  auto mem = [&]() -> oci::MemoryResources& {
    if (!r.memory) r.memory.emplace();
    return *r.memory;
  };
  auto cpu = [&]() -> oci::CpuResources& {
    if (!r.cpu) r.cpu.emplace();
    return *r.cpu;
  };
  const oci::MemoryResources cur_mem = current.memory.value_or(oci::MemoryResources{});
  const oci::CpuResources cur_cpu = current.cpu.value_or(oci::CpuResources{});

  // Memory: limit, memory+swap and reservation, each checked against the others' values
  // after the update.
  if (u.memory && *u.memory < kMinMemory)
    return failf("invalid --memory \"{}\": the minimum is 6MB", t.memory);
  if (u.memory_reservation && *u.memory_reservation < kMinMemory)
    return failf("invalid --memory-reservation \"{}\": the minimum is 6MB", t.memory_reservation);
  const int64_t limit = u.memory.value_or(cur_mem.limit.value_or(0));
  std::optional<int64_t> swap = u.memory_swap;
  if (swap && *swap != -1) {
    if (limit <= 0)
      return failf("--memory-swap \"{}\" needs a memory limit: set --memory too", t.memory_swap);
    if (*swap < limit)
      return failf(
          "invalid --memory-swap \"{}\": must be at least the memory limit ({} bytes; it is "
          "memory plus swap)",
          t.memory_swap, limit);
  } else if (!swap && u.memory) {
    const int64_t cur_swap = cur_mem.swap.value_or(0);
    if (cur_swap > 0 && *u.memory > cur_swap)
      return failf(
          "--memory \"{}\" is above the container's memory+swap limit ({} bytes): set "
          "--memory-swap with it",
          t.memory, cur_swap);
    // No memory+swap limit yet: as `run -m` sets one, twice the memory.
    if (cur_swap == 0) swap = *u.memory > INT64_MAX / 2 ? -1 : 2 * *u.memory;
  }
  const int64_t reservation = u.memory_reservation.value_or(cur_mem.reservation.value_or(0));
  if (limit > 0 && reservation > limit) {
    if (u.memory_reservation)
      return failf("--memory-reservation \"{}\" is above the memory limit ({} bytes)",
                   t.memory_reservation, limit);
    return failf(
        "--memory \"{}\" is below the memory reservation ({} bytes): lower "
        "--memory-reservation with it",
        t.memory, reservation);
  }
  if (u.memory && memory_usage && static_cast<uint64_t>(*u.memory) < *memory_usage)
    return failf("--memory \"{}\" is below the container's current memory usage ({} bytes)",
                 t.memory, *memory_usage);
  if (u.memory) mem().limit = *u.memory;
  if (swap) mem().swap = *swap;
  if (u.memory_reservation) mem().reservation = *u.memory_reservation;

  // CPU: --cpus is docker's NanoCpus (quota per 100 ms period), --cpu-quota and
  // --cpu-period its CpuQuota and CpuPeriod; docker refuses to mix them.
  const bool cfs_flags = u.cpu_quota || u.cpu_period;
  if (u.cpus && cfs_flags)
    return fail("conflicting options: --cpus and --cpu-quota/--cpu-period cannot both be set");
  const bool cur_limited = cur_cpu.quota.value_or(0) > 0;
  if (u.cpus && config.cpu_cfs && (cur_limited || cur_cpu.period.value_or(0) > 0))
    return fail(
        "conflicting options: --cpus cannot be updated as --cpu-quota or --cpu-period has "
        "already been set");
  if (cfs_flags && !config.cpu_cfs && cur_limited)
    return fail(
        "conflicting options: --cpu-quota and --cpu-period cannot be updated as --cpus has "
        "already been set");
  if (u.cpu_quota && *u.cpu_quota != -1 && *u.cpu_quota < 1000)
    return failf("invalid --cpu-quota {}: use -1 (no limit) or at least 1000 (1 ms)", *u.cpu_quota);
  if (u.cpu_period)
    HULL_CHECK(in_range("--cpu-period", *u.cpu_period, 1000, 1000000,
                        "use 1000 to 1000000 (1 ms to 1 s)"));
  if (u.cpu_shares)
    HULL_CHECK(in_range("--cpu-shares", *u.cpu_shares, 2, 262144, "use 2 to 262144"));
  if (u.cpus) {
    cpu().period = 100000;
    cpu().quota = static_cast<int64_t>(std::llround(*u.cpus * 100000));
    plan.config.cpu_cfs = false;
  }
  if (u.cpu_quota) cpu().quota = *u.cpu_quota;
  if (u.cpu_period) cpu().period = static_cast<uint64_t>(*u.cpu_period);
  if (cfs_flags) plan.config.cpu_cfs = true;
  if (u.cpu_shares) cpu().shares = static_cast<uint64_t>(*u.cpu_shares);
  if (!u.cpuset_cpus.empty()) cpu().cpus = u.cpuset_cpus;
  if (!u.cpuset_mems.empty()) cpu().mems = u.cpuset_mems;

  // docker: 0 or a negative number is no limit.
  if (u.pids_limit) r.pids_limit = *u.pids_limit <= 0 ? -1 : *u.pids_limit;
  if (u.blkio_weight) {
    HULL_CHECK(in_range("--blkio-weight", *u.blkio_weight, 10, 1000, "use 10 to 1000"));
    r.block_io.emplace().weight = static_cast<uint16_t>(*u.blkio_weight);
  }

  if (u.restart) {
    if (config.auto_remove && u.restart->kind != RestartPolicy::Kind::no)
      return fail(
          "restart policy cannot be updated because AutoRemove (--rm) is enabled for the "
          "container");
    plan.config.restart = *u.restart;
  }
  plan.resources_changed = r.memory || r.cpu || r.pids_limit || r.block_io;
  plan.merged = runtime::merge_resources(current, r);
  plan.config_changed =
      plan.config.restart != config.restart || plan.config.cpu_cfs != config.cpu_cfs;
  return plan;
}

Status Engine::update(const std::string& ref, const UpdateRequest& u) {
  // As run refuses them (rootless::check_run): a limit needs a cgroup, which rootless hull
  // has only where one is delegated to the user.
  if (userns::running_in_user_ns() && !rootless::cgroup_delegated() &&
      (u.memory || u.memory_swap || u.memory_reservation || u.cpus || u.cpu_shares || u.cpu_quota ||
       u.cpu_period || u.pids_limit || u.blkio_weight || !u.cpuset_cpus.empty() ||
       !u.cpuset_mems.empty()))
    return fail(
        "resource limits need a cgroup, and rootless hull has none on this host (it needs "
        "cgroup v2 with a cgroup delegated to the user, e.g. systemd's Delegate=yes)");
  Container c = HULL_TRY(find(ref));
  const std::string& id = c.config.id;
  auto spec = HULL_TRY(load_spec(id));
  const oci::Resources current = spec.linux.resources.value_or(oci::Resources{});
  // A live container's limits change in its cgroup now: through its runtime state (a
  // restarting one, between two runs, has none: its next run reads config.json).
  std::optional<runtime::State> live;
  if (c.state.status == ContainerStatus::running || c.state.status == ContainerStatus::paused ||
      c.state.status == ContainerStatus::restarting)
    if (auto rs = store_.load(id); rs && store_.status_of(*rs) != runtime::ContainerStatus::stopped)
      live = std::move(*rs);
  std::optional<uint64_t> usage;
  if (live && u.memory && !live->cgroup.is_null()) {
    auto m = HULL_TRY(cgroups::load_manager(live->cgroup));
    auto st = HULL_TRY(m->stats());
    // docker's figure (its stats' usage): the inactive page cache could be reclaimed; the
    // rest (anonymous memory, tmpfs and shm files) would not fit under a lower limit.
    uint64_t used = st.memory.usage.usage, inactive = 0;
    for (const auto& [key, value] : st.memory.raw)
      if (key == "total_inactive_file" || (key == "inactive_file" && inactive == 0))
        inactive = value;
    usage = used > inactive ? used - inactive : used;
  }
  auto plan = plan_update(u, current, c.config, usage);
  if (!plan)
    return std::unexpected(plan.error().wrap(fmt::format("cannot update container {}", ref)));
  if (plan->resources_changed) {
    if (live)
      if (auto r = runtime::update(store_, id, plan->changes); !r)
        return std::unexpected(r.error().wrap(fmt::format("cannot update container {}", ref)));
    spec.linux.resources = plan->merged;
    auto dir = HULL_TRY(fs::open_dir(container_dir(id)));
    HULL_CHECK(fs::write_atomic_at(dir.get(), "config.json", oci::to_json(spec).dump(), 0644));
  }
  if (plan->config_changed) HULL_CHECK(db_.save_config(id, plan->config));
  return {};
}

}  // namespace hull::engine

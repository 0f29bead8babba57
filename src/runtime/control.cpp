#include "runtime/control.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "cgroups/manager.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

namespace hull::runtime {
namespace {

struct Opened {
  State state;
  ContainerStatus status;
  std::unique_ptr<cgroups::Manager> cgroup;
};

Result<Opened> open_container(const StateStore& store, const std::string& id) {
  Opened o;
  o.state = HULL_TRY(store.load(id));
  o.status = store.status_of(o.state);
  if (o.state.cgroup.is_null()) return failf("container {} has no cgroup", id);
  auto m = cgroups::load_manager(o.state.cgroup);
  if (!m) return std::unexpected(m.error().wrap(fmt::format("container {}", id)));
  o.cgroup = std::move(*m);
  return o;
}

}  // namespace

Status pause(const StateStore& store, const std::string& id) {
  auto c = HULL_TRY(open_container(store, id));
  // A created container's init (waiting on the exec fifo) may be frozen too, as runc and
  // crun allow; it must be resumed before it can start.
  if (c.status != ContainerStatus::running && c.status != ContainerStatus::created)
    return failf("container {} is not running: {}", id, status_name(c.status));
  HULL_CHECK(c.cgroup->freeze(true));
  // The marker is what `state` reads; written after the freeze took effect.
  if (auto r = fs::write_file(store.dir(id) + "/paused", ""); !r) {
    (void)c.cgroup->freeze(false);
    return r;
  }
  return {};
}

Status resume(const StateStore& store, const std::string& id) {
  auto c = HULL_TRY(open_container(store, id));
  if (c.status != ContainerStatus::paused)
    return failf("container {} is not paused: {}", id, status_name(c.status));
  HULL_CHECK(c.cgroup->freeze(false));
  std::string marker = store.dir(id) + "/paused";
  if (::unlink(marker.c_str()) < 0 && errno != ENOENT) return sys_failf("unlink {}", marker);
  return {};
}

oci::Resources merge_resources(const oci::Resources& base, const oci::Resources& over) {
  oci::Resources r = base;
  auto set = [](auto& dst, const auto& src) {
    if (src) dst = src;
  };
  auto set_list = [](auto& dst, const auto& src) {
    if (!src.empty()) dst = src;
  };
  set_list(r.devices, over.devices);
  if (over.memory) {
    if (!r.memory) r.memory = oci::MemoryResources{};
    auto& m = *r.memory;
    const auto& o = *over.memory;
    set(m.limit, o.limit);
    set(m.reservation, o.reservation);
    set(m.swap, o.swap);
    set(m.kernel, o.kernel);
    set(m.kernel_tcp, o.kernel_tcp);
    set(m.swappiness, o.swappiness);
    set(m.disable_oom_killer, o.disable_oom_killer);
    set(m.use_hierarchy, o.use_hierarchy);
    set(m.check_before_update, o.check_before_update);
  }
  if (over.cpu) {
    if (!r.cpu) r.cpu = oci::CpuResources{};
    auto& c = *r.cpu;
    const auto& o = *over.cpu;
    set(c.shares, o.shares);
    set(c.quota, o.quota);
    set(c.burst, o.burst);
    set(c.period, o.period);
    set(c.realtime_runtime, o.realtime_runtime);
    set(c.realtime_period, o.realtime_period);
    set_list(c.cpus, o.cpus);
    set_list(c.mems, o.mems);
    set(c.idle, o.idle);
  }
  set(r.pids_limit, over.pids_limit);
  if (over.block_io) {
    if (!r.block_io) r.block_io = oci::BlockIoResources{};
    auto& b = *r.block_io;
    const auto& o = *over.block_io;
    set(b.weight, o.weight);
    set(b.leaf_weight, o.leaf_weight);
    set_list(b.weight_device, o.weight_device);
    set_list(b.throttle_read_bps_device, o.throttle_read_bps_device);
    set_list(b.throttle_write_bps_device, o.throttle_write_bps_device);
    set_list(b.throttle_read_iops_device, o.throttle_read_iops_device);
    set_list(b.throttle_write_iops_device, o.throttle_write_iops_device);
  }
  set_list(r.hugepage_limits, over.hugepage_limits);
  for (const auto& [k, v] : over.unified) r.unified[k] = v;
  return r;
}

Status update(const StateStore& store, const std::string& id, const oci::Resources& resources) {
  auto c = HULL_TRY(open_container(store, id));
  if (c.status == ContainerStatus::stopped)
    return failf("container {} is stopped: cannot update its resources", id);
  oci::Resources saved;
  if (c.state.resources.is_object()) {
    auto parsed = oci::parse_resources(c.state.resources.dump(), "state.json resources");
    if (!parsed) return std::unexpected(parsed.error());
    saved = std::move(*parsed);
  }
  // As runc does, the whole merged set is applied, so that values that bound each other
  // (memory limit and swap, cpu quota and period) are written together and a later update
  // of one keeps the other. Device rules change only when the update names some.
  oci::Resources merged = merge_resources(saved, resources);
  oci::Resources apply = merged;
  apply.devices = resources.devices;
  HULL_CHECK(c.cgroup->apply(apply));
  c.state.resources = oci::to_json(merged);
  return store.save(c.state);
}

Result<std::vector<pid_t>> processes(const StateStore& store, const std::string& id) {
  auto c = HULL_TRY(open_container(store, id));
  if (c.status == ContainerStatus::stopped) return std::vector<pid_t>{};
  return c.cgroup->pids();
}

Result<std::string> ps_table(const std::vector<pid_t>& pids, std::vector<std::string> ps_args) {
  if (ps_args.empty()) ps_args = {"-ef"};
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return sys_fail("pipe");
  UniqueFd rd(pipe_fds[0]), wr(pipe_fds[1]);
  // Its stderr with its stdout, as runc reads ps (an error quotes what ps said).
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), STDERR_FILENO);
  std::vector<char*> argv{const_cast<char*>("ps")};
  for (auto& a : ps_args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int err = ::posix_spawnp(&pid, "ps", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) return sys_fail("exec ps (install procps)", err);
  wr.reset();
  auto read = fs::read_fd(rd.get(), "the output of ps");
  rd.reset();  // a ps still writing (past the limit) gets EPIPE instead of blocking
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return sys_fail("wait for ps");
  if (!read) return std::unexpected(read.error());
  const std::string& out = *read;
  if (WIFSIGNALED(status)) return failf("ps: killed by signal {}: {}", WTERMSIG(status), out);
  if (WEXITSTATUS(status) != 0) return failf("ps: exit status {}: {}", WEXITSTATUS(status), out);
  return filter_ps_output(out, pids);
}

Result<std::string> filter_ps_output(std::string_view output, const std::vector<pid_t>& pids) {
  auto fields = [](std::string_view line) {
    std::vector<std::string_view> f;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > start) f.push_back(line.substr(start, i - start));
    }
    return f;
  };
  std::vector<pid_t> sorted = pids;
  std::sort(sorted.begin(), sorted.end());
  auto lines = split(output, '\n');
  auto header = fields(lines[0]);
  auto col = std::find(header.begin(), header.end(), "PID");
  if (col == header.end()) return fail("couldn't find PID field in ps output");
  size_t index = static_cast<size_t>(col - header.begin());
  std::string out = std::string(lines[0]) + "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    auto f = fields(lines[i]);
    std::optional<pid_t> pid = index < f.size() ? parse_int<pid_t>(f[index]) : std::nullopt;
    if (!pid) return failf("unable to parse pid: {}", lines[i]);
    if (std::binary_search(sorted.begin(), sorted.end(), *pid)) out += std::string(lines[i]) + "\n";
  }
  return out;
}

Result<Json> stats_event(const StateStore& store, const std::string& id) {
  auto c = HULL_TRY(open_container(store, id));
  if (c.status == ContainerStatus::stopped) return failf("container {} is not running", id);
  auto s = HULL_TRY(c.cgroup->stats());
  return Json{{"type", "stats"}, {"id", id}, {"data", s.to_json()}};
}

Status events(const StateStore& store, const std::string& id, int interval_ms,
              const std::function<void(const Json&)>& emit) {
  auto c = HULL_TRY(open_container(store, id));
  if (c.status == ContainerStatus::stopped) return failf("container {} is not running", id);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, c.state.pid, 0)));
  if (!pidfd) return sys_failf("pidfd_open {}", c.state.pid);
  uint64_t ooms = c.cgroup->oom_kill_count().value_or(0);
  // OOM kills are checked often (they are what an engine waits for); stats each interval.
  constexpr int kOomPollMs = 100;
  int since_stats = interval_ms;
  for (;;) {
    if (uint64_t now = c.cgroup->oom_kill_count().value_or(ooms); now > ooms) {
      ooms = now;
      emit(Json{{"type", "oom"}, {"id", id}});
    }
    if (since_stats >= interval_ms) {
      since_stats = 0;
      if (auto s = c.cgroup->stats())
        emit(Json{{"type", "stats"}, {"id", id}, {"data", s->to_json()}});
    }
    pollfd p{pidfd.get(), POLLIN, 0};
    int r = ::poll(&p, 1, kOomPollMs);
    if (r < 0 && errno != EINTR) return sys_fail("poll");
    if (r > 0) {
      // Init has exited: a last OOM check (the kill that ended it), then stop.
      if (uint64_t now = c.cgroup->oom_kill_count().value_or(ooms); now > ooms)
        emit(Json{{"type", "oom"}, {"id", id}});
      return {};
    }
    since_stats += kOomPollMs;
  }
}

}  // namespace hull::runtime

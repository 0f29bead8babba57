#include "runtime/control.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroups/manager.hpp"
#include "common/fs.hpp"
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
  if (c.status != ContainerStatus::running)
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

Status update(const StateStore& store, const std::string& id, const oci::Resources& resources) {
  auto c = HULL_TRY(open_container(store, id));
  if (c.status == ContainerStatus::stopped)
    return failf("container {} is stopped: cannot update its resources", id);
  return c.cgroup->apply(resources);
}

Result<std::vector<pid_t>> processes(const StateStore& store, const std::string& id) {
  auto c = HULL_TRY(open_container(store, id));
  if (c.status == ContainerStatus::stopped) return std::vector<pid_t>{};
  return c.cgroup->pids();
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

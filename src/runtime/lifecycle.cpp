// start, kill, delete, and run's foreground wait.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroups/manager.hpp"
#include "common/detach_keys.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/container.hpp"
#include "runtime/hooks.hpp"

namespace hull::runtime {
namespace {

Result<UniqueFd> open_pidfd(const State& s) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0)));
  if (!fd) return sys_failf("pidfd_open {}", s.pid);
  // The pidfd pins the process; check it is still the one we started (pid reuse).
  if (!process_alive(s.pid, s.pid_start_time)) return fail("container not running", ESRCH);
  return fd;
}

// Waits until the process behind pidfd has exited, up to timeout_ms.
bool wait_exit(int pidfd, int timeout_ms) {
  pollfd p{pidfd, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

std::unique_ptr<cgroups::Manager> load_cgroup(const State& s) {
  if (s.cgroup.is_null()) return nullptr;
  auto m = cgroups::load_manager(s.cgroup);
  if (!m) {
    log::warn("container {}: cgroup: {}", s.id, m.error().message);
    return nullptr;
  }
  return std::move(*m);
}

// Kills every process of the container and removes its cgroup and state. init_reaped:
// the caller waited for init's exit already (run).
Status teardown(const StateStore& store, const State& s, bool init_reaped = false) {
  auto cgroup = load_cgroup(s);
  bool init_alive = !init_reaped && process_alive(s.pid, s.pid_start_time);
  // Every process first, through the cgroup (a paused container is thawed so they die).
  // Not needed once the init of the container's own pid namespace is gone: the kernel
  // killed the rest before reporting its exit (destroy still kills any straggler that
  // entered the cgroup from outside).
  if (cgroup && (init_alive || !s.own_pid_ns)) {
    if (auto pids = cgroup->pids(); pids && !pids->empty()) {
      if (auto r = cgroup->kill_all(SIGKILL); !r)
        log::warn("container {}: {}", s.id, r.error().message);
    }
    if (auto f = cgroup->frozen(); f && *f) (void)cgroup->freeze(false);
  }
  if (init_alive && process_alive(s.pid, s.pid_start_time)) {
    if (auto fd = open_pidfd(s)) {
      ::syscall(SYS_pidfd_send_signal, fd->get(), SIGKILL, nullptr, 0);
      if (!wait_exit(fd->get(), 10000)) log::warn("container {}: init did not exit", s.id);
    }
  }
  // Without its own pid namespace a container's other processes outlive init; destroy
  // kills any that are left while it waits for the cgroup to empty.
  if (cgroup) HULL_CHECK(cgroup->destroy());
  run_hooks_warn(s.hooks.poststop, oci_state(s, ContainerStatus::stopped).dump(), "poststop");
  return store.remove(s.id);
}

}  // namespace

Status start(const StateStore& store, const std::string& id) {
  State s = HULL_TRY(store.load(id));
  ContainerStatus st = store.status_of(s);
  if (st == ContainerStatus::stopped) return fail("cannot start a container that has stopped");
  if (st == ContainerStatus::paused) return fail("cannot start a container in the paused state");
  if (st != ContainerStatus::created) return fail("cannot start an already running container");
  // Pin init before opening the fifo: the open releases it, and a short program may have
  // run and exited before a later check.
  UniqueFd pidfd = HULL_TRY(open_pidfd(s));
  std::string fifo_path = store.dir(id) + "/exec.fifo";
  UniqueFd fifo(::open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) return sys_failf("open {}", fifo_path);
  pollfd p[2] = {{fifo.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
  for (;;) {
    int r = ::poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return sys_fail("poll exec fifo");
    if (p[0].revents & POLLIN) {
      char c;
      if (::read(fifo.get(), &c, 1) == 1) break;
    }
    if (p[1].revents & POLLIN) return fail("container init exited before it was started");
  }
  if (::unlink(fifo_path.c_str()) < 0) return sys_failf("unlink {}", fifo_path);
  // Init keeps its end open until execve (CLOEXEC) and writes there why it failed, e.g. a
  // startContainer hook: EOF with nothing more means the program runs.
  ::fcntl(fifo.get(), F_SETFL, 0);
  std::string why;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(fifo.get(), buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_failf("read {}", fifo_path);
    why.append(buf, static_cast<size_t>(n));
  }
  if (!why.empty()) return fail(std::move(why));
  run_hooks_warn(s.hooks.poststart, oci_state(s, ContainerStatus::running).dump(), "poststart");
  return {};
}

Status kill(const StateStore& store, const std::string& id, int signal, bool all) {
  State s = HULL_TRY(store.load(id));
  if (all) {
    auto cgroup = load_cgroup(s);
    if (cgroup) {
      auto r = cgroup->kill_all(signal);
      if (r || r.error().code != ENOTSUP) return r;  // no cgroup (rootless): init only
    }
  }
  UniqueFd fd = HULL_TRY(open_pidfd(s));
  if (::syscall(SYS_pidfd_send_signal, fd.get(), signal, nullptr, 0) < 0)
    return sys_failf("kill container {} with signal {}", id, signal);
  return {};
}

Status destroy(const StateStore& store, const std::string& id, bool force) {
  auto loaded = store.load(id);
  if (!loaded) {
    // A create that died before state.json leaves the directory and, once it noted it
    // (save_cgroup_at), the cgroup, with the init if it was cloned: killed through it.
    if (loaded.error().code == ENOENT && fs::exists(store.dir(id))) {
      if (auto saved = store.load_cgroup(id))
        if (auto cgroup = cgroups::load_manager(*saved)) {
          if (auto pids = (*cgroup)->pids(); pids && !pids->empty())
            (void)(*cgroup)->kill_all(SIGKILL);
          HULL_CHECK((*cgroup)->destroy());
        }
      HULL_CHECK(store.remove(id));
      return {};
    }
    if (force && loaded.error().code == ENOENT) return {};
    // state.json is written without fsync (state.cpp): after a host crash it may be
    // empty. The crash ended the processes and emptied cgroupfs, so the directory is
    // all that is left.
    if (force && fs::exists(store.dir(id))) {
      log::warn("container {}: {}: removing its state directory only", id, loaded.error().message);
      return store.remove(id);
    }
    return std::unexpected(loaded.error());
  }
  const State& s = *loaded;
  ContainerStatus st = store.status_of(s);
  if (!force && st != ContainerStatus::stopped && st != ContainerStatus::created)
    return failf("cannot delete container {} that is not stopped: {}", id, status_name(st));
  return teardown(store, s);
}

Status become_subreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return sys_fail("prctl PR_SET_CHILD_SUBREAPER");
  return {};
}

Result<int> wait_and_delete(const StateStore& store, Launched& launched, RunWait w) {
  int status = HULL_TRY(wait_process(launched.pidfd.get(), launched.console.get(),
                                     w.subreaper ? launched.state.pid : 0));
  // Kept: `state` says stopped from here on, and delete tears down (poststop hooks too).
  if (!w.keep) HULL_CHECK(teardown(store, launched.state, true));
  return status;
}

namespace {

// Reaps the children other than skip that have exited (orphans given to this subreaper).
// Stops at skip, which the pidfd's waitid collects: WNOWAIT looks without reaping it.
void reap_others(pid_t skip) {
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid == 0 ||
        info.si_pid == skip)
      return;
    ::waitid(P_PID, static_cast<id_t>(info.si_pid), &info, WEXITED | WNOHANG);
  }
}

// After a detach: a process of its own (its own session, nothing of the terminal) holds
// the pty master and reads the program's output into nothing until the program ends, as
// docker's shim keeps an exec's pty after its client detached.
void hold_console(int pidfd, int master) {
  pid_t pid = ::fork();
  if (pid != 0) return;  // the caller goes on (a failed fork: the program is hung up)
  ::setsid();
  if (::chdir("/") < 0) ::_exit(0);
  // Only the two fds it needs, at 3 and 4; nothing of the caller's (its databases).
  int held_pidfd = ::fcntl(pidfd, F_DUPFD, 100), held_master = ::fcntl(master, F_DUPFD, 100);
  if (held_pidfd < 0 || held_master < 0) ::_exit(0);
  ::dup2(held_pidfd, 3);
  ::dup2(held_master, 4);
  ::syscall(SYS_close_range, 5, ~0U, 0);
  pidfd = 3;
  master = 4;
  int null = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
  if (null > 4) ::close(null);
  // The caller's terminal hangs up as its session leader exits, maybe before the setsid
  // above: that SIGHUP (pending, blocked by the caller) and the keyboard's are dropped.
  for (int sig : {SIGHUP, SIGINT, SIGQUIT}) ::signal(sig, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  char buf[8192];
  for (;;) {
    pollfd p[2] = {{pidfd, POLLIN, 0}, {master, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) break;
    if (p[0].revents) break;
    if (p[1].revents && ::read(master, buf, sizeof buf) <= 0 && errno != EINTR && errno != EAGAIN)
      break;
  }
  ::_exit(0);
}

}  // namespace

Result<int> wait_process(int pidfd, int console, pid_t reap_other, std::string_view escape) {
  sigset_t fwd;
  sigemptyset(&fwd);
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD})
    sigaddset(&fwd, s);
  ::sigprocmask(SIG_BLOCK, &fwd, nullptr);
  UniqueFd sfd(::signalfd(-1, &fwd, SFD_CLOEXEC));
  if (!sfd) return sys_fail("signalfd");

  // Without --console-socket, this process is the terminal: stdin to the pty master and
  // the master to stdout, with the host terminal in raw mode.
  int master = console;
  termios saved{};
  bool raw = master >= 0 && ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
  }
  auto copy = [](int from, int to) -> bool {
    char buf[8192];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0) return false;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
      if (w <= 0) return false;
      off += w;
    }
    return true;
  };

  bool stdin_open = master >= 0;
  detach_keys::Matcher keys{std::string(escape)};
  auto write_all = [](int to, std::string_view data) -> bool {
    while (!data.empty()) {
      ssize_t w = ::write(to, data.data(), data.size());
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      data.remove_prefix(static_cast<size_t>(w));
    }
    return true;
  };
  int status = 0;
  for (;;) {
    pollfd p[4] = {{sfd.get(), POLLIN, 0},
                   {pidfd, POLLIN, 0},
                   {master, POLLIN, 0},
                   {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    int r = ::poll(p, 4, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return sys_fail("poll");
    if (p[2].revents & (POLLIN | POLLHUP)) {
      if (!copy(master, STDOUT_FILENO)) master = -1;
    }
    if (p[3].revents & (POLLIN | POLLHUP)) {
      if (escape.empty()) {
        if (!copy(STDIN_FILENO, console)) stdin_open = false;
      } else {
        char buf[8192];
        ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        std::string typed;
        if (n <= 0) {
          stdin_open = false;
        } else if (keys.feed({buf, static_cast<size_t>(n)}, typed)) {
          (void)write_all(console, typed);
          if (raw) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
          hold_console(pidfd, console);
          return 0;
        } else if (!write_all(console, typed)) {
          stdin_open = false;
        }
      }
    }
    if (p[0].revents & POLLIN) {
      signalfd_siginfo si{};
      if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH && console >= 0) {
          winsize ws{};
          if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(console, TIOCSWINSZ, &ws);
        } else if (sig != SIGCHLD) {
          ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
        } else if (reap_other > 0 && static_cast<pid_t>(si.ssi_pid) != reap_other) {
          // The program's own exit needs nothing more than the pidfd: no extra call then.
          reap_others(reap_other);
        }
      }
    }
    if (p[1].revents & POLLIN) {
      siginfo_t info{};
      if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) < 0)
        return sys_fail("waitid");
      status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
      break;
    }
  }
  // Drain what the program wrote last.
  while (master >= 0) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !copy(master, STDOUT_FILENO)) break;
  }
  if (raw) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return status;
}

}  // namespace hull::runtime

#include "runtime/hooks.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace hull::runtime {
namespace {

constexpr size_t kMaxCaptured = 4096;  // of the hook's stdout and stderr, for the error

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

std::string tidy(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Status run_program(const oci::Hook& h, const std::string& state_json, const std::string& what) {
  auto where = [&] { return what; };
  if (h.path.empty() || h.path.front() != '/') return failf("{}: path must be absolute", where());

  // Everything exec needs is built before fork: the child only makes syscalls.
  std::vector<char*> argv, envp;
  std::string arg0 = h.path;
  if (h.args.empty()) argv.push_back(arg0.data());
  for (const auto& a : h.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : h.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  // stdin is a socket so a hook that exits without reading cannot raise SIGPIPE here
  // (send with MSG_NOSIGNAL); stdout and stderr are captured for the error message; the
  // CLOEXEC report pipe carries errno if execve fails and closes when it succeeds.
  int in[2], out[2], err[2], rep[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
    return sys_failf("{}: socketpair", where());
  UniqueFd in_w(in[0]), in_r(in[1]);
  if (::pipe2(out, O_CLOEXEC) < 0) return sys_failf("{}: pipe", where());
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) < 0) return sys_failf("{}: pipe", where());
  UniqueFd err_r(err[0]), err_w(err[1]);
  if (::pipe2(rep, O_CLOEXEC) < 0) return sys_failf("{}: pipe", where());
  UniqueFd rep_r(rep[0]), rep_w(rep[1]);

  pid_t pid = ::fork();
  if (pid < 0) return sys_failf("{}: fork", where());
  if (pid == 0) {
    if (::dup2(in_r.get(), 0) < 0 || ::dup2(out_w.get(), 1) < 0 || ::dup2(err_w.get(), 2) < 0)
      ::_exit(127);
    // Nothing of the runtime's reaches the hook: no fd above stdio, no blocked signal.
    ::syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    // Its own process group, so a timeout kills what the hook started as well.
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    int e = errno;
    (void)!::write(rep_w.get(), &e, sizeof e);
    ::_exit(127);
  }
  in_r.reset();
  out_w.reset();
  err_w.reset();
  rep_w.reset();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  auto reap = [&](bool kill_first) -> int {
    if (kill_first) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  };

  int exec_errno = 0;
  ssize_t n = ::read(rep_r.get(), &exec_errno, sizeof exec_errno);
  if (n == sizeof exec_errno) {
    reap(false);
    return sys_fail(fmt::format("{}: exec", where()), exec_errno);
  }

  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  std::string_view pending = state_json;
  if (pending.empty()) ::shutdown(in_w.get(), SHUT_WR);
  std::string captured[2];
  const int64_t deadline = h.timeout && *h.timeout > 0 ? now_ms() + int64_t{*h.timeout} * 1000 : -1;
  bool exited = false;
  while (!exited) {
    pollfd p[4] = {{pidfd.get(), POLLIN, 0},
                   {out_r ? out_r.get() : -1, POLLIN, 0},
                   {err_r ? err_r.get() : -1, POLLIN, 0},
                   {!pending.empty() ? in_w.get() : -1, POLLOUT, 0}};
    int wait_ms = -1;
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        reap(true);
        return failf("{}: timed out after {}s and was killed", where(), *h.timeout);
      }
      wait_ms = static_cast<int>(left);
    }
    // Without a pidfd (pre-5.3 kernels) the pipes' EOF stands in for exit.
    if (!pidfd && !out_r && !err_r) break;
    int r = ::poll(p, 4, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      reap(true);
      return sys_failf("{}: poll", where());
    }
    for (int i = 0; i < 2; ++i) {
      UniqueFd& fd = i == 0 ? out_r : err_r;
      if (!(p[1 + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[1024];
      ssize_t got = ::read(fd.get(), buf, sizeof buf);
      if (got <= 0) {
        fd.reset();
        continue;
      }
      if (captured[i].size() < kMaxCaptured)
        captured[i].append(buf, std::min<size_t>(got, kMaxCaptured - captured[i].size()));
    }
    if (p[3].revents & (POLLOUT | POLLERR | POLLHUP)) {
      ssize_t w = ::send(in_w.get(), pending.data(), pending.size(), MSG_NOSIGNAL);
      if (w > 0)
        pending.remove_prefix(static_cast<size_t>(w));
      else if (errno != EAGAIN && errno != EINTR)
        pending = {};  // hook closed stdin
      if (pending.empty()) ::shutdown(in_w.get(), SHUT_WR);
    }
    if (p[0].revents & POLLIN) exited = true;
  }
  // Drain what is left in the pipes (the hook has exited; a grandchild holding them
  // open must not stall us, so read only what is there).
  for (int i = 0; i < 2; ++i) {
    UniqueFd& fd = i == 0 ? out_r : err_r;
    if (!fd) continue;
    ::fcntl(fd.get(), F_SETFL, O_NONBLOCK);
    char buf[1024];
    ssize_t got;
    while (captured[i].size() < kMaxCaptured && (got = ::read(fd.get(), buf, sizeof buf)) > 0)
      captured[i].append(buf, std::min<size_t>(got, kMaxCaptured - captured[i].size()));
  }
  int status = reap(false);
  std::string detail;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status))
    detail = fmt::format("exit status {}", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    detail = fmt::format("killed by signal {}", WTERMSIG(status));
  else
    detail = fmt::format("wait status {:#x}", status);
  std::string msg = fmt::format("{}: {}", where(), detail);
  if (auto s = tidy(captured[1]); !s.empty()) msg += fmt::format(": stderr: {}", s);
  if (auto s = tidy(captured[0]); !s.empty()) msg += fmt::format(": stdout: {}", s);
  return fail(std::move(msg));
}

namespace {

Status run_one(const oci::Hook& h, const std::string& state_json, std::string_view phase) {
  return run_program(h, state_json, fmt::format("{} hook \"{}\"", phase, h.path));
}

}  // namespace

Status run_hooks(std::span<const oci::Hook> hooks, const std::string& state_json,
                 std::string_view phase) {
  for (const auto& h : hooks) HULL_CHECK(run_one(h, state_json, phase));
  return {};
}

void run_hooks_warn(std::span<const oci::Hook> hooks, const std::string& state_json,
                    std::string_view phase) {
  for (const auto& h : hooks) {
    if (auto r = run_one(h, state_json, phase); !r) log::warn("{}", r.error().message);
  }
}

}  // namespace hull::runtime

#include "runtime/clone.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace hull::runtime {
namespace {

// struct clone_args of linux/sched.h (5.7 layout, with cgroup).
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
      set_tid_size, cgroup;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;

}  // namespace

Result<Child> clone_child(uint64_t namespace_flags, int cgroup_fd) {
  if (::geteuid() == 0 && ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return sys_fail("prctl PR_SET_DUMPABLE");
  int pidfd = -1;
  CloneArgs args{};
  args.flags = namespace_flags | CLONE_PIDFD | (cgroup_fd >= 0 ? kCloneIntoCgroup : 0);
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  args.cgroup = cgroup_fd >= 0 ? static_cast<uint64_t>(cgroup_fd) : 0;
  Child c;
  c.in_cgroup = cgroup_fd >= 0;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0 && (errno == ENOSYS || errno == E2BIG || (errno == EINVAL && cgroup_fd >= 0))) {
    c.in_cgroup = false;
    pid = ::syscall(SYS_clone, namespace_flags | CLONE_PIDFD | SIGCHLD, nullptr, &pidfd, nullptr,
                    nullptr);
  }
  if (pid < 0) return sys_fail("clone");
  c.pid = static_cast<pid_t>(pid);
  if (pid > 0) c.pidfd.reset(pidfd);
  return c;
}

void block_forwarded_signals() {
  sigset_t fwd;
  sigemptyset(&fwd);
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD})
    sigaddset(&fwd, s);
  ::sigprocmask(SIG_BLOCK, &fwd, nullptr);
}

}  // namespace hull::runtime

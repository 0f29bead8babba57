// The default profile as data: groups of syscalls, each denied unless the container holds
// the capability that makes them legitimate (docker's profile has the same structure).
#include "engine/seccomp_profile.hpp"

#include <linux/capability.h>
#include <sched.h>

#include <algorithm>

namespace hull::engine {
namespace {

struct Group {
  int cap;  // -1: denied whatever the capabilities
  std::vector<std::string> names;
};

const std::vector<Group>& groups() {
  static const std::vector<Group> g = {
      // Kernel keyrings are not namespaced; bpf and perf expose the host kernel.
      {-1,
       {"keyctl", "add_key", "request_key", "lookup_dcookie", "userfaultfd", "kexec_load",
        "kexec_file_load", "open_by_handle_at", "nfsservctl", "vm86", "vm86old", "uselib",
        "_sysctl", "sysfs", "ustat",
        // io_uring: a large, often-exploited kernel surface; docker's profile denies it too.
        "io_uring_setup", "io_uring_enter", "io_uring_register"}},
      {CAP_SYS_ADMIN,
       {"mount",
        "umount",
        "umount2",
        "pivot_root",
        "swapon",
        "swapoff",
        "setns",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "quotactl",
        "quotactl_fd",
        "name_to_handle_at",
        "fanotify_init",
        "lookup_dcookie",
        "perf_event_open",
        "bpf",
        "syslog"}},
      {CAP_SYS_MODULE,
       {"init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms",
        "query_module"}},
      {CAP_SYS_BOOT, {"reboot"}},
      {CAP_SYS_PTRACE, {"ptrace", "process_vm_readv", "process_vm_writev", "kcmp"}},
      {CAP_SYS_TIME,
       {"settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime",
        "clock_adjtime64", "adjtimex"}},
      {CAP_SYS_PACCT, {"acct"}},
      {CAP_SYS_RAWIO, {"iopl", "ioperm"}},
      {CAP_SYS_NICE, {"get_mempolicy", "set_mempolicy", "mbind", "move_pages"}},
      {CAP_SYSLOG, {"syslog"}},
  };
  return g;
}

}  // namespace

oci::Seccomp default_seccomp_profile(const std::vector<int>& caps) {
  auto has = [&](int c) { return std::find(caps.begin(), caps.end(), c) != caps.end(); };
  oci::Seccomp s;
  s.default_action = oci::SeccompAction::allow;
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};

  std::vector<std::string> denied;
  for (const auto& g : groups()) {
    if (g.cap >= 0 && has(g.cap)) continue;
    for (const auto& n : g.names)
      if (std::find(denied.begin(), denied.end(), n) == denied.end()) denied.push_back(n);
  }
  // perf_event_open and bpf stay denied without CAP_SYS_ADMIN even when CAP_PERFMON or
  // CAP_BPF were added: the group above keys them on CAP_SYS_ADMIN.
  oci::SeccompSyscall deny;
  deny.names = std::move(denied);
  deny.action = oci::SeccompAction::errno_;
  deny.errno_ret = EPERM;
  s.syscalls.push_back(std::move(deny));

  if (!has(CAP_SYS_ADMIN)) {
    // A user namespace needs no capability and grants them all inside: the way into most
    // kernel attack surface. clone3 hides its flags in memory seccomp cannot read, so it
    // answers ENOSYS and libc falls back to clone, whose flags are checked.
    for (const char* name : {"unshare", "clone"}) {
      oci::SeccompSyscall r;
      r.names = {name};
      r.action = oci::SeccompAction::errno_;
      r.errno_ret = EPERM;
      r.args = {oci::SeccompArg{0, CLONE_NEWUSER, CLONE_NEWUSER, "SCMP_CMP_MASKED_EQ"}};
      s.syscalls.push_back(std::move(r));
    }
    oci::SeccompSyscall c3;
    c3.names = {"clone3"};
    c3.action = oci::SeccompAction::errno_;
    c3.errno_ret = ENOSYS;
    s.syscalls.push_back(std::move(c3));
  }
  return s;
}

}  // namespace hull::engine

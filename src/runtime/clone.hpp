// Process creation: clone3 with CLONE_PIDFD, and CLONE_INTO_CGROUP when a cgroup fd is
// given, falling back to clone(2) on kernels without clone3 (< 5.3) or without
// CLONE_INTO_CGROUP (< 5.7); the caller then joins the cgroup through cgroup.procs.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace hull::runtime {

struct Child {
  pid_t pid = 0;             // 0 in the child
  UniqueFd pidfd;            // in the parent
  bool in_cgroup = false;    // placed by CLONE_INTO_CGROUP
};

// The child is born non-dumpable when the caller is root (CVE-2019-5736): until it execs
// the container's program, /proc/PID/exe names the runtime binary, and a non-dumpable
// process's exe link can only be opened with CAP_SYS_PTRACE in the host's user namespace.
// exec resets dumpability for the program.
Result<Child> clone_child(uint64_t namespace_flags, int cgroup_fd);

// Blocks the signals a foreground runtime forwards to its container; the child must
// unblock them (init and exec do, first thing).
void block_forwarded_signals();

}  // namespace hull::runtime

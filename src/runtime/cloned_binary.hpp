// CVE-2019-5736: while hull-runtime runs inside a container's pid namespace (exec, or the
// init before it execs the program), a process in the container may open
// /proc/<pid>/exe and, once the runtime has exited, reopen it for writing and replace
// the host's runtime binary. PR_SET_DUMPABLE 0 (clone.cpp) already refuses that open to
// anyone without CAP_SYS_PTRACE over the runtime; where the container may have that
// capability, the runtime re-executes itself from a sealed memfd first, so /proc/<pid>/exe
// is a copy that no one can write (crun's cloned_binary.c, runc's memfd-bind).
#pragma once

#include <sys/types.h>

#include <span>

#include "common/error.hpp"

namespace hull::runtime {

// Whether /proc/self/exe is already a write-sealed memfd.
bool running_from_sealed_copy();

// Re-executes this program (same argv and environment) from a sealed memfd copy of
// /proc/self/exe unless it already runs from one. Returns only when no re-exec was needed,
// or with an error if the copy could not be made. The caller must not have done anything
// yet that the re-executed program would repeat: `hull exec` (whose work before is reading
// records) and hull-runtime may; the engine's create, forked mid-way through `hull run`,
// may not (create.cpp).
Status reexec_from_sealed_copy();

// Whether a process whose capability bounding set is cap_bnd, in the user namespace of
// pid (0: this process's), could open the runtime's /proc/<pid>/exe despite it being
// non-dumpable: it holds CAP_SYS_PTRACE over the runtime's user namespace.
bool could_ptrace_runtime(uint64_t cap_bnd, pid_t pid);

// The capability bounding set of a running process, from /proc/<pid>/status.
Result<uint64_t> bounding_set_of(pid_t pid);

}  // namespace hull::runtime

// seccomp: linux.seccomp of config.json turned into a BPF program.
//
// Two halves, as every subsystem here:
//   parent, before clone:  compile()  - libseccomp builds the filter and exports the BPF
//                          program into a Filter (plain bytes, no libseccomp state);
//   child, just before exec: load()   - one seccomp(2) call with the prebuilt program. No
//                          libseccomp, no allocation on the success path, so the runtime's
//                          own set-up is never filtered and init stays small.
// With SCMP_ACT_NOTIFY, load() returns the listener fd; the runtime passes it to its parent,
// which hands it to linux.seccomp.listenerPath through send_listener_fd().
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "oci/spec.hpp"

namespace hull::runtime::seccomp {

struct Filter {
  // The exported classic BPF program, ready for struct sock_fprog.
  std::vector<sock_filter> program;
  // SECCOMP_FILTER_FLAG_* from linux.seccomp.flags, plus NEW_LISTENER when uses_notify.
  unsigned flags = 0;
  bool uses_notify = false;
  // Names that neither libseccomp nor the kernel knows, skipped as runc does (for logs).
  std::vector<std::string> skipped;
};

// Builds and exports the filter. Errors name the field: `linux.seccomp.syscalls[3].args[0]:
// unknown operator "SCMP_CMP_FOO"`.
Result<Filter> compile(const oci::Seccomp& spec);

// compile() through a cache of exported programs in cache_dir (created if missing), keyed
// by a hash of the canonical JSON of spec plus the libseccomp version and native arch; an
// entry stores that whole input and is used only if it matches exactly.
// Entries are written atomically; a corrupt entry is ignored and rewritten. An empty
// cache_dir means no cache.
Result<Filter> compile_cached(const oci::Seccomp& spec, const std::string& cache_dir);

// The canonical JSON the cache key is hashed from (sorted keys, every field spelled).
std::string canonical_json(const oci::Seccomp& spec);

// Loads the filter into the calling thread (all threads with TSYNC). Needs no_new_privs or
// CAP_SYS_ADMIN in the caller's user namespace. Returns the listener fd when the filter
// uses SCMP_ACT_NOTIFY, an invalid UniqueFd otherwise. Allocates only to report an error.
Result<UniqueFd> load(const Filter& filter);

// The same without any allocation: returns the listener fd (>= 0) or -1 when there is none,
// or -errno. For callers that must not touch the heap (e.g. after a CLONE_VM clone).
int load_raw(const Filter& filter) noexcept;

// Sends notify_fd to the seccomp agent listening on the unix socket listener_path, with the
// runtime-spec's containerProcessState as the message:
//   {"ociVersion":..., "fds":["seccompFd"], "pid":<state.pid>, "metadata":..., "state":{...}}
// state_json is the container's OCI state document (as the `state` verb prints it).
Status send_listener_fd(const std::string& listener_path, int notify_fd,
                        const std::string& state_json, const std::string& metadata);

}  // namespace hull::runtime::seccomp

// OCI lifecycle hooks (config.json "hooks"): each hook is a program run with the
// container's state JSON on its stdin, its own args and env, and an optional timeout.
// Which namespace a phase runs in is the caller's business (create.cpp, init.cpp,
// lifecycle.cpp); this file only runs the programs.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "oci/spec.hpp"

namespace hull::runtime {

// Runs hooks in order, each to completion; stops at the first that fails. A hook fails
// when it cannot be executed, exits non-zero, is killed by a signal, or outlives its
// timeout (it is then killed with SIGKILL). The error names the phase, the hook's path
// and what it wrote to stderr, e.g.
//   `createRuntime hook "/usr/bin/x": exit status 3: stderr: no such device`.
// Async-signal-safe between fork and exec: usable from the container's init.
Status run_hooks(std::span<const oci::Hook> hooks, const std::string& state_json,
                 std::string_view phase);

// Runs one program as a hook is run (input on stdin, args, env, timeout); errors start
// with `what`. Also used for newuidmap/newgidmap.
Status run_program(const oci::Hook& program, const std::string& input, const std::string& what);

// Runs every hook even if some fail, logging each failure as a warning (poststart,
// poststop: the spec says the lifecycle continues).
void run_hooks_warn(std::span<const oci::Hook> hooks, const std::string& state_json,
                    std::string_view phase);

}  // namespace hull::runtime

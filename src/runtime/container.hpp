// The OCI runtime's operations, as the CLI verbs and the engine call them.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "oci/spec.hpp"
#include "runtime/state.hpp"

namespace hull::runtime {

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;   // inherit the caller's session keyring (runc's flag)
  bool bundle_resolved = false;  // bundle is a realpath already (launch() makes it one)
  int preserve_fds = 0;
  // Socket activation (sd_listen_fds(3)), as runc: N fds from 3 passed on before the
  // preserve_fds ones, with LISTEN_FDS=N and LISTEN_PID=1 in the program's environment.
  // Honoured by the config.json launch(); see listen_fds_from_env.
  int listen_fds = 0;
  // The engine's: called once the state dir and the cgroup exist, before namespaces are
  // joined and the init is cloned, so the caller can finish the container's set-up
  // meanwhile. It may still change the spec's namespace paths and process.user (the spec
  // is read again after it), and the rootfs is looked at only after it. An error unwinds
  // the launch as any other.
  std::function<Status()> before_clone;
  // The engine's: the program starts with every signal at its default action, as a docker
  // container's does, not ignoring what the launching monitor ignores (an ignored signal
  // stays ignored across execve, and a shell cannot even trap it).
  bool default_signals = false;
  // The engine's: the launch runs in hull's monitor, a fork of the CLI mid-way through its
  // command, which a re-exec from a sealed copy (CVE-2019-5736) would run again from the
  // start. It never re-executes: a launch that would need it is refused (create.cpp).
  bool in_engine_monitor = false;
  // runc's `run --keep`: a start that fails once the container's cgroup exists (a mount,
  // a hook, the program not found) leaves the container stopped, its state dir kept for
  // `delete` (its cgroup, empty, removed), as runc keeps it; otherwise nothing is left.
  bool keep_on_failure = false;
};

enum class LaunchMode {
  create,        // stop before the program at the exec fifo; `start` releases it
  run_detached,  // create + start, return once the program runs
  run,           // as run_detached, and the caller waits for the program
};

// A container whose program was created (or is running) by this process.
struct Launched {
  State state;
  UniqueFd pidfd;    // from clone3(CLONE_PIDFD): race-free signals and waiting
  UniqueFd console;  // pty master when there was no --console-socket (run only)
};

// The caller's socket activation: LISTEN_FDS when LISTEN_PID names this process (as
// systemd sets them for the process it starts), else 0.
int listen_fds_from_env();

// Creates the container: state dir, cgroup, namespaces, rootfs, process attributes. On
// error nothing is left: no state dir, mount, cgroup or process.
Result<Launched> launch(const StateStore& store, const CreateOptions& opts, LaunchMode mode);
// The same with a spec already in memory (the engine's path: no config.json re-read).
Result<Launched> launch(const StateStore& store, const CreateOptions& opts, LaunchMode mode,
                        const oci::Spec& spec);

Status start(const StateStore& store, const std::string& id);
Status kill(const StateStore& store, const std::string& id, int signal, bool all);
Status destroy(const StateStore& store, const std::string& id, bool force);

// How run waits for its container (runc's run flags).
struct RunWait {
  bool keep = false;       // --keep: leave the stopped container (state, cgroup) to delete
  bool subreaper = false;  // not --no-subreaper: see become_subreaper
};

// Makes this process the child subreaper (PR_SET_CHILD_SUBREAPER), as runc's run does
// unless --no-subreaper: a process of the container orphaned while it runs (a daemon's
// double fork without a pid namespace of its own) is reparented to the runtime, which
// reaps it, rather than to the host's init. Before launch, so no orphan is missed.
Status become_subreaper();

// Waits for a launched container's program, forwarding the usual signals to it, then
// deletes the container unless w.keep. Returns the exit status as a shell reports it
// (128+N if killed by signal N).
Result<int> wait_and_delete(const StateStore& store, Launched& launched, RunWait w = {});

// Waits for the process behind pidfd (a child of this process), forwarding signals and,
// when console >= 0, copying between this terminal and the pty master. With reap_other
// (the process's pid) this process is a subreaper and reaps every other child that exits
// meanwhile. detach_keys (the bytes of docker's --detach-keys; empty: none), typed on that
// terminal, return 0 at once and leave the process running: a process of its own then
// holds the pty master (whose close would hang the program up) and drops the program's
// output until it ends.
Result<int> wait_process(int pidfd, int console, pid_t reap_other = 0,
                         std::string_view detach_keys = {});

struct ExecOptions {
  std::string id;
  oci::Process process;  // complete: the CLI merges its flags into it
  std::string console_socket;
  std::string pid_file;
  bool detach = false;
  bool ignore_paused = false;  // runc's --ignore-paused: the process waits for resume
  int preserve_fds = 0;
  // runc's --cgroup: existing sub-cgroups of the container's to run in, by v1 controller
  // ("" for every hierarchy, the only key on v2), relative to the container's cgroup.
  std::map<std::string, std::string> sub_cgroups;
  std::string detach_keys;  // with a terminal and no console socket: wait_process's
  // The container's pid namespace holds another container's processes too (the engine's
  // --pid container:NAME, either side): whatever the capabilities of this one, run from a
  // sealed copy (CVE-2019-5736), as create does when it joins a pid namespace.
  bool shared_pid_ns = false;
};

// Runs a new process in a running container: its namespaces, cgroup, and the security
// settings of `process`. Returns the exit status, or 0 once it runs when detached.
Result<int> exec(const StateStore& store, const ExecOptions& opts);

}  // namespace hull::runtime

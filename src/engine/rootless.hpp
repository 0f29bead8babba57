// hull for an unprivileged user, as rootless podman does it. A pause process per user (and
// run root) holds one user namespace and one mount namespace; every `hull` the user runs
// joins both first thing, so inside hull is uid 0 of that namespace and overlay mounts,
// netns files and everything else the root engine keeps in the host's mount namespace
// persist there across invocations. Networking is pasta's (Debian's passt): the container's
// netns is made inside the user namespace and pasta, started from the pause process's
// (host) network namespace, gives it the host's addresses and forwards -p ports.
//
//   RUN_ROOT/pause.lock   flock: two first invocations end up in one pause process
//   RUN_ROOT/pause.pid    "<pid> <start time>" of the pause process
//   RUN_ROOT/pasta/<id>   "<pid> <start time>" of the container's pasta
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "engine/record.hpp"
#include "engine/spec_builder.hpp"

namespace hull::engine::rootless {

// Set in the environment of everything hull runs inside its user namespace (the monitor's
// `hull __exited` and `hull __relaunch`): they start as uid 0 there and must not take
// themselves for the host's root. A hint, not a proof: hull believes it only when
// /proc/self/uid_map agrees (an inherited variable must not make the host's root rootless).
inline constexpr const char* kInUserNsEnv = "_HULL_USERNS";

// The per-user defaults, podman's: ROOT = $XDG_DATA_HOME/hull or ~/.local/share/hull,
// RUN_ROOT = $XDG_RUNTIME_DIR/hull or /tmp/hull-UID.
struct Paths {
  std::string root, run_root;
};
using Getenv = std::function<std::optional<std::string>(const char*)>;
Result<Paths> default_paths(uid_t uid, const Getenv& getenv);

// One line of /etc/subuid or /etc/subgid that applies to the user: "name:start:count" or
// "uid:start:count".
struct IdRange {
  uint32_t start = 0, count = 0;
  bool operator==(const IdRange&) const = default;
};
std::vector<IdRange> parse_subid(std::string_view text, std::string_view user, uid_t uid);

// The newuidmap/newgidmap arguments after the pid: id 0 is the user, 1.. the ranges.
std::vector<std::string> id_map_args(uint32_t own, const std::vector<IdRange>& ranges);

// Whether no user but uid and root can change what path names: every directory from /
// to path is owned by one of them and writable by no one else unless sticky (/tmp), a
// symlink on the way is owned by one of them too (then followed, its target checked
// alike), and path is a directory of uid's. Another user who owned /tmp/hull-UID, or
// any directory above the store, could read or replace the pause pid, the lock, pasta
// records or images. A missing tail is fine (the caller makes it). what ("run root",
// "store") starts the error, which names the path at fault and its owner.
Status check_trusted_path(std::string_view what, const std::string& path, uid_t uid);
// Checks path (check_trusted_path), makes it (0700) if missing and checks it again;
// private_mode makes an existing one 0700 as well.
Status ensure_private_dir(std::string_view what, const std::string& path, uid_t uid,
                          bool private_mode);

// Joins the pause process's user and mount namespaces, starting it when none lives,
// once root (the store) and run_root have passed ensure_private_dir. Must run before
// any thread starts (setns(CLONE_NEWUSER) needs a single-threaded process); keeps the
// working directory. Sets kInUserNsEnv.
Status enter(const std::string& root, const std::string& run_root);
// The pause process of run_root, if one is alive (for tests and `hull info`).
std::optional<pid_t> pause_pid(const std::string& run_root);

// Refuses what a rootless engine cannot do, before anything is made: bridge and
// user-defined networks (they need root; pasta is used), and resource limits when no
// cgroup is delegated to the user (they would silently not hold). The error names the
// flag. network is the effective one (the default resolved).
Status check_run(const RunOptions& o, const std::string& network, bool cgroup_delegated);
// Whether the runtime would give a rootless container a real cgroup here.
bool cgroup_delegated();

// --network pasta: starts pasta for the container's netns with a forward per port (a port
// without a host port gets a free one); returns the ports as mapped. Records pasta's pid
// in RUN_ROOT/pasta/<id>.
Result<std::vector<PortMapping>> start_network(const std::string& run_root, const std::string& id,
                                               const std::string& netns,
                                               const std::vector<PortMapping>& ports);
// Ends the container's pasta (by its recorded pid, checked against its start time) and
// removes the record; nothing recorded is not an error.
void stop_network(const std::string& run_root, const std::string& id);

}  // namespace hull::engine::rootless

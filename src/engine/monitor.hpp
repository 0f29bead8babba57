// The per-container monitor: one process of its own session (forked once from the CLI and
// made a session leader, so neither the CLI's exit nor its terminal's hang-up touches it;
// it opens every tty O_NOCTTY, so it never gains a controlling terminal) that is the
// parent of the container's init for the container's whole life. It goes through three
// programs under the same pid (each execve keeps the pid, the child and the fds passed on):
//
//   hull (forked CLI)   launches the container with the runtime library (monitor_main),
//        |              reports "ok <pid> <state>" to the CLI, then
//        v execve
//   hull-monitor        small static C program (src/engine/monitor/hull-monitor.c): logs,
//        |              attach, window size, reaps the program, then
//        v execve
//   hull __exited       records the exit, cleans up, reports "exit N" to an attached CLI,
//        |              and either ends (removing the container with --rm) or
//        v execve
//   hull-monitor --sleep   docker's restart back-off, then
//        v execve
//   hull __relaunch     launches the container again (monitor_relaunch) -> hull-monitor
//
// So only the small program is resident while a container runs (well under 1 MiB), and
// the monitor pid in the record stays valid across restarts.
//
// The CLI does before the fork what needs a database (mounting the image's rootfs, the
// user, a container:NAME peer) and records the launch after it: the forked monitor uses
// neither the CLI's SQLite connections (SQLite's locks do not cross fork) nor opens one,
// so the CLI keeps its connections for the whole command. Only the exec'd hand-overs open
// their own.
//
// It talks to the CLI that started it over two pipes:
//   report (monitor -> CLI): "ok <pid> <state json>\n" once the program runs (the CLI
//                            records it), or "err <status> <msg>\n";
//                            when attached, later "detached\n", or "exited <status>\n"
//                            when the program ended, then "exit <status>\n" once recorded
//   control (CLI -> monitor): "r" when forked early (MonitorContext::early), once the
//            record and the rootfs are there; "g" once the CLI recorded the launch (the
//            monitor waits for it before it execs hull-monitor, so no hand-over can record
//            the exit first);
//            attached only, then: "w" on SIGWINCH; after "exited": "d" when
//            the CLI recorded the exit and cleaned up itself (finish_exit: no restart
//            policy), "c" for --rm when the CLI removed the record (remove_exited) and
//            hull __exited --removed must remove the rest, "x" when the monitor must do
//            it all (hull __exited); EOF when the CLI is gone (the monitor does it all)
#pragma once

#include <cstdint>
#include <string>

#include "engine/record.hpp"
#include "oci/spec.hpp"

namespace hull::image {
class Store;
}
namespace hull::runtime {
class StateStore;
}

namespace hull::engine {

// container:NAME of --network, --ipc, --uts or --pid (`flag`): NAME's record, which must be
// another container than self (by id, or by name at create) and running, with the pid of
// its init alive (the runtime's state has it with its start time, so a stale pid is never
// joined).
struct JoinTarget {
  Container container;
  pid_t pid = 0;
};
Result<JoinTarget> resolve_join(Db& db, const runtime::StateStore& store, std::string_view flag,
                                std::string_view mode, const ContainerConfig& self);

// Joins the namespaces that cfg's container:NAME modes name: the spec's namespace paths
// (/proc/<pid>/ns/...) and what goes with them, as docker does. --ipc: /dev/shm is the
// owner's (the container at the end of a chain of joins), which must be shareable (or
// --ipc host); --uts: the owner's hostname and /etc/hostname; --network (with `network`:
// at launch) the owner's /etc/hosts, /etc/hostname and /etc/resolv.conf and its hostname;
// without `network` (at create) only NAME's record is checked, and its chain of joins, as
// NAME need not run before the joiner starts. The --ipc, --uts and --pid modes become
// "container:<id>". `changed`: whether cfg changed. Used by Engine::create (errors before
// anything is made) and every launch.
Status join_containers(Db& db, const runtime::StateStore& store, const std::string& root,
                       ContainerConfig& cfg, oci::Spec& spec, bool network, bool& changed);
// Whether any of cfg's namespaces is another container's.
inline bool joins_any_container(const ContainerConfig& cfg) {
  return joins_container(cfg.network) || joins_container(cfg.pid_mode) ||
         joins_container(cfg.ipc_mode) || joins_container(cfg.uts_mode);
}

// CVE-2019-5736 for --pid container:NAME (docs/security.md): re-executes this process
// from a sealed memfd copy of hull (runtime::reexec_from_sealed_copy), once; returns in
// the copy. The host's hull, hull-monitor and hull-init stay reachable through
// hull_binary(), which the copy's /proc/self/exe no longer names.
Status reexec_sealed_hull();
// This program's file: /proc/self/exe, or in a sealed copy the file it was copied from.
std::string hull_binary();

struct MonitorContext {
  std::string root, run_root, container_dir;
  std::string monitor_path;  // the hull-monitor binary
  Container container;
  oci::Spec spec;
  int report_fd = -1;
  int control_fd = -1;
  bool attach = false;      // the monitor gets the CLI's stdio
  std::string detach_keys;  // attached -it: the detach keys' bytes (empty: ctrl-p ctrl-q)
  // Forked before the CLI wrote the record and mounted the rootfs (spawn_monitor_early):
  // the monitor makes the runtime's state dir, the cgroup and a --network none netns
  // meanwhile, and waits for the CLI's "r" on control before the rest of the network, the
  // user (from the rootfs) and the init; EOF there unwinds it all and it exits.
  bool early = false;
};

// In <root>/containers/<id>/: the socket hull-monitor serves `hull attach` on while the
// program runs (monitor/hull-monitor.c draws its protocol).
inline constexpr const char* kAttachSocket = "attach.sock";

// The hull-monitor binary: $HULL_MONITOR, else next to this program.
Result<std::string> find_monitor_binary();

// In the CLI: prepares the launch with the CLI's open databases (rootfs, user, network
// peer), then forks the monitor, which launches the container and never returns. Returns
// the monitor's pid; on error nothing is left.
Result<pid_t> spawn_monitor(MonitorContext& ctx, Db& db, image::Store* images);
// In the CLI, for run: forks the monitor before the record exists, so its launch overlaps
// the CLI's records and rootfs mount (MonitorContext::early). Not for a container:NAME
// network (the CLI looks the peer up before the fork) or a rootless engine.
Result<pid_t> spawn_monitor_early(MonitorContext& ctx);

// What hull-monitor hands to `hull __exited` / `hull __relaunch`.
struct MonitorHandover {
  std::string root, run_root, id;
  int status = 0;            // __exited: the program's exit status
  int64_t backoff_ms = 100;  // the next restart's delay
  int report_fd = -1;        // __exited: the attached CLI's report pipe
  bool stop = false;         // __relaunch: SIGTERM came during the back-off
  // __exited after remove_exited: the record is gone, the rest is to be removed.
  bool removed = false;
};

// `hull __exited`: records the exit, cleans up, restarts by policy. Returns the process
// exit status when it does not exec the monitor again.
int monitor_exited(const MonitorHandover& h);
// The same with open databases: from an attached CLI, which hull-monitor asks first
// ("exited N"), or from monitor_exited. `images` may be null (opened if needed).
int finish_exit(const MonitorHandover& h, Db& db, image::Store* images);
// An attached `run --rm` whose program exited: removes what the CLI's return must not
// wait for less than: the record (keeping the exit code for `wait`, so `ps -a` never shows
// a half-removed container and the name is free at once), the network, the image hold.
// The CLI then answers "c" and returns; hull-monitor execs `hull __exited --removed` for
// the rest (runtime state and cgroups, the overlay, whose unmount syncs the upper
// filesystem, the directory), in the monitor's pid, so `wait` returns after all of it.
void remove_exited(const ContainerConfig& cfg, const std::string& root, const std::string& run_root,
                   int status, Db& db, image::Store* images);
// `hull __relaunch`: after the back-off, launches the container again.
int monitor_relaunch(const MonitorHandover& h);

}  // namespace hull::engine

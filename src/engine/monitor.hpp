// The per-container monitor: one process of its own session (double-forked from the CLI,
// so neither the CLI's exit nor its terminal's hang-up touches it) that is the parent of
// the container's init for the container's whole life. It goes through three programs
// under the same pid (each execve keeps the pid, the child and the fds passed on):
//
//   hull (forked CLI)   launches the container with the runtime library (monitor_main),
//        |              reports "ok <pid>" to the CLI, then
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
// It talks to the CLI that started it over two pipes:
//   report (monitor -> CLI): "ok <pid>\n" once the program runs, or "err <status> <msg>\n";
//                            when attached, later "detached\n", or "exited <status>\n"
//                            when the program ended, then "exit <status>\n" once recorded
//   control (CLI -> monitor, attached only): "w" on SIGWINCH; after "exited": "d" when
//            the CLI recorded the exit and cleaned up itself (finish_exit: no restart
//            policy), "r" the same for --rm but for the overlay and the directory, which
//            hull-monitor removes once the CLI returned, "x" when the monitor must do it
//            all (hull __exited); EOF when the CLI is gone (the monitor does it all)
#pragma once

#include <cstdint>
#include <string>

#include "engine/record.hpp"
#include "oci/spec.hpp"

namespace hull::engine {

struct MonitorContext {
  std::string root, run_root, container_dir;
  std::string monitor_path;  // the hull-monitor binary
  Container container;
  oci::Spec spec;
  int report_fd = -1;
  int control_fd = -1;
  // The CLI's stdio, inherited, when attached; -1 otherwise.
  int in_fd = -1, out_fd = -1, err_fd = -1;
};

// The hull-monitor binary: $HULL_MONITOR, else next to this program.
Result<std::string> find_monitor_binary();

// Launches the container and becomes its monitor; never returns.
[[noreturn]] void monitor_main(MonitorContext& ctx);

// What hull-monitor hands to `hull __exited` / `hull __relaunch`.
struct MonitorHandover {
  std::string root, run_root, id;
  int status = 0;            // __exited: the program's exit status
  int64_t backoff_ms = 100;  // the next restart's delay
  int report_fd = -1;        // __exited: the attached CLI's report pipe
  bool stop = false;         // __relaunch: SIGTERM came during the back-off
  // finish_exit from an attached `run --rm`: leaves the overlay unmount (a sync of the
  // upper filesystem, tens of ms on a busy disk) and the directory's removal to
  // hull-monitor after the CLI returned; the record and the image hold go at once.
  bool leave_rootfs = false;
};

// `hull __exited`: records the exit, cleans up, restarts by policy. Returns the process
// exit status when it does not exec the monitor again.
int monitor_exited(const MonitorHandover& h);
// The same from an attached CLI, which hull-monitor asks first ("exited N").
int finish_exit(const MonitorHandover& h);
// `hull __relaunch`: after the back-off, launches the container again.
int monitor_relaunch(const MonitorHandover& h);

}  // namespace hull::engine

// The per-container monitor: a small process of its own session (double-forked from the
// CLI, so neither the CLI's exit nor its terminal's hang-up touches it) that launches the
// container with the runtime library, so it is the parent of the container's init: it
// holds the program's stdio or pty, writes the json-file log, reaps the program, records
// its exit code and time, restarts it by policy with docker's back-off, and removes it
// when it was run with --rm.
//
// It talks to the CLI that started it over two pipes:
//   report (monitor -> CLI): "ok <pid>\n" once the program runs, or "err <status> <msg>\n";
//                            when attached, later "exit <status>\n" or "detached\n"
//   control (CLI -> monitor, attached only): "w" on SIGWINCH; EOF when the CLI is gone
#pragma once

#include <string>

#include "engine/record.hpp"
#include "oci/spec.hpp"

namespace hull::engine {

struct MonitorContext {
  std::string root, run_root, container_dir;
  Container container;
  oci::Spec spec;
  int report_fd = -1;
  int control_fd = -1;
  // The CLI's stdio, inherited, when attached; -1 otherwise.
  int in_fd = -1, out_fd = -1, err_fd = -1;
};

// Runs the monitor; never returns.
[[noreturn]] void monitor_main(MonitorContext& ctx);

}  // namespace hull::engine

// The engine's operations, one per verb: the CLI parses flags and calls these. Paths:
//   <root>/containers.db                 records (record.hpp)
//   <root>/containers/<id>/              config.json (the spec), hosts, hostname,
//                                        resolv.conf, <id>-json.log, rootfs/ (image mount)
//   <root>/volumes/<name>/_data          named volumes
//   <run_root>/runtime/<id>/             the runtime's state (runtime/state.hpp)
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/logs.hpp"
#include "engine/record.hpp"
#include "engine/spec_builder.hpp"
#include "engine/update.hpp"
#include "image/store.hpp"
#include "runtime/state.hpp"

namespace hull::engine {

// Docker's exit statuses for failures of hull itself and of starting the program.
inline constexpr int kExitEngine = 125;
inline constexpr int kExitCannotInvoke = 126;
inline constexpr int kExitNotFound = 127;

// An error with the exit status the CLI should return.
struct RunError {
  int exit_code = kExitEngine;
  Error error;
};

struct StartOptions {
  bool attach = false;  // copy the program's output (and stdin with -i) to this process
  // Attached -it: the detach keys' bytes (common/detach_keys.hpp's parse); empty: docker's
  // ctrl-p ctrl-q.
  std::string detach_keys;
};

struct StartResult {
  pid_t pid = 0;
  std::optional<int> exit_code;  // when attached and the program ended
  bool detached = false;         // the detach keys
};

// `hull attach`: to a running container's main process, through its monitor's attach.sock
// (monitor/hull-monitor.c).
struct AttachOptions {
  bool no_stdin = false;    // output only, even for a -i container
  bool sig_proxy = true;    // forward this process's signals to the program (no -t only)
  std::string detach_keys;  // as StartOptions's
};

class LineReader;

class Engine {
 public:
  static Result<Engine> open(std::string root, std::string run_root);
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) = delete;
  ~Engine();

  const std::string& root() const { return root_; }
  const std::string& run_root() const { return run_root_; }
  std::string container_dir(const std::string& id) const { return root_ + "/containers/" + id; }
  std::string log_path(const std::string& id) const {
    return container_dir(id) + "/" + id + "-json.log";
  }
  const runtime::StateStore& store() const { return store_; }
  Db& db() { return db_; }

  // create: validate everything, then make the record, files and volumes. Nothing is left
  // behind on error. With `early` (run, which starts it next): the container's monitor is
  // forked first, so the runtime's set-up overlaps the records and the rootfs mount; then
  // start() must follow, with the same options.
  Result<Container> create(const RunOptions& o, const StartOptions* early = nullptr);
  // Spawns the container's monitor, which launches it; returns once it runs (or failed).
  std::expected<StartResult, RunError> start(const std::string& ref, const StartOptions& o);
  // Attaches this process's stdio to a running container (stdin with -i, unless no_stdin)
  // until the program ends (its exit code) or the detach keys are typed (-t).
  std::expected<StartResult, RunError> attach(const std::string& ref, const AttachOptions& o);
  // signal (default: the container's stop signal, SIGTERM unless set), then SIGKILL after
  // timeout seconds (default: the container's --stop-timeout; < 0: no limit).
  Status stop(const std::string& ref, std::optional<int> timeout,
              std::optional<int> signal = std::nullopt);
  Status kill(const std::string& ref, int signal);
  Status remove(const std::string& ref, bool force, bool volumes);
  Status pause(const std::string& ref, bool frozen);
  // docker's update (engine/update.hpp): limits applied to a live container's cgroup and
  // kept in its config.json, the restart policy in its record.
  Status update(const std::string& ref, const UpdateRequest& u);
  // Until the container stops; its exit code.
  Result<int> wait(const std::string& ref);
  Result<Container> find(const std::string& ref);
  // Every record, with states fixed up where a monitor died unseen.
  Result<std::vector<Container>> list();
  // Removes stopped containers and whatever a crash left behind; returns removed ids.
  Result<std::vector<std::string>> prune();
  // A record read earlier, with its state fixed up if its monitor died unseen: exited
  // with 255 unless a code was recorded. The record is read again before that, since
  // the monitor may have recorded the exit and ended after c was read.
  Result<Container> refresh(Container c);
  // Whether the monitor recorded in s is still that process.
  static bool monitor_alive(const ContainerState& s);
  // The spec written at create.
  Result<oci::Spec> load_spec(const std::string& id) const;

 private:
  Engine(std::string root, std::string run_root, Db db);
  // The image store, opened on first use and kept: one connection per process.
  Result<image::Store*> image_store();
  Status cleanup(const Container& c, bool volumes);
  Status mark_manual_stop(const std::string& id);
  std::string root_, run_root_;
  runtime::StateStore store_;
  Db db_;
  std::optional<image::Store> images_;
  std::optional<std::pair<Container, oci::Spec>> created_;  // the last create's
  struct Early;                   // a monitor create() forked for start() (monitor.hpp)
  std::unique_ptr<Early> early_;  // until start() takes it; else ended by abort_early()
  struct MonitorLink;
  Result<MonitorLink> monitor_link(const Container& c, std::string monitor, oci::Spec spec,
                                   const StartOptions& o) const;
  // An attached CLI's side, after "ok" (start) or an attach: signals (all of them with
  // proxy_signals, else SIGWINCH only) and the monitor's reports until the exit or a detach.
  std::expected<StartResult, RunError> follow(const Container& c, LineReader& report,
                                              int control_fd, bool proxy_signals);
  Status spawn_early(const Container& c, const oci::Spec& spec, const StartOptions& o);
  void abort_early();
};

// --detach-keys of run, start and attach: docker's grammar (common/detach_keys.hpp's
// parse, as exec's), at most kMaxDetachKeys keys (what hull-monitor watches for). An empty
// spec gives no bytes: the monitor's default, ctrl-p ctrl-q.
inline constexpr size_t kMaxDetachKeys = 16;
Result<std::string> parse_detach_keys(std::string_view spec);

// The exit status for a failure to launch: 127 not found, 126 cannot invoke, else 125.
int launch_exit_code(const Error& e);

}  // namespace hull::engine

// Container records: what `hull` knows about each container, in SQLite under the store
// (<root>/containers.db). A record is an immutable part (the configuration given at
// create) and a mutable state (status, pids, exit code, times), both kept as JSON so a
// new field needs no schema change. Names are unique; ids are 64 hex digits and any
// unique prefix names a container.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"

struct sqlite3;

namespace hull::engine {

enum class ContainerStatus { created, running, paused, restarting, exited, dead };
std::string_view status_name(ContainerStatus s);
std::optional<ContainerStatus> status_from_name(std::string_view s);

struct RestartPolicy {
  enum class Kind { no, on_failure, always, unless_stopped } kind = Kind::no;
  int max_retries = 0;  // on-failure:N; 0 = unlimited
  bool operator==(const RestartPolicy&) const = default;
};
Result<RestartPolicy> parse_restart_policy(std::string_view text);
std::string restart_policy_name(const RestartPolicy& p);

struct PortMapping {
  std::string host_ip;
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string proto = "tcp";
  uint16_t host_port_last = 0;  // -p 8000-8010:80: a range to pick from at start
  bool operator==(const PortMapping&) const = default;
};

struct MountRecord {  // for inspect's Mounts
  std::string type;   // bind, volume, tmpfs
  std::string name;   // volume name
  std::string source;
  std::string destination;
  bool rw = true;
  // A volume: the image's content at destination is copied into it while it is empty
  // (docker; `:nocopy` and `volume-nocopy` turn it off).
  bool copy = true;
  bool anonymous = false;  // a volume made for this container (`-v /dst`): `rm -v` removes it
  bool operator==(const MountRecord&) const = default;
};

// Fixed at create.
struct ContainerConfig {
  std::string id;
  std::string name;
  std::string image;                         // as the user named it
  std::string image_id;                      // "sha256:..." or "rootfs:<dir>"
  std::string rootfs_dir;                    // --rootfs: the directory used as the root filesystem
  std::vector<std::string> entrypoint, cmd;  // what runs, for ps and inspect
  int64_t created = 0;                       // unix nanoseconds
  bool tty = false, interactive = false, auto_remove = false;
  RestartPolicy restart;
  std::string stop_signal = "SIGTERM";
  int stop_timeout = 10;
  std::map<std::string, std::string> labels;
  std::vector<std::string> env;
  std::string hostname;
  std::string network = "none";  // none, host, container:NAME, or a network name
  std::vector<std::string> network_aliases;
  std::vector<PortMapping> ports;        // as asked: host_port 0 = picked at attach
  std::vector<std::string> extra_hosts;  // --add-host "name:ip" (host-gateway kept)
  std::string ip;                        // --ip: fixed address on the network
  std::string mac_address;               // --mac-address, "" = derived from the address
  std::string domainname;                // --domainname
  // --pid, --ipc, --uts: "" (a namespace of its own), "host", "container:<id>" (joined,
  // the id resolved at create, as docker's HostConfig shows it); --ipc also "shareable"
  // (its /dev/shm is a tmpfs of the host's, under the container's directory, that
  // --ipc container:<id> binds) and "none" (no /dev/shm).
  std::string pid_mode, ipc_mode, uts_mode;
  int64_t shm_size = 0;  // --ipc shareable: the size of that tmpfs
  std::vector<MountRecord> mounts;
  uint64_t log_max_size = 0;  // bytes, 0 = unlimited
  int log_max_file = 1;
  std::string user, workdir;
  std::vector<std::string> group_add;  // --group-add: names or gids
  bool init = false;
  // The CPU limit came from `update --cpu-quota/--cpu-period` (docker's CpuQuota and
  // CpuPeriod) rather than --cpus (NanoCpus): inspect shows it as such, and docker's
  // update refuses to mix the two.
  bool cpu_cfs = false;
  Json to_json() const;
  static Result<ContainerConfig> from_json(const Json& j);
};

// A mode that joins another container's namespace: "container:NAME" (--network, --pid,
// --ipc, --uts); container_of_mode is NAME.
inline bool joins_container(std::string_view mode) {
  return mode.starts_with("container:");
}
inline std::string_view container_of_mode(std::string_view mode) {
  return mode.substr(std::string_view("container:").size());
}

// Changes over the container's life; written by the CLI and by its monitor.
struct ContainerState {
  ContainerStatus status = ContainerStatus::created;
  pid_t pid = 0;  // container init, host pid
  pid_t monitor_pid = 0;
  uint64_t monitor_start = 0;  // start time of the monitor (pid reuse)
  int exit_code = 0;
  int64_t started_at = 0, finished_at = 0;  // unix ns
  int restart_count = 0;
  bool manual_stop = false;  // stopped by `hull stop`/`kill`: no restart
  bool oom_killed = false;
  std::string error;
  std::string ip;                  // address on its network, when attached
  std::vector<PortMapping> ports;  // published ports as attached: host_port resolved
  Json to_json() const;
  static Result<ContainerState> from_json(const Json& j);
};

struct Container {
  ContainerConfig config;
  ContainerState state;
};

// The database. One connection per process: the CLI's stays open across the fork of the
// monitor, which never uses it (nor opens one) before it execs.
class Db {
 public:
  static Result<Db> open(const std::string& root);
  Db(Db&& o) noexcept;
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Inserts a new container: "the container name "/x" is already in use" if taken.
  Status insert(const Container& c);
  // By exact id, exact name, or unique id prefix (docker's order).
  Result<Container> find(std::string_view ref);
  // The state alone, by full id (what the monitor's hand-overs update).
  Result<ContainerState> find_state(const std::string& id);
  Result<std::vector<Container>> list();
  Status save_state(const std::string& id, const ContainerState& s);
  // Reads a container's state, lets `change` edit it and writes it back if it returns
  // true, in one write transaction: no other writer (hull __exited, stop) lands between
  // the read and the write. Returns the state as it is afterwards; ENOENT if removed.
  Result<ContainerState> change_state(const std::string& id,
                                      const std::function<bool(ContainerState&)>& change);
  Status rename(const std::string& id, const std::string& new_name);
  // Replaces the configuration (the name stays: rename changes it).
  Status save_config(const std::string& id, const ContainerConfig& c);
  Status remove(const std::string& id);
  // Removes the record and keeps its exit code for an hour, so that `hull wait` on a
  // --rm container still learns how it ended (as docker's does).
  Status remove_with_exit(const std::string& id, int exit_code);
  std::optional<int> removed_exit(const std::string& id);
  // Volumes: a row per name, its directory under <root>/volumes (engine/volume_admin).
  // Adding a name already there changes nothing.
  Status add_volume(const std::string& name, const std::string& labels_json = "{}",
                    bool anonymous = false);
  struct VolumeRow {
    std::string name, labels_json;
    int64_t created = 0;
    bool anonymous = false;
  };
  // One volume (nullopt when there is no row) or all of them, by name.
  Result<std::optional<VolumeRow>> volume(const std::string& name);
  Result<std::vector<VolumeRow>> volumes();
  Status remove_volume(const std::string& name);
  const std::string& root() const { return root_; }

 private:
  Db() = default;
  Status exec(const char* sql);
  Status update_json(const char* sql, const Json& j, const std::string& id);
  sqlite3* db_ = nullptr;
  std::string root_;
};

// 64 random hex digits.
std::string new_container_id();
// Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+
Status validate_name(std::string_view name);
// A random "adjective_surname" name as docker makes.
std::string random_name();
int64_t now_ns();
std::string rfc3339(int64_t ns);

}  // namespace hull::engine

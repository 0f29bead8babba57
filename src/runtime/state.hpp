// Container state on disk: <root>/<id>/state.json, written atomically (temp, rename; no
// fsync, see write_state_file). The pid is stored with its start time (field 22 of
// /proc/PID/stat) so that a reused pid is never mistaken for the container's init.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"
#include "common/unique_fd.hpp"
#include "oci/spec.hpp"

namespace hull::runtime {

enum class ContainerStatus { creating, created, running, paused, stopped };
std::string_view status_name(ContainerStatus s);

struct State {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;
  std::string bundle;   // absolute
  std::string rootfs;   // absolute
  std::string created;  // RFC3339
  std::map<std::string, std::string> annotations;
  Json cgroup;  // cgroups::Manager::to_json(), null when none
  // linux.resources as last applied (create, then each `update`), OCI JSON; null if none.
  Json resources;
  oci::Hooks hooks;  // poststart and poststop are run by later verbs
  bool created_user_ns = false;
  // Init is pid 1 of a pid namespace of its own: once it is gone, so is every other
  // process of the container (the kernel kills them before init's exit is reported).
  bool own_pid_ns = false;
  bool no_new_keyring = false;  // exec's processes keep the caller's keyring too (runc)
  std::string owner;
  // Paths of the namespaces init lives in, for exec (/proc/<pid>/ns/* when alive).
  Json to_json() const;
  static Result<State> from_json(const Json& j);
};

// The OCI state document (`state` verb and hooks' stdin).
Json oci_state(const State& s, ContainerStatus status);

// Whether pid still names the process that had start_time.
bool process_alive(pid_t pid, uint64_t start_time);
Result<uint64_t> process_start_time(pid_t pid);

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string dir(const std::string& id) const { return root_ + "/" + id; }

  // Makes <root>/<id> exclusively: "container with id X already exists" if present.
  Result<UniqueFd> create_dir(const std::string& id) const;
  Status save(const State& s) const;
  // The same into the open <root>/<id> directory.
  Status save_at(int dirfd, const State& s) const;
  Result<State> load(const std::string& id) const;
  // The cgroup (Manager::to_json), noted before its directories are made and kept with
  // the state dir (state.cpp says where), for a destroy after a create that died before
  // state.json: its cgroup, and maybe its init, are left.
  Status save_cgroup_at(int dirfd, const Json& cgroup) const;
  Result<Json> load_cgroup(const std::string& id) const;
  Status remove(const std::string& id) const;
  Result<std::vector<std::string>> list() const;
  // Current status: stopped if init is gone, created while the exec fifo exists, paused
  // when the cgroup is frozen, else running.
  ContainerStatus status_of(const State& s) const;

 private:
  std::string root_;
};

// Writes name in dirfd through "<name>.tmp" and a rename, without fsync: for files that
// describe live processes (state.json, seccomp.bpf), which a crash ends anyway.
Status write_state_file(int dirfd, const std::string& name, std::string_view data);

// Container ids: [A-Za-z0-9_.-]+, at most 1024 bytes, not "." or "..".
Status validate_id(const std::string& id);

}  // namespace hull::runtime

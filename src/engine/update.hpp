// `hull update`: docker's update of a container's limits and restart policy. The new
// limits go to a live container's cgroup through the runtime's update (the one entry
// point that writes cgroup files), and into its config.json and record, so that inspect
// shows them and every later start (start, restart, the restart policy) applies them. A
// created or stopped container gets them at its next start.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "engine/record.hpp"
#include "oci/spec.hpp"

namespace hull::engine {

// The flags as typed; "" = not given.
struct UpdateOptions {
  std::string memory, memory_swap, memory_reservation;
  std::string cpus, cpu_shares, cpu_quota, cpu_period, cpuset_cpus, cpuset_mems;
  std::string pids_limit, blkio_weight, restart;
};

// The flags parsed (syntax only: ranges and how they fit the container are plan_update's).
struct UpdateRequest {
  std::optional<int64_t> memory, memory_swap, memory_reservation;  // bytes; swap -1: unlimited
  std::optional<double> cpus;
  std::optional<int64_t> cpu_shares, cpu_quota, cpu_period, pids_limit, blkio_weight;
  std::string cpuset_cpus, cpuset_mems;
  std::optional<RestartPolicy> restart;
  UpdateOptions typed;  // for messages
  bool empty() const;
};

// Errors name the flag and the value ("invalid --pids-limit \"x\": not an integer").
Result<UpdateRequest> parse_update(const UpdateOptions& o);

struct UpdatePlan {
  oci::Resources changes;  // what the update sets (for the runtime's live update)
  oci::Resources merged;   // the container's resources after it (its config.json's)
  ContainerConfig config;  // the record after it (restart policy, cpu_cfs)
  bool resources_changed = false, config_changed = false;
};

// The update of a container whose resources are `current` (its config.json's), as docker
// checks it: ranges (memory and reservation at least 6 MiB, cpu-period 1000..1000000,
// cpu-quota -1 or >= 1000, cpu-shares 2..262144, blkio-weight 10..1000), memory+swap at
// least memory, reservation at most memory, --cpus not mixed with --cpu-quota/--cpu-period
// (in one update or across updates), no restart policy with --rm, and, when the container
// runs, a memory limit not below `memory_usage` (bytes, as `hull stats` counts them).
// --memory alone keeps a memory+swap limit it fits under, and sets twice the memory
// where there was none (as `run -m` does).
Result<UpdatePlan> plan_update(const UpdateRequest& u, const oci::Resources& current,
                               const ContainerConfig& config,
                               std::optional<uint64_t> memory_usage = std::nullopt);

}  // namespace hull::engine

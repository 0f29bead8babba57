// Operations on a running container through its cgroup: pause/resume, live resource
// updates, its process list and its statistics and events (runc's pause, resume,
// update, ps, events).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"
#include "oci/spec.hpp"
#include "runtime/state.hpp"

namespace hull::runtime {

// Freezes every process of a created or running container; `state` then says "paused".
Status pause(const StateStore& store, const std::string& id);
Status resume(const StateStore& store, const std::string& id);
// Applies resources to a created, running or paused container (same rules as create):
// merged over the ones in state.json, which keeps the result for the next update.
Status update(const StateStore& store, const std::string& id, const oci::Resources& resources);
// base with every field that over sets replaced (lists replaced when over's is non-empty).
oci::Resources merge_resources(const oci::Resources& base, const oci::Resources& over);
// Every pid in the container's cgroup (host pid namespace), sorted.
Result<std::vector<pid_t>> processes(const StateStore& store, const std::string& id);
// runc's table `ps`: runs ps(1) on the host with ps_args (runc's default "-ef" when empty)
// and keeps its header and the rows whose PID column is one of pids.
Result<std::string> ps_table(const std::vector<pid_t>& pids, std::vector<std::string> ps_args);
// The filtering half of ps_table, on ps(1)'s output: the PID column is found by its name
// in the header, each row split on blanks as runc does.
Result<std::string> filter_ps_output(std::string_view output, const std::vector<pid_t>& pids);
// runc's {"type":"stats","id":...,"data":{cpu, memory, pids, blkio, hugetlb}}.
Result<Json> stats_event(const StateStore& store, const std::string& id);
// Emits a stats event every interval_ms and an {"type":"oom","id":...} event when the
// memory controller reports a new OOM kill, until the container stops.
Status events(const StateStore& store, const std::string& id, int interval_ms,
              const std::function<void(const Json&)>& emit);

}  // namespace hull::runtime

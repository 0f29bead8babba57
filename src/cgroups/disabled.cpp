// The disabled backend: rootless containers without a delegated cgroup, where the runtime
// may not create cgroups at all. Every query answers as an empty cgroup; asking for
// limits is refused by make_manager before this is chosen.
#include "cgroups/disabled.hpp"

namespace hull::cgroups {

Result<std::vector<pid_t>> Disabled::pids() const {
  return std::unexpected(Error{ENOTSUP, "cgroups are disabled for this container"});
}

Status Disabled::kill_all(int) {
  return std::unexpected(Error{ENOTSUP, "cgroups are disabled for this container"});
}

Status Disabled::freeze(bool) {
  return std::unexpected(Error{ENOTSUP, "cgroups are disabled for this container"});
}

}  // namespace hull::cgroups

// The disabled backend: rootless containers without a delegated cgroup, where the runtime
// may not create cgroups at all. Every query answers as an empty cgroup; asking for
// limits is refused by make_manager before this is chosen.
#include "cgroups/disabled.hpp"

namespace hull::cgroups {

Status Disabled::create(const oci::Resources* r, const Note&) {
  // Device rules are moot without a cgroup (an unprivileged user cannot mknod anyway);
  // real limits would silently not hold, so they are refused.
  if (!r) return {};
  const char* field = r->memory                     ? "memory"
                      : r->cpu                      ? "cpu"
                      : r->pids_limit               ? "pids"
                      : r->block_io                 ? "blockIO"
                      : !r->hugepage_limits.empty() ? "hugepageLimits"
                      : !r->unified.empty()         ? "unified"
                                                    : nullptr;
  if (field)
    return failf(
        "linux.resources.{}: cannot be applied: running rootless without a delegated cgroup "
        "(needs cgroup v2 with a writable cgroup of your own)",
        field);
  return {};
}

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

// Picks the backend. Until the v1 and v2 backends land, every container runs without
// a cgroup of its own and any resource limit is refused with a clear error.
#include "cgroups/disabled.hpp"

namespace hull::cgroups {

Result<std::unique_ptr<Manager>> make_manager(const Options&) {
  return std::make_unique<Disabled>();
}

Result<std::unique_ptr<Manager>> load_manager(const Json&) {
  return std::make_unique<Disabled>();
}

}  // namespace hull::cgroups

// hull's default seccomp profile: allow by default and deny (EPERM) the calls a container
// has no business making unless it was given the capability that would allow them, as
// Docker's profile does with its per-capability includes.
#pragma once

#include <vector>

#include "oci/spec.hpp"

namespace hull::engine {

// caps: the container's bounding set (CAP_* numbers).
oci::Seccomp default_seccomp_profile(const std::vector<int>& caps);

}  // namespace hull::engine

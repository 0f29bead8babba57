// The `features` document (runtime-spec features.md): what this runtime implements, for
// engines that ask before they build a config.json.
#pragma once

#include "common/json.hpp"

namespace hull::oci {

inline constexpr const char* kSpecVersionMin = "1.0.0";

Json features_document();

}  // namespace hull::oci

// RLIMIT_* names as config.json spells them (process.rlimits[].type).
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace hull::oci {

struct RlimitName {
  std::string_view name;  // "RLIMIT_NOFILE"
  int value;
};

std::span<const RlimitName> rlimit_table();
std::optional<int> rlimit_from_name(std::string_view name);
std::string_view rlimit_name(int value);  // empty when unknown

}  // namespace hull::oci

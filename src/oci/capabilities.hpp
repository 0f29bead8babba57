// Linux capability names and numbers (linux/capability.h), CAP_CHOWN (0) to
// CAP_CHECKPOINT_RESTORE (40), as a constexpr table: no libcap call is needed to read a
// config.json.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace hull::oci {

struct CapabilityName {
  std::string_view name;  // "CAP_CHOWN"
  int value;
};

inline constexpr int kLastCapability = 40;  // CAP_CHECKPOINT_RESTORE, Linux 5.9

// Every known capability, indexed by number.
std::span<const CapabilityName> capability_table();

// "CAP_SYS_ADMIN" exactly, as config.json spells it (runc matches case-sensitively).
std::optional<int> capability_from_name(std::string_view name);

// The engine's --cap-add/--cap-drop spelling: "SYS_ADMIN", "sys_admin" or "CAP_SYS_ADMIN",
// case-insensitive (Docker accepts all of them). "ALL" is the caller's business.
std::optional<int> capability_from_user_name(std::string_view name);

// "CAP_CHOWN" for 0; empty for a number outside the table.
std::string_view capability_name(int value);

}  // namespace hull::oci

#include "oci/capabilities.hpp"

#include <array>

namespace hull::oci {
namespace {

constexpr std::array<CapabilityName, kLastCapability + 1> kCapabilities{{
    {"CAP_CHOWN", 0},
    {"CAP_DAC_OVERRIDE", 1},
    {"CAP_DAC_READ_SEARCH", 2},
    {"CAP_FOWNER", 3},
    {"CAP_FSETID", 4},
    {"CAP_KILL", 5},
    {"CAP_SETGID", 6},
    {"CAP_SETUID", 7},
    {"CAP_SETPCAP", 8},
    {"CAP_LINUX_IMMUTABLE", 9},
    {"CAP_NET_BIND_SERVICE", 10},
    {"CAP_NET_BROADCAST", 11},
    {"CAP_NET_ADMIN", 12},
    {"CAP_NET_RAW", 13},
    {"CAP_IPC_LOCK", 14},
    {"CAP_IPC_OWNER", 15},
    {"CAP_SYS_MODULE", 16},
    {"CAP_SYS_RAWIO", 17},
    {"CAP_SYS_CHROOT", 18},
    {"CAP_SYS_PTRACE", 19},
    {"CAP_SYS_PACCT", 20},
    {"CAP_SYS_ADMIN", 21},
    {"CAP_SYS_BOOT", 22},
    {"CAP_SYS_NICE", 23},
    {"CAP_SYS_RESOURCE", 24},
    {"CAP_SYS_TIME", 25},
    {"CAP_SYS_TTY_CONFIG", 26},
    {"CAP_MKNOD", 27},
    {"CAP_LEASE", 28},
    {"CAP_AUDIT_WRITE", 29},
    {"CAP_AUDIT_CONTROL", 30},
    {"CAP_SETFCAP", 31},
    {"CAP_MAC_OVERRIDE", 32},
    {"CAP_MAC_ADMIN", 33},
    {"CAP_SYSLOG", 34},
    {"CAP_WAKE_ALARM", 35},
    {"CAP_BLOCK_SUSPEND", 36},
    {"CAP_AUDIT_READ", 37},
    {"CAP_PERFMON", 38},
    {"CAP_BPF", 39},
    {"CAP_CHECKPOINT_RESTORE", 40},
}};

constexpr bool table_is_indexed() {
  for (size_t i = 0; i < kCapabilities.size(); ++i)
    if (kCapabilities[i].value != static_cast<int>(i)) return false;
  return true;
}
static_assert(table_is_indexed());

constexpr char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

}  // namespace

std::span<const CapabilityName> capability_table() {
  return kCapabilities;
}

std::optional<int> capability_from_name(std::string_view name) {
  for (const auto& c : kCapabilities)
    if (c.name == name) return c.value;
  return std::nullopt;
}

std::optional<int> capability_from_user_name(std::string_view name) {
  if (name.size() > 4 && iequals(name.substr(0, 4), "CAP_")) name.remove_prefix(4);
  for (const auto& c : kCapabilities)
    if (iequals(c.name.substr(4), name)) return c.value;
  return std::nullopt;
}

std::string_view capability_name(int value) {
  if (value < 0 || value > kLastCapability) return {};
  return kCapabilities[static_cast<size_t>(value)].name;
}

}  // namespace hull::oci

#include "oci/rlimits.hpp"

#include <sys/resource.h>

#include <array>

namespace hull::oci {
namespace {

constexpr std::array<RlimitName, 16> kRlimits{{
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
}};

}  // namespace

std::span<const RlimitName> rlimit_table() {
  return kRlimits;
}

std::optional<int> rlimit_from_name(std::string_view name) {
  for (const auto& r : kRlimits)
    if (r.name == name) return r.value;
  return std::nullopt;
}

std::string_view rlimit_name(int value) {
  for (const auto& r : kRlimits)
    if (r.value == value) return r.name;
  return {};
}

}  // namespace hull::oci

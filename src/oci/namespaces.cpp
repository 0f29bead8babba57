#include <sched.h>

#include <array>

#include "oci/spec.hpp"

namespace hull::oci {
namespace {

struct NamespaceInfo {
  NamespaceType type;
  std::string_view name;       // config.json
  std::string_view proc_name;  // /proc/PID/ns/
  int clone_flag;
};

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080  // Linux 5.6
#endif

// Indexed by NamespaceType.
constexpr std::array<NamespaceInfo, 8> kNamespaces{{
    {NamespaceType::pid, "pid", "pid", CLONE_NEWPID},
    {NamespaceType::network, "network", "net", CLONE_NEWNET},
    {NamespaceType::mount, "mount", "mnt", CLONE_NEWNS},
    {NamespaceType::ipc, "ipc", "ipc", CLONE_NEWIPC},
    {NamespaceType::uts, "uts", "uts", CLONE_NEWUTS},
    {NamespaceType::user, "user", "user", CLONE_NEWUSER},
    {NamespaceType::cgroup, "cgroup", "cgroup", CLONE_NEWCGROUP},
    {NamespaceType::time, "time", "time", CLONE_NEWTIME},
}};

constexpr bool table_is_indexed() {
  for (size_t i = 0; i < kNamespaces.size(); ++i)
    if (static_cast<size_t>(kNamespaces[i].type) != i) return false;
  return true;
}
static_assert(table_is_indexed());

const NamespaceInfo& info(NamespaceType t) {
  return kNamespaces[static_cast<size_t>(t)];
}

}  // namespace

std::string_view namespace_name(NamespaceType t) {
  return info(t).name;
}
int namespace_clone_flag(NamespaceType t) {
  return info(t).clone_flag;
}
std::string_view namespace_proc_name(NamespaceType t) {
  return info(t).proc_name;
}

std::optional<NamespaceType> namespace_from_name(std::string_view name) {
  for (const auto& n : kNamespaces)
    if (n.name == name) return n.type;
  return std::nullopt;
}

std::span<const NamespaceType> all_namespace_types() {
  static constexpr std::array<NamespaceType, 8> kAll{
      NamespaceType::pid, NamespaceType::network, NamespaceType::mount,  NamespaceType::ipc,
      NamespaceType::uts, NamespaceType::user,    NamespaceType::cgroup, NamespaceType::time};
  return kAll;
}

}  // namespace hull::oci

#include "oci/seccomp_names.hpp"

#include <algorithm>
#include <array>

namespace hull::oci {
namespace {

constexpr std::array<SeccompActionName, 9> kActions{{
    {"SCMP_ACT_KILL", SeccompAction::kill},
    {"SCMP_ACT_KILL_PROCESS", SeccompAction::kill_process},
    {"SCMP_ACT_KILL_THREAD", SeccompAction::kill_thread},
    {"SCMP_ACT_TRAP", SeccompAction::trap},
    {"SCMP_ACT_ERRNO", SeccompAction::errno_},
    {"SCMP_ACT_TRACE", SeccompAction::trace},
    {"SCMP_ACT_ALLOW", SeccompAction::allow},
    {"SCMP_ACT_LOG", SeccompAction::log},
    {"SCMP_ACT_NOTIFY", SeccompAction::notify},
}};

constexpr std::array<std::string_view, 7> kOperators{
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

constexpr std::array<std::string_view, 20> kArchs{
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
};

constexpr std::array<std::string_view, 4> kFlags{
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

template <size_t N>
bool contains(const std::array<std::string_view, N>& table, std::string_view name) {
  return std::find(table.begin(), table.end(), name) != table.end();
}

}  // namespace

std::span<const SeccompActionName> seccomp_action_table() {
  return kActions;
}

std::optional<SeccompAction> seccomp_action_from_name(std::string_view name) {
  for (const auto& a : kActions)
    if (a.name == name) return a.action;
  return std::nullopt;
}

std::string_view seccomp_action_name(SeccompAction action) {
  for (const auto& a : kActions)
    if (a.action == action) return a.name;
  return {};
}

std::span<const std::string_view> seccomp_operator_names() {
  return kOperators;
}
std::span<const std::string_view> seccomp_arch_names() {
  return kArchs;
}
std::span<const std::string_view> seccomp_flag_names() {
  return kFlags;
}

bool is_seccomp_operator(std::string_view name) {
  return contains(kOperators, name);
}
bool is_seccomp_arch(std::string_view name) {
  return contains(kArchs, name);
}
bool is_seccomp_flag(std::string_view name) {
  return contains(kFlags, name);
}

}  // namespace hull::oci

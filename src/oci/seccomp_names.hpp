// The seccomp vocabulary of config.json (linux.seccomp): actions, argument operators,
// architectures and filter flags, as libseccomp and the runtime-spec spell them.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "oci/spec.hpp"

namespace hull::oci {

struct SeccompActionName {
  std::string_view name;  // "SCMP_ACT_ERRNO"
  SeccompAction action;
};

std::span<const SeccompActionName> seccomp_action_table();
std::optional<SeccompAction> seccomp_action_from_name(std::string_view name);
std::string_view seccomp_action_name(SeccompAction action);

std::span<const std::string_view> seccomp_operator_names();  // SCMP_CMP_NE, ...
std::span<const std::string_view> seccomp_arch_names();      // SCMP_ARCH_X86_64, ...
std::span<const std::string_view> seccomp_flag_names();      // SECCOMP_FILTER_FLAG_LOG, ...

bool is_seccomp_operator(std::string_view name);
bool is_seccomp_arch(std::string_view name);
bool is_seccomp_flag(std::string_view name);

}  // namespace hull::oci

#include "oci/features.hpp"

#include "oci/capabilities.hpp"
#include "oci/seccomp_names.hpp"
#include "oci/spec.hpp"

namespace hull::oci {
namespace {

template <class Range>
Json names(const Range& range) {
  Json a = Json::array();
  for (std::string_view n : range) a.push_back(n);
  return a;
}

}  // namespace

Json features_document() {
  Json caps = Json::array();
  for (const auto& c : capability_table()) caps.push_back(c.name);
  Json namespaces = Json::array();
  for (NamespaceType t : all_namespace_types()) namespaces.push_back(namespace_name(t));
  Json actions = Json::array();
  for (const auto& a : seccomp_action_table()) actions.push_back(a.name);

  return Json{
      {"ociVersionMin", kSpecVersionMin},
      {"ociVersionMax", kSpecVersion},
      {"hooks",
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions", names(mount_option_names())},
      {"linux",
       {
           {"namespaces", std::move(namespaces)},
           {"capabilities", std::move(caps)},
           {"cgroup",
            {{"v1", true},
             {"v2", true},
             {"systemd", false},
             {"systemdUser", false},
             {"rdma", false}}},
           {"seccomp",
            {{"enabled", true},
             {"actions", std::move(actions)},
             {"operators", names(seccomp_operator_names())},
             {"archs", names(seccomp_arch_names())},
             {"knownFlags", names(seccomp_flag_names())},
             {"supportedFlags", names(seccomp_flag_names())}}},
           // "enabled" is support in the runtime, not on this host (features.md): an
           // apparmorProfile is applied where AppArmor is on. SELinux stays false while
           // linux.mountLabel is not applied.
           {"apparmor", {{"enabled", true}}},
           {"selinux", {{"enabled", false}}},
           {"intelRdt", {{"enabled", false}}},
           {"mountExtensions", {{"idmap", {{"enabled", false}}}}},
       }},
      {"annotations", {{"io.github.hull.version", HULL_VERSION}}},
  };
}

}  // namespace hull::oci

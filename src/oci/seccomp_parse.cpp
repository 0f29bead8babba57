// linux.seccomp: names are checked against the tables here; compiling the filter is the
// runtime's (libseccomp), which also rejects syscall names unknown to this architecture.
#include "oci/parse_parts.hpp"
#include "oci/seccomp_names.hpp"

namespace hull::oci::detail {
namespace {

Result<SeccompAction> read_action(const Json& j, const Path& p) {
  std::string_view name = HULL_TRY(read_string_view(j, p));
  auto a = seccomp_action_from_name(name);
  if (!a) return field_fail(p, "unknown seccomp action \"{}\"", name);
  return *a;
}

Result<SeccompArg> read_arg(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  SeccompArg a;
  const Json* index = member(j, "index");
  if (!index) return field_fail(p / "index", "required");
  a.index = HULL_TRY(read_int<unsigned>(*index, p / "index"));
  if (a.index > 5) return field_fail(p / "index", "{} is not a syscall argument (0 to 5)", a.index);
  const Json* value = member(j, "value");
  if (!value) return field_fail(p / "value", "required");
  a.value = HULL_TRY(read_int<uint64_t>(*value, p / "value"));
  HULL_CHECK(read_member(j, p, "valueTwo", a.value_two));
  const Json* op = member(j, "op");
  if (!op) return field_fail(p / "op", "required");
  a.op = HULL_TRY(read_string(*op, p / "op"));
  if (!is_seccomp_operator(a.op)) return field_fail(p / "op", "unknown operator \"{}\"", a.op);
  return a;
}

Result<SeccompSyscall> read_syscall(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  SeccompSyscall s;
  HULL_CHECK(read_member(j, p, "names", s.names));
  if (s.names.empty()) return field_fail(p / "names", "required: at least one syscall name");
  for (size_t i = 0; i < s.names.size(); ++i)
    if (s.names[i].empty()) return field_fail((p / "names")[i], "empty syscall name");
  const Json* action = member(j, "action");
  if (!action) return field_fail(p / "action", "required");
  s.action = HULL_TRY(read_action(*action, p / "action"));
  HULL_CHECK(read_member(j, p, "errnoRet", s.errno_ret));
  HULL_CHECK(for_each_element(j, p, "args", [&](const Json& a, const Path& ap) -> Status {
    s.args.push_back(HULL_TRY(read_arg(a, ap)));
    return {};
  }));
  return s;
}

}  // namespace

Result<Seccomp> read_seccomp(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  Seccomp s;
  const Json* def = member(j, "defaultAction");
  if (!def) return field_fail(p / "defaultAction", "required");
  s.default_action = HULL_TRY(read_action(*def, p / "defaultAction"));
  if (s.default_action == SeccompAction::notify)
    return field_fail(p / "defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
  HULL_CHECK(read_member(j, p, "defaultErrnoRet", s.default_errno_ret));
  HULL_CHECK(read_member(j, p, "architectures", s.architectures));
  for (size_t i = 0; i < s.architectures.size(); ++i)
    if (!is_seccomp_arch(s.architectures[i]))
      return field_fail((p / "architectures")[i], "unknown architecture \"{}\"",
                        s.architectures[i]);
  HULL_CHECK(read_member(j, p, "flags", s.flags));
  for (size_t i = 0; i < s.flags.size(); ++i)
    if (!is_seccomp_flag(s.flags[i]))
      return field_fail((p / "flags")[i], "unknown seccomp flag \"{}\"", s.flags[i]);
  HULL_CHECK(read_member(j, p, "listenerPath", s.listener_path));
  HULL_CHECK(read_member(j, p, "listenerMetadata", s.listener_metadata));
  HULL_CHECK(for_each_element(j, p, "syscalls", [&](const Json& sc, const Path& sp) -> Status {
    SeccompSyscall call = HULL_TRY(read_syscall(sc, sp));
    if (call.action == SeccompAction::notify && s.listener_path.empty())
      return field_fail(sp / "action", "SCMP_ACT_NOTIFY needs {}", (p / "listenerPath").str());
    s.syscalls.push_back(std::move(call));
    return {};
  }));
  return s;
}

}  // namespace hull::oci::detail

namespace hull::oci {

Result<Seccomp> parse_seccomp(const Json& j, std::string_view field) {
  return detail::guarded({}, [&] { return detail::read_seccomp(j, detail::Path(field)); });
}

}  // namespace hull::oci

// process: args, env, cwd, user, capabilities, rlimits and the small flags.
#include "common/log.hpp"
#include "oci/capabilities.hpp"
#include "oci/parse_parts.hpp"
#include "oci/rlimits.hpp"

namespace hull::oci::detail {
namespace {

Result<User> read_user(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  User u;
  HULL_CHECK(read_member(j, p, "uid", u.uid));
  HULL_CHECK(read_member(j, p, "gid", u.gid));
  HULL_CHECK(read_member(j, p, "umask", u.umask));
  if (u.umask && *u.umask > 0777) return field_fail(p / "umask", "{:#o} is not a umask", *u.umask);
  HULL_CHECK(for_each_element(j, p, "additionalGids", [&](const Json& g, const Path& gp) -> Status {
    u.additional_gids.push_back(HULL_TRY(read_int<gid_t>(g, gp)));
    return {};
  }));
  return u;
}

// Unknown names are skipped with a warning, as runc does: an engine newer than this
// runtime may ask for a capability this table does not know yet.
Status read_cap_set(const Json& j, const Path& p, std::string_view key, std::vector<int>& out) {
  return for_each_element(j, p, key, [&](const Json& c, const Path& cp) -> Status {
    if (!c.is_string()) return field_fail(cp, "expected a string, got {}", json_type_name(c));
    const auto& name = c.get_ref<const std::string&>();
    if (auto v = capability_from_name(name)) {
      out.push_back(*v);
    } else {
      log::warn("config.json: {}: unknown capability \"{}\", ignored", cp.str(), name);
    }
    return {};
  });
}

Result<Capabilities> read_capabilities(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  Capabilities c;
  HULL_CHECK(read_cap_set(j, p, "bounding", c.bounding));
  HULL_CHECK(read_cap_set(j, p, "effective", c.effective));
  HULL_CHECK(read_cap_set(j, p, "inheritable", c.inheritable));
  HULL_CHECK(read_cap_set(j, p, "permitted", c.permitted));
  HULL_CHECK(read_cap_set(j, p, "ambient", c.ambient));
  return c;
}

Result<Rlimit> read_rlimit(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  Rlimit r;
  const Json* type = member(j, "type");
  if (!type) return field_fail(p / "type", "required");
  r.name = HULL_TRY(read_string(*type, p / "type"));
  auto v = rlimit_from_name(r.name);
  if (!v) return field_fail(p / "type", "unknown rlimit \"{}\"", r.name);
  r.type = *v;
  for (auto [key, out] : {std::pair{"hard", &r.hard}, std::pair{"soft", &r.soft}}) {
    const Json* n = member(j, key);
    if (!n) return field_fail(p / key, "required");
    *out = HULL_TRY(read_int<uint64_t>(*n, p / key));
  }
  if (r.soft > r.hard)
    return field_fail(p, "soft limit {} is above the hard limit {}", r.soft, r.hard);
  return r;
}

Status check_env(const std::string& kv, const Path& p) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos) return field_fail(p, "\"{}\" is not NAME=VALUE", kv);
  if (eq == 0) return field_fail(p, "\"{}\": empty variable name", kv);
  return {};
}

}  // namespace

bool is_absolute(std::string_view p) {
  return !p.empty() && p.front() == '/';
}

Result<Process> read_process(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  Process out;
  HULL_CHECK(read_member(j, p, "terminal", out.terminal));
  if (const Json* cs = member(j, "consoleSize")) {
    Path cp = p / "consoleSize";
    HULL_CHECK(expect_object(*cs, cp));
    ConsoleSize size;
    HULL_CHECK(read_member(*cs, cp, "height", size.height));
    HULL_CHECK(read_member(*cs, cp, "width", size.width));
    out.console_size = size;
  }
  if (const Json* u = member(j, "user")) out.user = HULL_TRY(read_user(*u, p / "user"));

  const Json* args = member(j, "args");
  if (!args) return field_fail(p / "args", "required: the program to run");
  out.args = HULL_TRY(read_strings(*args, p / "args"));
  if (out.args.empty()) return field_fail(p / "args", "must not be empty: the program to run");
  if (out.args[0].empty()) return field_fail((p / "args")[0], "empty program name");

  HULL_CHECK(read_member(j, p, "env", out.env));
  for (size_t i = 0; i < out.env.size(); ++i) HULL_CHECK(check_env(out.env[i], (p / "env")[i]));
  // REQUIRED by the runtime-spec; runc and crun refuse a process without it.
  if (!member(j, "cwd")) return field_fail(p / "cwd", "required: the working directory");
  HULL_CHECK(read_member(j, p, "cwd", out.cwd));
  if (!is_absolute(out.cwd))
    return field_fail(p / "cwd", "\"{}\" is not an absolute path", out.cwd);

  if (const Json* c = member(j, "capabilities"))
    out.capabilities = HULL_TRY(read_capabilities(*c, p / "capabilities"));
  HULL_CHECK(for_each_element(j, p, "rlimits", [&](const Json& r, const Path& rp) -> Status {
    Rlimit rl = HULL_TRY(read_rlimit(r, rp));
    for (const auto& prev : out.rlimits)
      if (prev.type == rl.type) return field_fail(rp / "type", "duplicate rlimit \"{}\"", rl.name);
    out.rlimits.push_back(std::move(rl));
    return {};
  }));
  HULL_CHECK(read_member(j, p, "noNewPrivileges", out.no_new_privileges));
  HULL_CHECK(read_member(j, p, "oomScoreAdj", out.oom_score_adj));
  if (out.oom_score_adj && (*out.oom_score_adj < -1000 || *out.oom_score_adj > 1000))
    return field_fail(p / "oomScoreAdj", "{} is outside -1000..1000", *out.oom_score_adj);
  HULL_CHECK(read_member(j, p, "apparmorProfile", out.apparmor_profile));
  HULL_CHECK(read_member(j, p, "selinuxLabel", out.selinux_label));
  return out;
}

}  // namespace hull::oci::detail

// config.json: the top level (root, mounts, hooks, annotations), the rules that span
// sections, and the public parse entry points.
#include <algorithm>

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "oci/parse_parts.hpp"

namespace hull::oci {
namespace detail {
namespace {

Result<Root> read_root(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  Root r;
  HULL_CHECK(read_member(j, p, "path", r.path));
  if (r.path.empty()) return field_fail(p / "path", "required: the container's root filesystem");
  HULL_CHECK(read_member(j, p, "readonly", r.readonly));
  return r;
}

// "/", "//", "/." or "/a/..": runc and crun refuse a mount on the root, which pivot_root
// would put under the rootfs itself.
bool names_root(std::string_view path) {
  int depth = 0;
  for (auto part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    depth = part == ".." ? std::max(depth - 1, 0) : depth + 1;
  }
  return depth == 0;
}

Result<Mount> read_mount(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  Mount m;
  HULL_CHECK(read_member(j, p, "destination", m.destination));
  if (m.destination.empty()) return field_fail(p / "destination", "required");
  if (!is_absolute(m.destination))
    return field_fail(p / "destination", "\"{}\" is not an absolute path", m.destination);
  if (names_root(m.destination))
    return field_fail(p / "destination", "\"{}\" is the root: a mount there would be hidden",
                      m.destination);
  HULL_CHECK(read_member(j, p, "type", m.type));
  HULL_CHECK(read_member(j, p, "source", m.source));
  HULL_CHECK(read_member(j, p, "options", m.options));
  auto opts = parse_mount_options(m.options, m.type);
  if (!opts) return std::unexpected(field_error(p / "options", opts.error().message));
  m.flags = opts->flags;
  m.clear_flags = opts->clear_flags;
  m.propagation = opts->propagation;
  m.data = std::move(opts->data);
  m.bind = opts->bind;
  m.recursive = opts->recursive;
  m.copy_up = opts->copy_up;
  m.rec_attr_set = opts->rec_attr_set;
  m.rec_attr_clr = opts->rec_attr_clr;
  if (m.bind && m.source.empty()) return field_fail(p / "source", "required for a bind mount");
  return m;
}

Result<Hook> read_hook(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  Hook h;
  HULL_CHECK(read_member(j, p, "path", h.path));
  if (!is_absolute(h.path))
    return field_fail(p / "path", "{}", h.path.empty() ? "required" : "not an absolute path");
  HULL_CHECK(read_member(j, p, "args", h.args));
  HULL_CHECK(read_member(j, p, "env", h.env));
  HULL_CHECK(read_member(j, p, "timeout", h.timeout));
  if (h.timeout && *h.timeout <= 0) return field_fail(p / "timeout", "must be positive");
  return h;
}

Result<Hooks> read_hooks(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  Hooks hooks;
  for (auto [key, list] :
       {std::pair{"prestart", &hooks.prestart}, std::pair{"createRuntime", &hooks.create_runtime},
        std::pair{"createContainer", &hooks.create_container},
        std::pair{"startContainer", &hooks.start_container},
        std::pair{"poststart", &hooks.poststart}, std::pair{"poststop", &hooks.poststop}}) {
    HULL_CHECK(for_each_element(j, p, key, [&](const Json& h, const Path& hp) -> Status {
      list->push_back(HULL_TRY(read_hook(h, hp)));
      return {};
    }));
  }
  return hooks;
}

// Rules that need more than one section, checked as runc's validator does.
Status check_spec(const Spec& s, const Path& p) {
  const Linux& l = s.linux;
  if (!s.hostname.empty() && !l.has_namespace(NamespaceType::uts))
    return field_fail(p / "hostname", "needs a uts namespace in linux.namespaces");
  if (!s.domainname.empty() && !l.has_namespace(NamespaceType::uts))
    return field_fail(p / "domainname", "needs a uts namespace in linux.namespaces");
  const Namespace* user = l.find_namespace(NamespaceType::user);
  bool mappings = !l.uid_mappings.empty() || !l.gid_mappings.empty();
  if (user && !user->path.empty() && mappings) {
    size_t i = static_cast<size_t>(user - l.namespaces.data());
    return field_fail((p / "linux" / "namespaces")[i] / "path",
                      "a user namespace joined by path cannot also have "
                      "linux.uidMappings/gidMappings");
  }
  if (!user && mappings)
    return field_fail(p / "linux" / (l.uid_mappings.empty() ? "gidMappings" : "uidMappings"),
                      "needs a user namespace in linux.namespaces");
  if (user && user->path.empty() && !mappings)
    return field_fail(p / "linux" / "uidMappings",
                      "required with a new user namespace (or a namespace path to join)");
  return {};
}

Result<Spec> read_spec(const Json& j) {
  Path p;
  HULL_CHECK(expect_object(j, p));
  Spec s;
  HULL_CHECK(read_member(j, p, "ociVersion", s.oci_version));
  if (const Json* proc = member(j, "process"))
    s.process = HULL_TRY(read_process(*proc, p / "process"));
  const Json* root = member(j, "root");
  if (!root) return field_fail(p / "root" / "path", "required: the container's root filesystem");
  s.root = HULL_TRY(read_root(*root, p / "root"));
  HULL_CHECK(read_member(j, p, "hostname", s.hostname));
  HULL_CHECK(read_member(j, p, "domainname", s.domainname));
  HULL_CHECK(for_each_element(j, p, "mounts", [&](const Json& m, const Path& mp) -> Status {
    s.mounts.push_back(HULL_TRY(read_mount(m, mp)));
    return {};
  }));
  if (const Json* hooks = member(j, "hooks")) s.hooks = HULL_TRY(read_hooks(*hooks, p / "hooks"));
  HULL_CHECK(read_member(j, p, "annotations", s.annotations));
  if (const Json* linux = member(j, "linux")) s.linux = HULL_TRY(read_linux(*linux, p / "linux"));
  HULL_CHECK(check_spec(s, p));
  return s;
}

}  // namespace
}  // namespace detail

Result<Spec> parse_spec(std::string_view text) {
  return detail::parse_document(text, "config.json", detail::read_spec);
}

Result<Spec> load_spec(const std::string& bundle_dir) {
  std::string path = bundle_dir.empty() ? "config.json" : bundle_dir + "/config.json";
  auto text = fs::read_file(path);
  if (!text) return std::unexpected(std::move(text).error());
  return parse_spec(*text);
}

Result<Process> parse_process(std::string_view text, std::string_view source) {
  return detail::parse_document(text, source,
                                [](const Json& j) { return detail::read_process(j, {}); });
}

Result<Resources> parse_resources(std::string_view text, std::string_view source) {
  return detail::parse_document(text, source,
                                [](const Json& j) { return detail::read_resources(j, {}); });
}

}  // namespace hull::oci

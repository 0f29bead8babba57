// linux: namespaces, id mappings, devices, paths, sysctl; resources and seccomp have
// their own files.
#include <algorithm>
#include <array>

#include "oci/parse_parts.hpp"

namespace hull::oci::detail {
namespace {

Status read_namespaces(const Json& j, const Path& p, std::vector<Namespace>& out) {
  return for_each_element(j, p, "namespaces", [&](const Json& n, const Path& np) -> Status {
    HULL_CHECK(expect_object(n, np));
    const Json* type = member(n, "type");
    if (!type) return field_fail(np / "type", "required");
    std::string_view name = HULL_TRY(read_string_view(*type, np / "type"));
    auto t = namespace_from_name(name);
    if (!t) return field_fail(np / "type", "unknown namespace type \"{}\"", name);
    for (const auto& prev : out)
      if (prev.type == *t) return field_fail(np / "type", "duplicate namespace type \"{}\"", name);
    Namespace ns{*t, {}};
    HULL_CHECK(read_member(n, np, "path", ns.path));
    if (!ns.path.empty() && !is_absolute(ns.path))
      return field_fail(np / "path", "\"{}\" is not an absolute path", ns.path);
    out.push_back(std::move(ns));
    return {};
  });
}

Status read_mappings(const Json& j, const Path& p, std::string_view key,
                     std::vector<IdMapping>& out) {
  return for_each_element(j, p, key, [&](const Json& m, const Path& mp) -> Status {
    HULL_CHECK(expect_object(m, mp));
    IdMapping id;
    for (auto [name, field] : {std::pair{"containerID", &id.container_id},
                               std::pair{"hostID", &id.host_id}, std::pair{"size", &id.size}}) {
      const Json* v = member(m, name);
      if (!v) return field_fail(mp / name, "required");
      *field = HULL_TRY(read_int<uint32_t>(*v, mp / name));
    }
    if (id.size == 0) return field_fail(mp / "size", "must not be zero");
    out.push_back(id);
    return {};
  });
}

Result<Device> read_device(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  Device d;
  HULL_CHECK(read_member(j, p, "path", d.path));
  if (!is_absolute(d.path))
    return field_fail(p / "path", "{}", d.path.empty() ? "required" : "not an absolute path");
  const Json* type = member(j, "type");
  if (!type) return field_fail(p / "type", "required");
  std::string_view t = HULL_TRY(read_string_view(*type, p / "type"));
  if (t.size() != 1 || (t[0] != 'c' && t[0] != 'b' && t[0] != 'u' && t[0] != 'p'))
    return field_fail(p / "type", "unknown device type \"{}\" (c, b, u or p)", t);
  d.type = t[0];
  if (d.type != 'p') {
    for (auto [name, field] : {std::pair{"major", &d.major}, std::pair{"minor", &d.minor}}) {
      const Json* v = member(j, name);
      if (!v) return field_fail(p / name, "required for a '{}' device", d.type);
      *field = HULL_TRY(read_int<int64_t>(*v, p / name));
      if (*field < 0) return field_fail(p / name, "must not be negative");
    }
  }
  HULL_CHECK(read_member(j, p, "fileMode", d.file_mode));
  if (d.file_mode && *d.file_mode > 07777)
    return field_fail(p / "fileMode", "{:#o} has bits beyond the permission bits", *d.file_mode);
  HULL_CHECK(read_member(j, p, "uid", d.uid));
  HULL_CHECK(read_member(j, p, "gid", d.gid));
  return d;
}

Status read_paths(const Json& j, const Path& p, std::string_view key,
                  std::vector<std::string>& out) {
  HULL_CHECK(read_member(j, p, key, out));
  for (size_t i = 0; i < out.size(); ++i)
    if (!is_absolute(out[i]))
      return field_fail((p / key)[i], "\"{}\" is not an absolute path", out[i]);
  return {};
}

constexpr std::array<std::string_view, 8> kPropagations{
    "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"};

}  // namespace

Result<Linux> read_linux(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  Linux out;
  HULL_CHECK(read_namespaces(j, p, out.namespaces));
  HULL_CHECK(read_mappings(j, p, "uidMappings", out.uid_mappings));
  HULL_CHECK(read_mappings(j, p, "gidMappings", out.gid_mappings));
  HULL_CHECK(for_each_element(j, p, "devices", [&](const Json& d, const Path& dp) -> Status {
    out.devices.push_back(HULL_TRY(read_device(d, dp)));
    return {};
  }));
  HULL_CHECK(read_member(j, p, "cgroupsPath", out.cgroups_path));
  if (const Json* r = member(j, "resources"))
    out.resources = HULL_TRY(read_resources(*r, p / "resources"));
  HULL_CHECK(read_member(j, p, "rootfsPropagation", out.rootfs_propagation));
  if (!out.rootfs_propagation.empty() && std::find(kPropagations.begin(), kPropagations.end(),
                                                   out.rootfs_propagation) == kPropagations.end())
    return field_fail(p / "rootfsPropagation", "unknown propagation \"{}\"",
                      out.rootfs_propagation);
  HULL_CHECK(read_paths(j, p, "maskedPaths", out.masked_paths));
  HULL_CHECK(read_paths(j, p, "readonlyPaths", out.readonly_paths));
  HULL_CHECK(read_member(j, p, "sysctl", out.sysctl));
  if (const Json* s = member(j, "seccomp")) out.seccomp = HULL_TRY(read_seccomp(*s, p / "seccomp"));
  HULL_CHECK(read_member(j, p, "mountLabel", out.mount_label));
  if (const Json* t = member(j, "timeOffsets")) {
    Path tp = p / "timeOffsets";
    HULL_CHECK(expect_object(*t, tp));
    for (const auto& [clock, v] : t->items()) {
      if (clock != "monotonic" && clock != "boottime")
        return field_fail(tp / clock, "unknown clock (want monotonic or boottime)");
      HULL_CHECK(expect_object(v, tp / clock));
      Linux::TimeOffset off;
      HULL_CHECK(read_member(v, tp / clock, "secs", off.secs));
      HULL_CHECK(read_member(v, tp / clock, "nanosecs", off.nanosecs));
      if (off.nanosecs >= 1000000000u)
        return field_fail(tp / clock / "nanosecs", "must be below 1000000000");
      out.time_offsets[clock] = off;
    }
  }
  if (const Json* pe = member(j, "personality")) {
    Path pp = p / "personality";
    HULL_CHECK(expect_object(*pe, pp));
    HULL_CHECK(read_member(*pe, pp, "domain", out.personality));
    if (out.personality != "LINUX" && out.personality != "LINUX32")
      return field_fail(pp / "domain", "unknown personality domain \"{}\" (LINUX or LINUX32)",
                        out.personality);
    std::vector<std::string> flags;
    HULL_CHECK(read_member(*pe, pp, "flags", flags));
    if (!flags.empty()) return field_fail(pp / "flags", "personality flags are not supported");
  }
  return out;
}

}  // namespace hull::oci::detail

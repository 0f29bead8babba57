// Picks the backend from the host's layout: v1 controllers (pure v1 or hybrid) -> V1,
// a cgroup2 tree with the controllers -> V2, rootless without a delegated cgroup ->
// Disabled. Hybrid hosts (v1 controllers plus an empty cgroup2 tree, as on this machine)
// get the v1 backend with a directory in the cgroup2 tree as well; crun refuses them.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "cgroups/disabled.hpp"
#include "cgroups/files.hpp"
#include "cgroups/v1.hpp"
#include "cgroups/v2.hpp"

namespace hull::cgroups {

Result<std::unique_ptr<Manager>> make_manager(const Options& o, const Layout& l) {
  if (l.kind() == Kind::v2) {
    if (l.unified.empty()) return fail("no cgroup2 filesystem is mounted");
    auto rel = HULL_TRY(plan_path(l.unified_own, o.cgroups_path, o.id));
    if (o.rootless && !l.fake) {
      // Delegation (systemd's Delegate=yes, or a chown by an admin) makes the caller's
      // own cgroup writable; without it a rootless container runs in no cgroup.
      std::string own = detail::join_path(l.unified, l.unified_own);
      if (::access(own.c_str(), W_OK) != 0 || ::access((own + "/cgroup.procs").c_str(), W_OK) != 0)
        return std::make_unique<Disabled>();
      if (!o.cgroups_path.empty() && o.cgroups_path.front() == '/')
        rel = HULL_TRY(plan_path(l.unified_own, o.cgroups_path.substr(1), o.id));
    }
    return std::make_unique<V2>(l.unified, rel, o.devices, l.fake);
  }
  if (o.rootless && !l.fake) return std::make_unique<Disabled>();
  std::vector<V1::Dir> dirs;
  std::string rel;
  for (const auto& h : l.v1) {
    auto p = HULL_TRY(plan_path(h.own, o.cgroups_path, o.id));
    dirs.push_back({h.controllers, detail::join_path(h.mount, p)});
    bool memory =
        std::find(h.controllers.begin(), h.controllers.end(), "memory") != h.controllers.end();
    if (rel.empty() || memory) rel = p;
  }
  std::string unified;
  if (!l.unified.empty())
    unified =
        detail::join_path(l.unified, HULL_TRY(plan_path(l.unified_own, o.cgroups_path, o.id)));
  return std::make_unique<V1>(std::move(dirs), std::move(unified), std::move(rel), o.devices,
                              l.fake);
}

Result<std::unique_ptr<Manager>> make_manager(const Options& o) {
  auto layout = host_layout();
  if (!layout) return std::unexpected(layout.error().wrap("detect cgroup layout"));
  // HULL_CGROUP_FORCE=v2 on a hybrid host runs the v2 backend on the cgroup2 tree alone
  // (no controllers there: freeze, kill, procs and the device program only). For tests.
  if (const char* f = ::getenv("HULL_CGROUP_FORCE");
      f && std::string_view(f) == "v2" && !layout->unified.empty()) {
    Layout v2 = *layout;
    v2.v1.clear();
    return make_manager(o, v2);
  }
  return make_manager(o, *layout);
}

Result<std::unique_ptr<Manager>> load_manager(const Json& saved) {
  std::string kind = saved.is_object() ? saved.value("kind", "") : "";
  if (kind == "v1") {
    auto m = HULL_TRY(V1::load(saved));
    return std::unique_ptr<Manager>(std::move(m));
  }
  if (kind == "v2") {
    auto m = HULL_TRY(V2::load(saved));
    return std::unique_ptr<Manager>(std::move(m));
  }
  if (kind == "disabled") return std::make_unique<Disabled>();
  return failf("state: unknown cgroup kind \"{}\"", kind);
}

}  // namespace hull::cgroups

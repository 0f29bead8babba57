// Host layout detection, path planning and the v1 -> v2 value conversions.
#include <algorithm>
#include <map>
#include <mutex>

#include "cgroups/files.hpp"
#include "cgroups/manager.hpp"
#include "common/fs.hpp"
#include "common/mountinfo.hpp"
#include "common/strings.hpp"

namespace hull::cgroups {
namespace {

bool has_real_controller(const Hierarchy& h) {
  return std::any_of(h.controllers.begin(), h.controllers.end(),
                     [](const std::string& c) { return c.rfind("name=", 0) != 0; });
}

// The caller's path inside a mount whose root is not the hierarchy's root (a bind of a
// sub-cgroup, or a cgroup namespace): strip the mount's root.
std::string own_in_mount(const std::string& own, const std::string& root) {
  if (root == "/" || root.empty()) return own.empty() ? "/" : own;
  if (own.rfind(root, 0) == 0 && (own.size() == root.size() || own[root.size()] == '/')) {
    std::string rest = own.substr(root.size());
    return rest.empty() ? "/" : rest;
  }
  return "/";
}

}  // namespace

Kind Layout::kind() const {
  for (const auto& h : v1)
    if (has_real_controller(h)) return Kind::v1;
  return Kind::v2;
}

const Hierarchy* Layout::find_v1(std::string_view controller) const {
  for (const auto& h : v1)
    for (const auto& c : h.controllers)
      if (c == controller) return &h;
  return nullptr;
}

Result<Layout> parse_layout(std::string_view mountinfo, std::string_view proc_self_cgroup) {
  // /proc/self/cgroup: "ID:controllers:path"; ID 0 with no controllers is cgroup2.
  std::vector<std::pair<std::vector<std::string>, std::string>> own_v1;
  std::string own_v2;
  bool have_v2 = false;
  for (auto line : split(proc_self_cgroup, '\n')) {
    if (line.empty()) continue;
    auto a = line.find(':');
    auto b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) return failf("/proc/self/cgroup: bad line \"{}\"", line);
    auto ctrls = line.substr(a + 1, b - a - 1);
    std::string path(line.substr(b + 1));
    if (line.substr(0, a) == "0" && ctrls.empty()) {
      own_v2 = path;
      have_v2 = true;
      continue;
    }
    std::vector<std::string> names;
    for (auto c : split(ctrls, ',')) names.emplace_back(c);
    own_v1.emplace_back(std::move(names), std::move(path));
  }

  Layout l;
  auto mounts = parse_mountinfo(mountinfo);
  // A mount hidden by a later one on the same point (a tmpfs over the cgroup2 tree, as
  // crun users do on hybrid hosts) is not usable: only the top mount of a point counts.
  std::map<std::string, size_t> top;
  for (size_t i = 0; i < mounts.size(); ++i) top[mounts[i].mount_point] = i;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const auto& m = mounts[i];
    if (top[m.mount_point] != i) continue;
    if (m.fstype == "cgroup2") {
      if (!l.unified.empty()) continue;  // the first mount of the tree wins
      l.unified = m.mount_point;
      l.unified_own = own_in_mount(have_v2 ? own_v2 : "/", m.root);
      continue;
    }
    if (m.fstype != "cgroup") continue;
    // The superblock options name the controllers: "rw,cpu,cpuacct" or "rw,name=systemd".
    std::vector<std::string> ctrls;
    for (auto o : split(m.super_options, ',')) {
      if (o == "rw" || o == "ro" || o.starts_with("release_agent=") || o == "clone_children" ||
          o == "noprefix" || o == "xattr" || o == "cpuset_v2_mode" || o == "favordynmods")
        continue;
      ctrls.emplace_back(o);
    }
    if (ctrls.empty()) continue;
    bool seen = std::any_of(l.v1.begin(), l.v1.end(),
                            [&](const Hierarchy& h) { return h.controllers == ctrls; });
    if (seen) continue;
    Hierarchy h;
    h.controllers = ctrls;
    h.mount = m.mount_point;
    for (const auto& [names, path] : own_v1) {
      auto sorted_a = names, sorted_b = ctrls;
      std::sort(sorted_a.begin(), sorted_a.end());
      std::sort(sorted_b.begin(), sorted_b.end());
      if (sorted_a == sorted_b) h.own = own_in_mount(path, m.root);
    }
    l.v1.push_back(std::move(h));
  }
  if (l.v1.empty() && l.unified.empty()) return fail("no cgroup filesystem is mounted");
  return l;
}

Result<Layout> host_layout() {
  static std::once_flag once;
  static Result<Layout> cached = fail("unset");
  std::call_once(once, [] {
    auto mi = fs::read_file("/proc/self/mountinfo");
    auto cg = fs::read_file("/proc/self/cgroup");
    if (!mi)
      cached = std::unexpected(mi.error());
    else if (!cg)
      cached = std::unexpected(cg.error());
    else
      cached = parse_layout(*mi, *cg);
    if (cached && !cached->unified.empty()) {
      if (auto c = fs::read_file(cached->unified + "/cgroup.controllers"))
        for (auto n : split(trim(*c), ' '))
          if (!n.empty()) cached->unified_controllers.emplace_back(n);
    }
  });
  return cached;
}

Result<std::string> plan_path(const std::string& own, const std::string& cgroups_path,
                              const std::string& id) {
  const std::string& p = cgroups_path.empty() ? id : cgroups_path;
  if (p.empty()) return fail("cgroup path: empty (no cgroupsPath and no id)");
  for (auto part : split(p, '/'))
    if (part == "..") return failf("linux.cgroupsPath \"{}\": \"..\" is not allowed", cgroups_path);
  std::string out = p.front() == '/' ? detail::join_path("/", p) : detail::join_path(own, p);
  if (out == "/") return failf("linux.cgroupsPath \"{}\": names the root cgroup", cgroups_path);
  return out;
}

Result<std::string> sub_cgroup_path(std::string_view sub) {
  std::string out;
  for (auto part : split(sub, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return failf(
          "sub-cgroup \"{}\": \"..\" is not allowed (it must stay inside the "
          "container's cgroup)",
          sub);
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

bool exec_joins_init_cgroup(Kind kind, int err, bool explicit_sub_cgroup) {
  return kind == Kind::v2 && !explicit_sub_cgroup && (err == EBUSY || err == EOPNOTSUPP);
}

Result<std::string> unified_path(std::string_view proc_pid_cgroup) {
  for (auto line : split(proc_pid_cgroup, '\n'))
    if (line.starts_with("0::")) return std::string(line.substr(3));
  return fail("no cgroup2 entry (0::) in /proc/PID/cgroup", ENOENT);
}

Result<std::string> init_sub_path(std::string_view container, std::string_view init) {
  auto trimmed = [](std::string_view p) {
    while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
    return p;
  };
  container = trimmed(container);
  init = trimmed(init);
  std::string_view prefix = container == "/" ? "" : container;
  if (init.size() <= prefix.size() + 1 || !init.starts_with(prefix) || init[prefix.size()] != '/')
    return failf("the init's cgroup {} is not below the container's cgroup {}", init, container);
  return sub_cgroup_path(init.substr(prefix.size() + 1));
}

uint64_t shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  if (weight < 10) weight = 10;
  if (weight > 1000) weight = 1000;
  return 1 + ((weight - 10) * 9999) / 990;
}

Result<std::optional<int64_t>> swap_to_v2(std::optional<int64_t> swap,
                                          std::optional<int64_t> limit) {
  if (!swap || *swap == 0) return std::optional<int64_t>{};
  if (*swap == -1) return std::optional<int64_t>{-1};
  if (!limit || *limit == 0 || *limit == -1)
    return fail("linux.resources.memory.swap: needs memory.limit on cgroup v2");
  // runc's words: any other negative limit is not a size (and swap - limit would overflow).
  if (*limit < 0) return failf("linux.resources.memory.limit: invalid memory value {}", *limit);
  if (*swap < *limit)
    return failf("linux.resources.memory.swap ({}) must not be less than memory.limit ({})", *swap,
                 *limit);
  return std::optional<int64_t>{*swap - *limit};
}

}  // namespace hull::cgroups

#include "cgroups/v1.hpp"

#include "cgroups/stats.hpp"

#include <dirent.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "cgroups/devices.hpp"
#include "cgroups/stats.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace hull::cgroups {
namespace {

void sleep_ms(int ms) {
  timespec ts{0, ms * 1000000L};
  ::nanosleep(&ts, nullptr);
}

std::string limit_str(int64_t v) {
  return v < 0 ? "-1" : std::to_string(v);
}

bool is_errno(const Status& s, int code) {
  return !s && s.error().code == code;
}

}  // namespace

V1::V1(std::vector<Dir> dirs, std::string unified_dir, std::string rel_path,
       std::vector<oci::Device> devices, bool fake)
    : dirs_(std::move(dirs)),
      unified_(std::move(unified_dir)),
      rel_(std::move(rel_path)),
      devices_(std::move(devices)) {
  files_.fake = fake;
}

const std::string* V1::dir_of(std::string_view controller) const {
  for (const auto& d : dirs_)
    for (const auto& c : d.controllers)
      if (c == controller) return &d.path;
  return nullptr;
}

Result<const std::string*> V1::need(std::string_view controller, std::string_view field) const {
  if (const auto* d = dir_of(controller)) return d;
  return failf("linux.resources.{}: the cgroup v1 \"{}\" controller is not mounted", field,
               controller);
}

Status V1::create(const oci::Resources* resources, const Note& note) {
  auto undo = [this](Error e) -> Status {
    (void)destroy();
    return std::unexpected(std::move(e));
  };
  std::vector<std::string> all;
  for (const auto& d : dirs_) all.push_back(d.path);
  if (!unified_.empty()) all.push_back(unified_);
  for (const auto& dir : all) {
    auto made = files_.make_dirs(
        dir, [&](const std::vector<std::string>& planned) { return note_planned(note, planned); });
    if (!made) return undo(made.error());
    // cpuset: a new cgroup starts with no cpus and mems, and a task cannot join it until
    // they are set: copy them down from the parent at every level made.
    const std::string* cpuset = dir_of("cpuset");
    if (cpuset && *cpuset == dir) {
      // A new cgroup's values are empty (or, with clone_children, already the parent's),
      // so they are not read first.
      for (const auto& m : *made) {
        std::string parent = m.substr(0, m.rfind('/'));
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
          auto v = files_.read(parent, f);
          if (!v) continue;  // a fake tree without the parent's value
          if (auto r = files_.write(m, f, trim(*v)); !r) return undo(r.error());
        }
      }
    }
    created_.insert(created_.end(), made->begin(), made->end());
  }
  // The release agent (if the host set one) learns when the container's cgroups empty.
  for (const auto& d : dirs_)
    if (auto r = files_.write(d.path, "notify_on_release", "1"); !r) return undo(r.error());

  if (!resources) return {};
  if (!resources->devices.empty() && dir_of("devices")) {
    if (auto r = apply_devices(device_rules(resources->devices, devices_)); !r)
      return undo(r.error());
  }
  oci::Resources rest = *resources;
  rest.devices.clear();
  if (auto r = apply(rest); !r) return undo(r.error());
  return {};
}

Status V1::add_pid(pid_t pid) {
  std::string p = std::to_string(pid);
  for (const auto& d : dirs_) HULL_CHECK(files_.write(d.path, "cgroup.procs", p));
  if (!unified_.empty()) HULL_CHECK(files_.write(unified_, "cgroup.procs", p));
  return {};
}

Manager::SelfJoin V1::self_join() const {
  SelfJoin j;
  if (files_.fake) return j;
  for (const auto& d : dirs_) j.tasks.push_back(d.path + "/tasks");
  j.clone_into = unified_;
  return j;
}

Status V1::add_pid_after_self_join(pid_t pid, bool cloned_into) {
  if (unified_.empty() || cloned_into) return {};
  return files_.write(unified_, "cgroup.procs", std::to_string(pid));
}

Status V1::apply_devices(const std::vector<oci::DeviceRule>& rules) {
  const std::string* dir = HULL_TRY(need("devices", "devices"));
  std::vector<detail::Files::Line> lines;
  for (const auto& r : rules) {
    auto w = HULL_TRY(v1_device_line(r));
    lines.push_back({std::string(w.file), std::string(w.line)});
  }
  return files_.write_lines(*dir, lines);
}

Status V1::apply_memory(const oci::MemoryResources& m) {
  const std::string* dir = HULL_TRY(need("memory", "memory"));
  bool have_memsw = files_.has(*dir, "memory.memsw.limit_in_bytes");
  if (m.swap && !have_memsw && *m.swap != -1 && (!m.limit || *m.swap != *m.limit))
    return fail(
        "linux.resources.memory.swap: this kernel has no swap accounting "
        "(memory.memsw.limit_in_bytes is missing)");
  // memory.memsw.limit_in_bytes (memory + swap) must never be below memory.limit_in_bytes:
  // when raising both, memsw goes first.
  bool swap_done = false;
  if (m.limit) {
    auto r = files_.write(*dir, "memory.limit_in_bytes", limit_str(*m.limit));
    if (!r && m.swap && have_memsw && (is_errno(r, EINVAL) || is_errno(r, EBUSY))) {
      HULL_CHECK(files_.write(*dir, "memory.memsw.limit_in_bytes", limit_str(*m.swap)));
      swap_done = true;
      r = files_.write(*dir, "memory.limit_in_bytes", limit_str(*m.limit));
    }
    if (!r) return std::unexpected(r.error().wrap("linux.resources.memory.limit"));
  }
  if (m.swap && have_memsw && !swap_done)
    HULL_CHECK(files_.write(*dir, "memory.memsw.limit_in_bytes", limit_str(*m.swap)));
  if (m.reservation)
    HULL_CHECK(files_.write(*dir, "memory.soft_limit_in_bytes", limit_str(*m.reservation)));
  if (m.swappiness && *m.swappiness <= 100)
    HULL_CHECK(files_.write(*dir, "memory.swappiness", std::to_string(*m.swappiness)));
  else if (m.swappiness && *m.swappiness != UINT64_MAX)  // runc's -1 means "leave it"
    return failf("linux.resources.memory.swappiness {}: must be 0 to 100", *m.swappiness);
  if (m.disable_oom_killer && *m.disable_oom_killer)
    HULL_CHECK(files_.write(*dir, "memory.oom_control", "1"));
  if (m.use_hierarchy)
    HULL_CHECK(files_.write(*dir, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0"));
  // Kernel memory limits are gone since Linux 5.16 (runc ignores them too).
  if (m.kernel || m.kernel_tcp) log::debug("cgroup: memory.kernel and kernelTCP are ignored");
  return {};
}

Status V1::apply_cpu(const oci::CpuResources& c) {
  if (c.shares || c.quota || c.period || c.burst || c.realtime_period || c.realtime_runtime ||
      c.idle) {
    const std::string* dir = HULL_TRY(need("cpu", "cpu"));
    if (c.shares && *c.shares)
      HULL_CHECK(files_.write(*dir, "cpu.shares", std::to_string(*c.shares)));
    // The period bounds the quota: try period first; if the kernel refuses (the old quota
    // does not fit the new period), write the quota first.
    auto period = [&]() -> Status {
      if (!c.period || !*c.period) return {};
      return files_.write(*dir, "cpu.cfs_period_us", std::to_string(*c.period));
    };
    auto quota = [&]() -> Status {
      if (!c.quota || !*c.quota) return {};
      return files_.write(*dir, "cpu.cfs_quota_us", std::to_string(*c.quota < 0 ? -1 : *c.quota));
    };
    if (auto r = period(); !r) {
      HULL_CHECK(quota());
      HULL_CHECK(period());
    } else {
      HULL_CHECK(quota());
    }
    if (c.burst) HULL_CHECK(files_.write(*dir, "cpu.cfs_burst_us", std::to_string(*c.burst)));
    if (c.realtime_period && *c.realtime_period)
      HULL_CHECK(files_.write(*dir, "cpu.rt_period_us", std::to_string(*c.realtime_period)));
    if (c.realtime_runtime && *c.realtime_runtime)
      HULL_CHECK(files_.write(*dir, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime)));
    if (c.idle) HULL_CHECK(files_.write(*dir, "cpu.idle", *c.idle ? "1" : "0"));
  }
  if (!c.cpus.empty() || !c.mems.empty()) {
    const std::string* dir = HULL_TRY(need("cpuset", "cpu.cpus"));
    if (!c.cpus.empty()) HULL_CHECK(files_.write(*dir, "cpuset.cpus", c.cpus));
    if (!c.mems.empty()) HULL_CHECK(files_.write(*dir, "cpuset.mems", c.mems));
  }
  return {};
}

Status V1::apply_blkio(const oci::BlockIoResources& b) {
  const std::string* dir = HULL_TRY(need("blkio", "blockIO"));
  // With the bfq scheduler the weight files carry a "bfq." prefix.
  bool bfq = !files_.has(*dir, "blkio.weight") && files_.has(*dir, "blkio.bfq.weight");
  std::string weight = bfq ? "blkio.bfq.weight" : "blkio.weight";
  if (b.weight && *b.weight) HULL_CHECK(files_.write(*dir, weight, std::to_string(*b.weight)));
  if (b.leaf_weight && *b.leaf_weight)
    HULL_CHECK(files_.write(*dir, "blkio.leaf_weight", std::to_string(*b.leaf_weight)));
  for (const auto& d : b.weight_device) {
    if (d.weight)
      HULL_CHECK(files_.write(*dir, weight + "_device",
                              fmt::format("{}:{} {}", d.major, d.minor, *d.weight)));
    if (d.leaf_weight)
      HULL_CHECK(files_.write(*dir, "blkio.leaf_weight_device",
                              fmt::format("{}:{} {}", d.major, d.minor, *d.leaf_weight)));
  }
  auto throttle = [&](const std::vector<oci::ThrottleDevice>& list, const char* file) -> Status {
    for (const auto& t : list)
      HULL_CHECK(files_.write(*dir, file, fmt::format("{}:{} {}", t.major, t.minor, t.rate)));
    return {};
  };
  HULL_CHECK(throttle(b.throttle_read_bps_device, "blkio.throttle.read_bps_device"));
  HULL_CHECK(throttle(b.throttle_write_bps_device, "blkio.throttle.write_bps_device"));
  HULL_CHECK(throttle(b.throttle_read_iops_device, "blkio.throttle.read_iops_device"));
  HULL_CHECK(throttle(b.throttle_write_iops_device, "blkio.throttle.write_iops_device"));
  return {};
}

Status V1::apply(const oci::Resources& r) {
  if (!r.unified.empty())
    return fail("linux.resources.unified: needs cgroup v2, this host uses cgroup v1 controllers");
  if (r.memory) HULL_CHECK(apply_memory(*r.memory));
  if (r.cpu) HULL_CHECK(apply_cpu(*r.cpu));
  if (r.pids_limit && *r.pids_limit != 0) {
    const std::string* dir = HULL_TRY(need("pids", "pids"));
    HULL_CHECK(
        files_.write(*dir, "pids.max", *r.pids_limit < 0 ? "max" : std::to_string(*r.pids_limit)));
  }
  if (r.block_io) HULL_CHECK(apply_blkio(*r.block_io));
  if (!r.hugepage_limits.empty()) {
    const std::string* dir = HULL_TRY(need("hugetlb", "hugepageLimits"));
    for (const auto& h : r.hugepage_limits) {
      if (h.page_size.empty() || h.page_size.find('/') != std::string::npos)
        return failf("linux.resources.hugepageLimits: bad pageSize \"{}\"", h.page_size);
      HULL_CHECK(files_.write(*dir, fmt::format("hugetlb.{}.limit_in_bytes", h.page_size),
                              std::to_string(h.limit)));
    }
  }
  if (!r.devices.empty()) HULL_CHECK(apply_devices(device_rules(r.devices, {})));
  return {};
}

Status V1::freeze(bool want) {
  const std::string* dir = dir_of("freezer");
  if (!dir) {
    if (!unified_.empty() && files_.has(unified_, "cgroup.freeze"))
      return files_.write(unified_, "cgroup.freeze", want ? "1" : "0");
    return fail("cannot freeze: the cgroup v1 \"freezer\" controller is not mounted");
  }
  const char* target = want ? "FROZEN" : "THAWED";
  if (files_.fake) return files_.write(*dir, "freezer.state", target);
  // FREEZING can last while tasks are busy in the kernel; rewrite now and then, as runc
  // does, and give up after ~2 s.
  for (int i = 0; i < 400; ++i) {
    if (i % 25 == 0) HULL_CHECK(files_.write(*dir, "freezer.state", target));
    auto s = files_.read(*dir, "freezer.state");
    if (!s) return std::unexpected(s.error());
    if (trim(*s) == target) return {};
    sleep_ms(5);
  }
  if (want) (void)files_.write(*dir, "freezer.state", "THAWED");
  return failf("cgroup {}: freezer did not reach {}", *dir, target);
}

Result<bool> V1::frozen() const {
  const std::string* dir = dir_of("freezer");
  if (!dir) {
    if (!unified_.empty() && files_.has(unified_, "cgroup.events"))
      return files_.read_keyed(unified_, "cgroup.events", "frozen") == 1;
    return false;
  }
  auto s = HULL_TRY(files_.read(*dir, "freezer.state"));
  return trim(s) != "THAWED";
}

Result<std::vector<pid_t>> V1::pids() const {
  // The unified tree (hybrid) and the freezer list every process; any other works too.
  if (!unified_.empty() && !files_.fake) return files_.procs_recursive(unified_);
  for (const char* c : {"freezer", "pids", "memory"})
    if (const auto* d = dir_of(c)) return files_.procs_recursive(*d);
  if (dirs_.empty()) return std::vector<pid_t>{};
  return files_.procs_recursive(dirs_.front().path);
}

Status V1::kill_all(int signal) {
  // cgroup.kill (Linux 5.14) kills the whole subtree atomically, forks included.
  if (signal == SIGKILL && !unified_.empty() && files_.has(unified_, "cgroup.kill")) {
    HULL_CHECK(files_.write(unified_, "cgroup.kill", "1"));
    // v1-frozen tasks die only once thawed.
    if (dir_of("freezer") && frozen().value_or(false)) HULL_CHECK(freeze(false));
    return {};
  }
  bool was_frozen = frozen().value_or(false);
  bool can_freeze =
      dir_of("freezer") || (!unified_.empty() && files_.has(unified_, "cgroup.freeze"));
  if (can_freeze && !was_frozen) HULL_CHECK(freeze(true));
  auto list = pids();
  Status result;
  if (!list) {
    result = std::unexpected(list.error());
  } else {
    for (pid_t p : *list)
      if (::kill(p, signal) < 0 && errno != ESRCH) {
        result = sys_failf("kill {} with signal {}", p, signal);
        break;
      }
  }
  // A frozen task only acts on SIGKILL once thawed; other signals keep a paused
  // container paused.
  if (can_freeze && (!was_frozen || signal == SIGKILL)) HULL_CHECK(freeze(false));
  return result;
}

Result<Stats> V1::stats() const {
  Stats s;
  if (const auto* d = dir_of("cpuacct")) {
    s.cpu.usage_total = files_.read_u64(*d, "cpuacct.usage");
    if (files_.has(*d, "cpuacct.usage_user")) {
      s.cpu.usage_user = files_.read_u64(*d, "cpuacct.usage_user");
      s.cpu.usage_kernel = files_.read_u64(*d, "cpuacct.usage_sys");
    } else {
      // cpuacct.stat counts USER_HZ ticks.
      uint64_t hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
      if (hz == 0) hz = 100;
      s.cpu.usage_user = files_.read_keyed(*d, "cpuacct.stat", "user") * (1000000000 / hz);
      s.cpu.usage_kernel = files_.read_keyed(*d, "cpuacct.stat", "system") * (1000000000 / hz);
    }
    auto per_cpu = [&](const char* file, std::vector<uint64_t>& out) {
      if (auto per = files_.read(*d, file))
        for (auto v : split(trim(*per), ' '))
          if (auto n = parse_int<uint64_t>(v)) out.push_back(*n);
    };
    per_cpu("cpuacct.usage_percpu", s.cpu.percpu);
    per_cpu("cpuacct.usage_percpu_sys", s.cpu.percpu_kernel);
    per_cpu("cpuacct.usage_percpu_user", s.cpu.percpu_user);
  }
  if (const auto* d = dir_of("cpuset")) {
    if (auto t = files_.read(*d, "cpuset.effective_cpus")) s.cpuset.cpus = parse_id_list(*t);
    if (auto t = files_.read(*d, "cpuset.effective_mems")) s.cpuset.mems = parse_id_list(*t);
    // runc's names for the v1 cpuset flags, in its order.
    constexpr std::pair<const char*, const char*> kFlags[] = {
        {"cpu_exclusive", "cpuset.cpu_exclusive"},
        {"mem_hardwall", "cpuset.mem_hardwall"},
        {"mem_exclusive", "cpuset.mem_exclusive"},
        {"memory_migrate", "cpuset.memory_migrate"},
        {"memory_spread_page", "cpuset.memory_spread_page"},
        {"memory_spread_slab", "cpuset.memory_spread_slab"},
        {"memory_pressure", "cpuset.memory_pressure"},
        {"sched_load_balance", "cpuset.sched_load_balance"},
        {"sched_relax_domain_level", "cpuset.sched_relax_domain_level"}};
    for (auto [name, file] : kFlags)
      if (auto t = files_.read(*d, file))
        if (auto v = parse_int<int64_t>(trim(*t))) s.cpuset.flags.emplace_back(name, *v);
  }
  if (const auto* d = dir_of("cpu")) {
    s.cpu.periods = files_.read_keyed(*d, "cpu.stat", "nr_periods");
    s.cpu.throttled_periods = files_.read_keyed(*d, "cpu.stat", "nr_throttled");
    s.cpu.throttled_time = files_.read_keyed(*d, "cpu.stat", "throttled_time");
  }
  if (const auto* d = dir_of("memory")) {
    // memory.X, memory.memsw.X, memory.kmem.X, memory.kmem.tcp.X as runc reads them.
    auto entry = [&](const std::string& prefix, Stats::MemoryEntry& e) {
      e.usage = files_.read_u64(*d, prefix + "usage_in_bytes");
      e.max = files_.read_u64(*d, prefix + "max_usage_in_bytes");
      e.limit = files_.read_u64(*d, prefix + "limit_in_bytes");
      e.failcnt = files_.read_u64(*d, prefix + "failcnt");
    };
    entry("memory.", s.memory.usage);
    entry("memory.memsw.", s.memory.swap);
    entry("memory.kmem.", s.memory.kernel);
    entry("memory.kmem.tcp.", s.memory.kernel_tcp);
    if (auto t = files_.read(*d, "memory.stat")) s.memory.raw = parse_flat_keyed(*t);
    for (const auto& [key, value] : s.memory.raw)
      if (key == "cache") s.memory.cache = value;
    s.memory.oom_events = files_.read_keyed(*d, "memory.oom_control", "oom_kill");
  }
  if (const auto* d = dir_of("pids")) {
    s.pids.current = files_.read_u64(*d, "pids.current");
    auto max = files_.read_u64(*d, "pids.max");
    s.pids.limit = max == UINT64_MAX ? 0 : max;
  }
  if (const auto* d = dir_of("blkio")) {
    if (auto t = files_.read(*d, "blkio.throttle.io_service_bytes_recursive")) {
      for (auto line : split(*t, '\n')) {
        auto f = split(trim(line), ' ');
        if (f.size() != 3) continue;
        auto mm = split(f[0], ':');
        if (mm.size() != 2) continue;
        Stats::Blkio e;
        e.major = parse_int<uint64_t>(mm[0]).value_or(0);
        e.minor = parse_int<uint64_t>(mm[1]).value_or(0);
        e.op = std::string(f[1]);
        e.value = parse_int<uint64_t>(f[2]).value_or(0);
        s.blkio.push_back(std::move(e));
      }
    }
  }
  if (const auto* d = dir_of("hugetlb")) {
    if (DIR* dd = ::opendir(d->c_str())) {
      while (dirent* e = ::readdir(dd)) {
        std::string_view n = e->d_name;
        constexpr std::string_view pre = "hugetlb.", suf = ".usage_in_bytes";
        if (!n.starts_with(pre) || !n.ends_with(suf)) continue;
        Stats::Hugetlb h;
        h.page_size = std::string(n.substr(pre.size(), n.size() - pre.size() - suf.size()));
        std::string base = "hugetlb." + h.page_size;
        h.usage = files_.read_u64(*d, base + ".usage_in_bytes");
        h.max = files_.read_u64(*d, base + ".max_usage_in_bytes");
        h.failcnt = files_.read_u64(*d, base + ".failcnt");
        s.hugetlb.push_back(std::move(h));
      }
      ::closedir(dd);
    }
  }
  return s;
}

Result<uint64_t> V1::oom_kill_count() const {
  const auto* d = dir_of("memory");
  if (!d) return 0;
  return files_.read_keyed(*d, "memory.oom_control", "oom_kill");
}

Status V1::destroy() {
  Status result;
  std::vector<std::string> leaves;
  for (const auto& d : dirs_) leaves.push_back(d.path);
  if (!unified_.empty()) leaves.push_back(unified_);
  for (const auto& leaf : leaves) {
    // Usually the cgroup is empty and has no children: one rmdir. Else (EBUSY, or
    // ENOTEMPTY on a fake tree) the full walk, which kills what is left and retries.
    if (!files_.fake && (::rmdir(leaf.c_str()) == 0 || errno == ENOENT)) continue;
    if (auto r = files_.remove_tree(leaf); !r && result) result = std::unexpected(r.error());
  }
  // The parents this container made (the leaves are gone already).
  std::vector<std::string> parents;
  for (const auto& c : created_)
    if (std::find(leaves.begin(), leaves.end(), c) == leaves.end()) parents.push_back(c);
  files_.remove_created(parents, "");
  created_.clear();
  return result;
}

Result<std::unique_ptr<Manager>> V1::sub_cgroup(const SubPaths& paths) const {
  std::optional<std::string> every;  // "": every hierarchy
  if (auto it = paths.find(""); it != paths.end()) every = HULL_TRY(sub_cgroup_path(it->second));
  for (const auto& [controller, path] : paths)
    if (!controller.empty() && !dir_of(controller))
      return failf("\"{}:{}\": unknown controller \"{}\" (not mounted)", controller, path,
                   controller);
  std::vector<Dir> dirs = dirs_;
  for (auto& d : dirs) {
    // A path for one of the hierarchy's controllers wins over the one for all.
    std::optional<std::string> sub, named_by;
    for (const auto& c : d.controllers) {
      auto it = paths.find(c);
      if (it == paths.end()) continue;
      std::string p = HULL_TRY(sub_cgroup_path(it->second));
      if (sub && *sub != p)
        return failf("\"{}\" and \"{}\" share one hierarchy: give them the same path", *named_by,
                     c);
      sub = std::move(p);
      named_by = c;
    }
    if (!sub) sub = every;
    if (!sub || sub->empty()) continue;
    d.path = detail::join_path(d.path, *sub);
    if (!files_.fake && !detail::is_dir(d.path))
      return fail(fmt::format("sub-cgroup \"{}\" of the container's cgroup does not exist ({})",
                              *sub, d.path),
                  ENOENT);
  }
  // On a hybrid host the cgroup2 directory (no controllers: cgroup.kill and the process
  // list) stays the container's.
  return std::make_unique<V1>(std::move(dirs), unified_, rel_, devices_, files_.fake);
}

Json V1::to_json() const {
  Json dirs = Json::array();
  for (const auto& d : dirs_) dirs.push_back({{"controllers", d.controllers}, {"path", d.path}});
  return Json{{"kind", "v1"},        {"path", rel_},        {"dirs", dirs},
              {"unified", unified_}, {"created", created_}, {"fake", files_.fake}};
}

Result<std::unique_ptr<V1>> V1::load(const Json& j) {
  try {
    std::vector<Dir> dirs;
    for (const auto& d : j.at("dirs")) {
      Dir x{d.at("controllers").get<std::vector<std::string>>(), d.at("path").get<std::string>()};
      if (x.path.empty() || x.path.front() != '/' || x.path.find("/../") != std::string::npos)
        return failf("state: cgroup path \"{}\" is not absolute", x.path);
      dirs.push_back(std::move(x));
    }
    auto m = std::make_unique<V1>(std::move(dirs), j.value("unified", ""), j.value("path", ""),
                                  std::vector<oci::Device>{}, j.value("fake", false));
    m->created_ = j.value("created", std::vector<std::string>{});
    return m;
  } catch (const std::exception& e) {
    return failf("state: cgroup: {}", e.what());
  }
}

}  // namespace hull::cgroups

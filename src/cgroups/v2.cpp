#include "cgroups/v2.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>

#include "cgroups/devices.hpp"
#include "cgroups/stats.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace hull::cgroups {
namespace {

void sleep_ms(int ms) {
  timespec ts{0, ms * 1000000L};
  ::nanosleep(&ts, nullptr);
}

std::string max_or(int64_t v) {
  return v < 0 ? "max" : std::to_string(v);
}

// Rejects unified keys that would leave the cgroup's directory or are not control files.
Status check_unified_key(const std::string& key) {
  if (key.empty() || key.find('/') != std::string::npos || key == "." || key == ".." ||
      key.find('.') == std::string::npos)
    return failf("linux.resources.unified: bad key \"{}\"", key);
  if (key.starts_with("cgroup.") && key != "cgroup.max.depth" && key != "cgroup.max.descendants" &&
      key != "cgroup.type")
    return failf("linux.resources.unified: \"{}\" may not be set", key);
  return {};
}

}  // namespace

V2::V2(std::string mount, std::string rel_path, std::vector<oci::Device> devices, bool fake)
    : mount_(std::move(mount)),
      rel_(std::move(rel_path)),
      dir_(detail::join_path(mount_, rel_)),
      devices_(std::move(devices)) {
  files_.fake = fake;
}

Status V2::enable_controllers() {
  // Every level from the root down to the parent must delegate the controllers to its
  // children. A level with processes of its own refuses (EBUSY, "no internal processes"):
  // then the container simply runs without those controllers, and a limit asking for
  // one fails below with the file's name.
  std::vector<std::string> levels{mount_};
  for (auto part : split(rel_, '/')) {
    if (part.empty()) continue;
    levels.push_back(detail::join_path(levels.back(), part));
  }
  levels.pop_back();  // the container's own cgroup keeps its processes
  for (const auto& cur : levels) {
    auto avail = files_.read(cur, "cgroup.controllers");
    if (!avail) continue;
    auto enabled = files_.read(cur, "cgroup.subtree_control").value_or("");
    for (auto c : split(trim(*avail), ' ')) {
      if (c.empty()) continue;
      bool on = false;
      for (auto e : split(trim(enabled), ' '))
        if (e == c) on = true;
      if (on) continue;
      if (auto r = files_.write(cur, "cgroup.subtree_control", fmt::format("+{}", c)); !r)
        log::debug("cgroup: enable {} in {}: {}", c, cur, r.error().message);
    }
  }
  return {};
}

Status V2::create(const oci::Resources* resources, const Note& note) {
  auto undo = [this](Error e) -> Status {
    (void)destroy();
    return std::unexpected(std::move(e));
  };
  auto made = files_.make_dirs(
      dir_, [&](const std::vector<std::string>& planned) { return note_planned(note, planned); });
  if (!made) return std::unexpected(made.error());
  created_ = std::move(*made);
  if (auto r = enable_controllers(); !r) return undo(r.error());
  if (!resources) return {};
  if (!resources->devices.empty()) {
    if (auto r = apply_devices(device_rules(resources->devices, devices_)); !r)
      return undo(r.error());
  }
  oci::Resources rest = *resources;
  rest.devices.clear();
  if (auto r = apply(rest); !r) return undo(r.error());
  return {};
}

UniqueFd V2::clone_into_fd() const {
  if (files_.fake) return {};
  return UniqueFd(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

Status V2::add_pid(pid_t pid) {
  return files_.write(dir_, "cgroup.procs", std::to_string(pid));
}

Status V2::apply_devices(const std::vector<oci::DeviceRule>& rules) {
  auto prog = HULL_TRY(device_program(rules));
  if (files_.fake) {
    // No BPF on a plain directory: record the program's size for the test.
    return files_.write(dir_, "devices.bpf", std::to_string(prog.size()));
  }
  UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", dir_);
  if (auto r = attach_device_program(fd.get(), prog); !r)
    return std::unexpected(r.error().wrap(dir_));
  return {};
}

Status V2::apply(const oci::Resources& r) {
  auto w = [&](std::string_view file, const std::string& value) -> Status {
    if (auto res = files_.write(dir_, file, value); !res) {
      if (res.error().code == ENOENT)
        return failf("cgroup {}: {} is missing (controller \"{}\" not enabled for this cgroup)",
                     dir_, file, file.substr(0, file.find('.')));
      return res;
    }
    return {};
  };
  if (const auto& m = r.memory) {
    auto swap = HULL_TRY(swap_to_v2(m->swap, m->limit));
    // memory.swap.max before memory.max would not matter for the kernel: they are
    // independent on v2.
    if (m->limit && *m->limit) HULL_CHECK(w("memory.max", max_or(*m->limit)));
    if (swap) HULL_CHECK(w("memory.swap.max", max_or(*swap)));
    if (m->reservation && *m->reservation) HULL_CHECK(w("memory.low", max_or(*m->reservation)));
    if (m->swappiness && *m->swappiness <= 100)
      log::warn("cgroup v2 has no memory.swappiness: ignored");
    if (m->disable_oom_killer && *m->disable_oom_killer)
      log::warn("cgroup v2 cannot disable the OOM killer: ignored");
  }
  if (const auto& c = r.cpu) {
    if (c->shares && *c->shares)
      HULL_CHECK(w("cpu.weight", std::to_string(shares_to_weight(*c->shares))));
    if ((c->quota && *c->quota) || (c->period && *c->period)) {
      // "max" or the quota; without a period the kernel keeps the current one.
      std::string v = c->quota && *c->quota > 0 ? std::to_string(*c->quota) : "max";
      if (c->period && *c->period) v += " " + std::to_string(*c->period);
      HULL_CHECK(w("cpu.max", v));
    }
    if (c->burst) HULL_CHECK(w("cpu.max.burst", std::to_string(*c->burst)));
    if (c->idle) HULL_CHECK(w("cpu.idle", *c->idle ? "1" : "0"));
    if ((c->realtime_runtime && *c->realtime_runtime) ||
        (c->realtime_period && *c->realtime_period))
      return fail("linux.resources.cpu.realtimeRuntime/realtimePeriod: not supported on cgroup v2");
    if (!c->cpus.empty()) HULL_CHECK(w("cpuset.cpus", c->cpus));
    if (!c->mems.empty()) HULL_CHECK(w("cpuset.mems", c->mems));
  }
  if (r.pids_limit && *r.pids_limit != 0) HULL_CHECK(w("pids.max", max_or(*r.pids_limit)));
  if (const auto& b = r.block_io) {
    // bfq takes blkio's own scale; io.weight the converted one.
    bool bfq = files_.has(dir_, "io.bfq.weight");
    if (b->weight && *b->weight) {
      if (bfq)
        HULL_CHECK(w("io.bfq.weight", std::to_string(*b->weight)));
      else
        HULL_CHECK(w("io.weight", std::to_string(blkio_weight_to_io_weight(*b->weight))));
    }
    for (const auto& d : b->weight_device) {
      if (!d.weight) continue;
      if (bfq)
        HULL_CHECK(w("io.bfq.weight", fmt::format("{}:{} {}", d.major, d.minor, *d.weight)));
      else
        HULL_CHECK(w("io.weight", fmt::format("{}:{} {}", d.major, d.minor,
                                              blkio_weight_to_io_weight(*d.weight))));
    }
    auto throttle = [&](const std::vector<oci::ThrottleDevice>& list, const char* key) -> Status {
      for (const auto& t : list)
        HULL_CHECK(
            w("io.max", fmt::format("{}:{} {}={}", t.major, t.minor, key,
                                    t.rate == 0 ? std::string("max") : std::to_string(t.rate))));
      return {};
    };
    HULL_CHECK(throttle(b->throttle_read_bps_device, "rbps"));
    HULL_CHECK(throttle(b->throttle_write_bps_device, "wbps"));
    HULL_CHECK(throttle(b->throttle_read_iops_device, "riops"));
    HULL_CHECK(throttle(b->throttle_write_iops_device, "wiops"));
  }
  for (const auto& h : r.hugepage_limits) {
    if (h.page_size.empty() || h.page_size.find('/') != std::string::npos)
      return failf("linux.resources.hugepageLimits: bad pageSize \"{}\"", h.page_size);
    HULL_CHECK(w(fmt::format("hugetlb.{}.max", h.page_size), std::to_string(h.limit)));
  }
  for (const auto& [key, value] : r.unified) {
    HULL_CHECK(check_unified_key(key));
    HULL_CHECK(w(key, value));
  }
  if (!r.devices.empty()) HULL_CHECK(apply_devices(device_rules(r.devices, {})));
  return {};
}

Status V2::freeze(bool want) {
  HULL_CHECK(files_.write(dir_, "cgroup.freeze", want ? "1" : "0"));
  if (files_.fake) return {};
  // cgroup.events says "frozen 1" once every task has stopped.
  for (int i = 0; i < 400; ++i) {
    if ((files_.read_keyed(dir_, "cgroup.events", "frozen") == 1) == want) return {};
    sleep_ms(5);
  }
  if (want) (void)files_.write(dir_, "cgroup.freeze", "0");
  return failf("cgroup {}: did not {} within 2 s", dir_, want ? "freeze" : "thaw");
}

Result<bool> V2::frozen() const {
  auto s = files_.read(dir_, "cgroup.freeze");
  if (!s) return std::unexpected(s.error());
  // A fake tree keeps every value written; the last one counts.
  auto t = trim(*s);
  return t.substr(t.rfind('\n') + 1) == "1";
}

Result<std::vector<pid_t>> V2::pids() const {
  return files_.procs_recursive(dir_);
}

Status V2::kill_all(int signal) {
  // cgroup.kill (Linux 5.14) kills the whole subtree atomically, forks included.
  if (signal == SIGKILL && files_.has(dir_, "cgroup.kill"))
    return files_.write(dir_, "cgroup.kill", "1");
  bool was_frozen = frozen().value_or(false);
  if (!was_frozen) HULL_CHECK(freeze(true));
  Status result;
  auto list = pids();
  if (!list)
    result = std::unexpected(list.error());
  else
    for (pid_t p : *list)
      if (::kill(p, signal) < 0 && errno != ESRCH) {
        result = sys_failf("kill {} with signal {}", p, signal);
        break;
      }
  if (!was_frozen || signal == SIGKILL) HULL_CHECK(freeze(false));
  return result;
}

Result<Stats> V2::stats() const {
  Stats s;
  s.cpu.usage_total = files_.read_keyed(dir_, "cpu.stat", "usage_usec") * 1000;
  s.cpu.usage_user = files_.read_keyed(dir_, "cpu.stat", "user_usec") * 1000;
  s.cpu.usage_kernel = files_.read_keyed(dir_, "cpu.stat", "system_usec") * 1000;
  s.cpu.periods = files_.read_keyed(dir_, "cpu.stat", "nr_periods");
  s.cpu.throttled_periods = files_.read_keyed(dir_, "cpu.stat", "nr_throttled");
  s.cpu.throttled_time = files_.read_keyed(dir_, "cpu.stat", "throttled_usec") * 1000;
  auto& mem = s.memory.usage;
  mem.usage = files_.read_u64(dir_, "memory.current");
  mem.max = files_.read_u64(dir_, "memory.peak");
  mem.limit = files_.read_u64(dir_, "memory.max");
  mem.failcnt = files_.read_keyed(dir_, "memory.events", "max");
  if (auto t = files_.read(dir_, "memory.stat")) s.memory.raw = parse_flat_keyed(*t);
  for (const auto& [key, value] : s.memory.raw)
    if (key == "file") s.memory.cache = value;
  // v1 counts swap as memory + swap; runc reports v2's the same way.
  s.memory.swap.usage = files_.read_u64(dir_, "memory.swap.current") + mem.usage;
  s.memory.swap.max = files_.read_u64(dir_, "memory.swap.peak") + mem.max;
  s.memory.swap.limit = files_.read_u64(dir_, "memory.swap.max");
  if (s.memory.swap.limit != UINT64_MAX && mem.limit != UINT64_MAX)
    s.memory.swap.limit += mem.limit;
  s.memory.swap.failcnt = files_.read_keyed(dir_, "memory.swap.events", "fail");
  if (auto t = files_.read(dir_, "cpuset.cpus.effective")) s.cpuset.cpus = parse_id_list(*t);
  if (auto t = files_.read(dir_, "cpuset.mems.effective")) s.cpuset.mems = parse_id_list(*t);
  s.memory.oom_events = files_.read_keyed(dir_, "memory.events", "oom_kill");
  s.pids.current = files_.read_u64(dir_, "pids.current");
  auto max = files_.read_u64(dir_, "pids.max");
  s.pids.limit = max == UINT64_MAX ? 0 : max;
  // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." in runc's v1-style op names.
  if (auto t = files_.read(dir_, "io.stat")) {
    for (auto line : split(*t, '\n')) {
      auto f = split(trim(line), ' ');
      if (f.size() < 2) continue;
      auto mm = split(f[0], ':');
      if (mm.size() != 2) continue;
      for (size_t i = 1; i < f.size(); ++i) {
        auto eq = f[i].find('=');
        if (eq == std::string_view::npos) continue;
        auto key = f[i].substr(0, eq);
        const char* op = key == "rbytes" ? "Read" : key == "wbytes" ? "Write" : nullptr;
        if (!op) continue;
        Stats::Blkio e;
        e.major = parse_int<uint64_t>(mm[0]).value_or(0);
        e.minor = parse_int<uint64_t>(mm[1]).value_or(0);
        e.op = op;
        e.value = parse_int<uint64_t>(f[i].substr(eq + 1)).value_or(0);
        s.blkio.push_back(std::move(e));
      }
    }
  }
  if (DIR* dd = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(dd)) {
      std::string_view n = e->d_name;
      constexpr std::string_view pre = "hugetlb.", suf = ".current";
      if (!n.starts_with(pre) || !n.ends_with(suf) || n.find(".rsvd") != std::string_view::npos)
        continue;
      Stats::Hugetlb h;
      h.page_size = std::string(n.substr(pre.size(), n.size() - pre.size() - suf.size()));
      h.usage = files_.read_u64(dir_, "hugetlb." + h.page_size + ".current");
      h.failcnt = files_.read_keyed(dir_, "hugetlb." + h.page_size + ".events", "max");
      s.hugetlb.push_back(std::move(h));
    }
    ::closedir(dd);
  }
  return s;
}

Result<uint64_t> V2::oom_kill_count() const {
  return files_.read_keyed(dir_, "memory.events", "oom_kill");
}

Status V2::destroy() {
  auto r = files_.remove_tree(dir_);
  files_.remove_created(created_, dir_);
  created_.clear();
  return r;
}

Result<std::unique_ptr<Manager>> V2::sub_cgroup(const SubPaths& paths) const {
  std::string sub;
  for (const auto& [controller, path] : paths) {
    if (!controller.empty())
      return failf(
          "\"{}:{}\": cgroup v2 has one hierarchy for every controller: give the path alone",
          controller, path);
    sub = HULL_TRY(sub_cgroup_path(path));
  }
  auto m = std::make_unique<V2>(mount_, detail::join_path(rel_, sub), devices_, files_.fake);
  if (!files_.fake && !detail::is_dir(m->dir_))
    return fail(fmt::format("sub-cgroup \"{}\" of the container's cgroup does not exist ({})", sub,
                            m->dir_),
                ENOENT);
  return m;
}

Result<std::unique_ptr<Manager>> V2::init_cgroup(pid_t init) const {
  std::string file = fmt::format("/proc/{}/cgroup", init);
  auto text = HULL_TRY(fs::read_file(file));
  auto path = unified_path(text);
  if (!path) return std::unexpected(path.error().wrap(file));
  return sub_cgroup({{"", HULL_TRY(init_sub_path(rel_, *path))}});
}

Json V2::to_json() const {
  return Json{{"kind", "v2"},
              {"mount", mount_},
              {"path", rel_},
              {"created", created_},
              {"fake", files_.fake}};
}

Result<std::unique_ptr<V2>> V2::load(const Json& j) {
  try {
    auto mount = j.at("mount").get<std::string>();
    auto rel = j.at("path").get<std::string>();
    if (mount.empty() || mount.front() != '/' || rel.find("..") != std::string::npos)
      return failf("state: cgroup path \"{}{}\" is not valid", mount, rel);
    auto m = std::make_unique<V2>(mount, rel, std::vector<oci::Device>{}, j.value("fake", false));
    m->created_ = j.value("created", std::vector<std::string>{});
    return m;
  } catch (const std::exception& e) {
    return failf("state: cgroup: {}", e.what());
  }
}

}  // namespace hull::cgroups

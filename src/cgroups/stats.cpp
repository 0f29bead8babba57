// Stats as runc's `events --stats` prints them (libcontainer's types/events.go names).
#include "cgroups/stats.hpp"
#include "cgroups/manager.hpp"
#include "common/strings.hpp"

namespace hull::cgroups {

namespace {

Json entry(const Stats::MemoryEntry& e) {
  return Json{{"limit", e.limit}, {"usage", e.usage}, {"max", e.max}, {"failcnt", e.failcnt}};
}

}  // namespace

Json Stats::to_json() const {
  Json blk = Json::array();
  for (const auto& b : blkio)
    blk.push_back({{"major", b.major}, {"minor", b.minor}, {"op", b.op}, {"value", b.value}});
  Json huge = Json::object();
  for (const auto& h : hugetlb)
    huge[h.page_size] = {{"usage", h.usage}, {"max", h.max}, {"failcnt", h.failcnt}};
  Json usage{{"total", cpu.usage_total},
             {"percpu", cpu.percpu},
             {"kernel", cpu.usage_kernel},
             {"user", cpu.usage_user}};
  if (!cpu.percpu_kernel.empty()) usage["percpu_kernel"] = cpu.percpu_kernel;
  if (!cpu.percpu_user.empty()) usage["percpu_user"] = cpu.percpu_user;
  Json set = Json::object();
  if (!cpuset.cpus.empty()) set["cpus"] = cpuset.cpus;
  if (!cpuset.mems.empty()) set["mems"] = cpuset.mems;
  for (const auto& [name, value] : cpuset.flags) set[name] = value;
  Json raw = Json::object();
  for (const auto& [key, value] : memory.raw) raw[key] = value;
  Json mem{{"cache", memory.cache},
           {"usage", entry(memory.usage)},
           {"swap", entry(memory.swap)},
           {"kernel", entry(memory.kernel)},
           {"kernelTCP", entry(memory.kernel_tcp)},
           {"oom_kill", memory.oom_events}};
  if (!raw.empty()) mem["raw"] = std::move(raw);
  return Json{
      {"cpu",
       {{"usage", std::move(usage)},
        {"throttling",
         {{"periods", cpu.periods},
          {"throttledPeriods", cpu.throttled_periods},
          {"throttledTime", cpu.throttled_time}}}}},
      {"cpuset", std::move(set)},
      {"memory", std::move(mem)},
      {"pids", {{"current", pids.current}, {"limit", pids.limit}}},
      {"blkio", {{"ioServiceBytesRecursive", blk}}},
      {"hugetlb", huge},
      // runc's: hull does not manage Intel RDT, and runc has no interfaces to report
      // outside a checkpoint either.
      {"intel_rdt", Json::object()},
      {"network_interfaces", nullptr},
  };
}

// "0-2,4" as [0, 1, 2, 4]; a malformed part is skipped.
std::vector<uint64_t> parse_id_list(std::string_view text) {
  std::vector<uint64_t> out;
  for (auto part : split(trim(text), ',')) {
    auto dash = part.find('-');
    auto lo = parse_int<uint64_t>(part.substr(0, dash));
    auto hi = dash == part.npos ? lo : parse_int<uint64_t>(part.substr(dash + 1));
    if (!lo || !hi || *hi < *lo || *hi - *lo > 65536) continue;
    for (uint64_t i = *lo; i <= *hi; ++i) out.push_back(i);
  }
  return out;
}

std::vector<std::pair<std::string, uint64_t>> parse_flat_keyed(std::string_view text) {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (auto line : split(text, '\n')) {
    auto f = split(trim(line), ' ');
    if (f.size() != 2) continue;
    if (auto v = parse_int<uint64_t>(f[1])) out.emplace_back(std::string(f[0]), *v);
  }
  return out;
}

}  // namespace hull::cgroups

// Stats as runc's `events --stats` prints them (libcontainer's types/events.go names).
#include "cgroups/manager.hpp"

namespace hull::cgroups {

Json Stats::to_json() const {
  Json blk = Json::array();
  for (const auto& b : blkio)
    blk.push_back({{"major", b.major}, {"minor", b.minor}, {"op", b.op}, {"value", b.value}});
  Json huge = Json::object();
  for (const auto& h : hugetlb)
    huge[h.page_size] = {{"usage", h.usage}, {"max", h.max}, {"failcnt", h.failcnt}};
  return Json{
      {"cpu",
       {{"usage",
         {{"total", cpu.usage_total},
          {"percpu", cpu.percpu},
          {"kernel", cpu.usage_kernel},
          {"user", cpu.usage_user}}},
        {"throttling",
         {{"periods", cpu.periods},
          {"throttledPeriods", cpu.throttled_periods},
          {"throttledTime", cpu.throttled_time}}}}},
      {"memory",
       {{"cache", memory.cache},
        {"usage",
         {{"limit", memory.limit},
          {"usage", memory.usage},
          {"max", memory.max_usage},
          {"failcnt", memory.failcnt}}},
        {"swap", {{"limit", memory.swap_limit}, {"usage", memory.swap_usage}, {"failcnt", 0}}},
        {"oom_kill", memory.oom_events}}},
      {"pids", {{"current", pids.current}, {"limit", pids.limit}}},
      {"blkio", {{"ioServiceBytesRecursive", blk}}},
      {"hugetlb", huge},
  };
}

}  // namespace hull::cgroups

// linux.resources: the cgroup limits (also the body of `update --resources`).
#include "oci/parse_parts.hpp"

namespace hull::oci::detail {
namespace {

template <class T, class Fn>
Status read_section(const Json& j, const Path& p, std::string_view key, std::optional<T>& out,
                    Fn&& fn) {
  const Json* v = member(j, key);
  if (!v) return {};
  Path sp = p / key;
  HULL_CHECK(expect_object(*v, sp));
  T value;
  HULL_CHECK(fn(*v, sp, value));
  out = std::move(value);
  return {};
}

Status read_major_minor(const Json& j, const Path& p, int64_t& major, int64_t& minor) {
  for (auto [name, field] : {std::pair{"major", &major}, std::pair{"minor", &minor}}) {
    const Json* v = member(j, name);
    if (!v) return field_fail(p / name, "required");
    *field = HULL_TRY(read_int<int64_t>(*v, p / name));
  }
  return {};
}

Result<DeviceRule> read_device_rule(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  DeviceRule d;
  const Json* allow = member(j, "allow");
  if (!allow) return field_fail(p / "allow", "required");
  d.allow = HULL_TRY(read_bool(*allow, p / "allow"));
  HULL_CHECK(read_member(j, p, "type", d.type));
  if (!d.type.empty() && d.type != "a" && d.type != "c" && d.type != "b")
    return field_fail(p / "type", "unknown device type \"{}\" (a, c or b)", d.type);
  HULL_CHECK(read_member(j, p, "major", d.major));
  HULL_CHECK(read_member(j, p, "minor", d.minor));
  HULL_CHECK(read_member(j, p, "access", d.access));
  for (char c : d.access)
    if (c != 'r' && c != 'w' && c != 'm')
      return field_fail(p / "access", "\"{}\" is not a subset of \"rwm\"", d.access);
  return d;
}

Status read_memory(const Json& j, const Path& p, MemoryResources& m) {
  HULL_CHECK(read_member(j, p, "limit", m.limit));
  HULL_CHECK(read_member(j, p, "reservation", m.reservation));
  HULL_CHECK(read_member(j, p, "swap", m.swap));
  HULL_CHECK(read_member(j, p, "kernel", m.kernel));
  HULL_CHECK(read_member(j, p, "kernelTCP", m.kernel_tcp));
  HULL_CHECK(read_member(j, p, "swappiness", m.swappiness));
  if (m.swappiness && *m.swappiness > 100)
    return field_fail(p / "swappiness", "{} is above 100", *m.swappiness);
  HULL_CHECK(read_member(j, p, "disableOOMKiller", m.disable_oom_killer));
  HULL_CHECK(read_member(j, p, "useHierarchy", m.use_hierarchy));
  HULL_CHECK(read_member(j, p, "checkBeforeUpdate", m.check_before_update));
  return {};
}

Status read_cpu(const Json& j, const Path& p, CpuResources& c) {
  HULL_CHECK(read_member(j, p, "shares", c.shares));
  HULL_CHECK(read_member(j, p, "quota", c.quota));
  HULL_CHECK(read_member(j, p, "burst", c.burst));
  HULL_CHECK(read_member(j, p, "period", c.period));
  HULL_CHECK(read_member(j, p, "realtimeRuntime", c.realtime_runtime));
  HULL_CHECK(read_member(j, p, "realtimePeriod", c.realtime_period));
  HULL_CHECK(read_member(j, p, "cpus", c.cpus));
  HULL_CHECK(read_member(j, p, "mems", c.mems));
  // The spec has idle as an int64 (0 or 1); a boolean is accepted too.
  if (const Json* idle = member(j, "idle")) {
    if (idle->is_boolean()) {
      c.idle = idle->get<bool>();
    } else {
      int64_t v = HULL_TRY(read_int64(*idle, p / "idle", 0, 1));
      c.idle = v != 0;
    }
  }
  return {};
}

Status read_block_io(const Json& j, const Path& p, BlockIoResources& b) {
  HULL_CHECK(read_member(j, p, "weight", b.weight));
  HULL_CHECK(read_member(j, p, "leafWeight", b.leaf_weight));
  HULL_CHECK(for_each_element(j, p, "weightDevice", [&](const Json& d, const Path& dp) -> Status {
    HULL_CHECK(expect_object(d, dp));
    WeightDevice w;
    HULL_CHECK(read_major_minor(d, dp, w.major, w.minor));
    HULL_CHECK(read_member(d, dp, "weight", w.weight));
    HULL_CHECK(read_member(d, dp, "leafWeight", w.leaf_weight));
    b.weight_device.push_back(w);
    return {};
  }));
  for (auto [key, list] : {std::pair{"throttleReadBpsDevice", &b.throttle_read_bps_device},
                           std::pair{"throttleWriteBpsDevice", &b.throttle_write_bps_device},
                           std::pair{"throttleReadIOPSDevice", &b.throttle_read_iops_device},
                           std::pair{"throttleWriteIOPSDevice", &b.throttle_write_iops_device}}) {
    HULL_CHECK(for_each_element(j, p, key, [&](const Json& d, const Path& dp) -> Status {
      HULL_CHECK(expect_object(d, dp));
      ThrottleDevice t;
      HULL_CHECK(read_major_minor(d, dp, t.major, t.minor));
      const Json* rate = member(d, "rate");
      if (!rate) return field_fail(dp / "rate", "required");
      t.rate = HULL_TRY(read_int<uint64_t>(*rate, dp / "rate"));
      list->push_back(t);
      return {};
    }));
  }
  return {};
}

}  // namespace

Result<Resources> read_resources(const Json& j, const Path& p) {
  HULL_CHECK(expect_object(j, p));
  Resources r;
  HULL_CHECK(for_each_element(j, p, "devices", [&](const Json& d, const Path& dp) -> Status {
    r.devices.push_back(HULL_TRY(read_device_rule(d, dp)));
    return {};
  }));
  HULL_CHECK(read_section(j, p, "memory", r.memory, read_memory));
  HULL_CHECK(read_section(j, p, "cpu", r.cpu, read_cpu));
  if (const Json* pids = member(j, "pids")) {
    HULL_CHECK(expect_object(*pids, p / "pids"));
    HULL_CHECK(read_member(*pids, p / "pids", "limit", r.pids_limit));
  }
  HULL_CHECK(read_section(j, p, "blockIO", r.block_io, read_block_io));
  HULL_CHECK(for_each_element(j, p, "hugepageLimits", [&](const Json& h, const Path& hp) -> Status {
    HULL_CHECK(expect_object(h, hp));
    HugepageLimit l;
    const Json* size = member(h, "pageSize");
    if (!size) return field_fail(hp / "pageSize", "required");
    l.page_size = HULL_TRY(read_string(*size, hp / "pageSize"));
    const Json* limit = member(h, "limit");
    if (!limit) return field_fail(hp / "limit", "required");
    l.limit = HULL_TRY(read_int<uint64_t>(*limit, hp / "limit"));
    r.hugepage_limits.push_back(std::move(l));
    return {};
  }));
  HULL_CHECK(read_member(j, p, "unified", r.unified));
  return r;
}

}  // namespace hull::oci::detail

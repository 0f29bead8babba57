// Spec -> JSON, the inverse of parse_spec: what parse_spec reads back equal. Unset optional
// fields and empty lists are left out, as runc's Go structs with omitempty do.
#include "oci/capabilities.hpp"
#include "oci/rlimits.hpp"
#include "oci/seccomp_names.hpp"
#include "oci/spec.hpp"

namespace hull::oci {
namespace {

template <class T>
void put(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
void put(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
template <class T>
void put(Json& j, const char* key, const std::vector<T>& v) {
  if (!v.empty()) j[key] = v;
}
void put(Json& j, const char* key, const std::map<std::string, std::string>& v) {
  if (!v.empty()) j[key] = v;
}

Json caps_json(const std::vector<int>& caps) {
  Json a = Json::array();
  for (int c : caps) a.push_back(capability_name(c));
  return a;
}

Json hook_json(const Hook& h) {
  Json j{{"path", h.path}};
  put(j, "args", h.args);
  put(j, "env", h.env);
  put(j, "timeout", h.timeout);
  return j;
}

Json hooks_json(const Hooks& hooks) {
  Json j = Json::object();
  for (auto [key, list] :
       {std::pair{"prestart", &hooks.prestart}, std::pair{"createRuntime", &hooks.create_runtime},
        std::pair{"createContainer", &hooks.create_container},
        std::pair{"startContainer", &hooks.start_container},
        std::pair{"poststart", &hooks.poststart}, std::pair{"poststop", &hooks.poststop}}) {
    if (list->empty()) continue;
    Json& a = j[key] = Json::array();
    for (const Hook& h : *list) a.push_back(hook_json(h));
  }
  return j;
}

Json mount_json(const Mount& m) {
  Json j{{"destination", m.destination}};
  put(j, "type", m.type);
  put(j, "source", m.source);
  put(j, "options", m.options);
  return j;
}

Json mappings_json(const std::vector<IdMapping>& maps) {
  Json a = Json::array();
  for (const auto& m : maps)
    a.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  return a;
}

Json device_json(const Device& d) {
  Json j{{"path", d.path}, {"type", std::string(1, d.type)}};
  if (d.type != 'p') {
    j["major"] = d.major;
    j["minor"] = d.minor;
  }
  put(j, "fileMode", d.file_mode);
  put(j, "uid", d.uid);
  put(j, "gid", d.gid);
  return j;
}

Json seccomp_json(const Seccomp& s) {
  Json j{{"defaultAction", seccomp_action_name(s.default_action)}};
  put(j, "defaultErrnoRet", s.default_errno_ret);
  put(j, "architectures", s.architectures);
  put(j, "flags", s.flags);
  put(j, "listenerPath", s.listener_path);
  put(j, "listenerMetadata", s.listener_metadata);
  if (!s.syscalls.empty()) {
    Json& calls = j["syscalls"] = Json::array();
    for (const auto& c : s.syscalls) {
      Json cj{{"names", c.names}, {"action", seccomp_action_name(c.action)}};
      put(cj, "errnoRet", c.errno_ret);
      if (!c.args.empty()) {
        Json& args = cj["args"] = Json::array();
        for (const auto& a : c.args) {
          Json aj{{"index", a.index}, {"value", a.value}, {"op", a.op}};
          if (a.value_two) aj["valueTwo"] = a.value_two;
          args.push_back(std::move(aj));
        }
      }
      calls.push_back(std::move(cj));
    }
  }
  return j;
}

Json linux_json(const Linux& l) {
  Json j = Json::object();
  if (!l.namespaces.empty()) {
    Json& a = j["namespaces"] = Json::array();
    for (const auto& n : l.namespaces) {
      Json nj{{"type", namespace_name(n.type)}};
      put(nj, "path", n.path);
      a.push_back(std::move(nj));
    }
  }
  if (!l.uid_mappings.empty()) j["uidMappings"] = mappings_json(l.uid_mappings);
  if (!l.gid_mappings.empty()) j["gidMappings"] = mappings_json(l.gid_mappings);
  if (!l.devices.empty()) {
    Json& a = j["devices"] = Json::array();
    for (const auto& d : l.devices) a.push_back(device_json(d));
  }
  put(j, "cgroupsPath", l.cgroups_path);
  if (l.resources) j["resources"] = to_json(*l.resources);
  put(j, "rootfsPropagation", l.rootfs_propagation);
  put(j, "maskedPaths", l.masked_paths);
  put(j, "readonlyPaths", l.readonly_paths);
  put(j, "sysctl", l.sysctl);
  if (l.seccomp) j["seccomp"] = seccomp_json(*l.seccomp);
  put(j, "mountLabel", l.mount_label);
  for (const auto& [clock, off] : l.time_offsets)
    j["timeOffsets"][clock] = {{"secs", off.secs}, {"nanosecs", off.nanosecs}};
  if (!l.personality.empty()) j["personality"] = {{"domain", l.personality}};
  return j;
}

}  // namespace

Json to_json(const Process& p) {
  Json j = Json::object();
  if (p.terminal) j["terminal"] = true;
  if (p.console_size)
    j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  Json user{{"uid", p.user.uid}, {"gid", p.user.gid}};
  put(user, "umask", p.user.umask);
  put(user, "additionalGids", p.user.additional_gids);
  j["user"] = std::move(user);
  j["args"] = p.args;
  put(j, "env", p.env);
  j["cwd"] = p.cwd;
  if (p.capabilities) {
    const Capabilities& c = *p.capabilities;
    j["capabilities"] = {{"bounding", caps_json(c.bounding)},
                         {"effective", caps_json(c.effective)},
                         {"inheritable", caps_json(c.inheritable)},
                         {"permitted", caps_json(c.permitted)},
                         {"ambient", caps_json(c.ambient)}};
  }
  if (!p.rlimits.empty()) {
    Json& a = j["rlimits"] = Json::array();
    for (const auto& r : p.rlimits) {
      std::string_view name = rlimit_name(r.type);
      a.push_back({{"type", name.empty() ? std::string_view(r.name) : name},
                   {"hard", r.hard},
                   {"soft", r.soft}});
    }
  }
  if (p.no_new_privileges) j["noNewPrivileges"] = true;
  put(j, "oomScoreAdj", p.oom_score_adj);
  put(j, "apparmorProfile", p.apparmor_profile);
  put(j, "selinuxLabel", p.selinux_label);
  return j;
}

Json to_json(const Resources& r) {
  Json j = Json::object();
  if (!r.devices.empty()) {
    Json& a = j["devices"] = Json::array();
    for (const auto& d : r.devices) {
      Json dj{{"allow", d.allow}};
      put(dj, "type", d.type);
      put(dj, "major", d.major);
      put(dj, "minor", d.minor);
      put(dj, "access", d.access);
      a.push_back(std::move(dj));
    }
  }
  if (r.memory) {
    const auto& m = *r.memory;
    Json& mj = j["memory"] = Json::object();
    put(mj, "limit", m.limit);
    put(mj, "reservation", m.reservation);
    put(mj, "swap", m.swap);
    put(mj, "kernel", m.kernel);
    put(mj, "kernelTCP", m.kernel_tcp);
    put(mj, "swappiness", m.swappiness);
    put(mj, "disableOOMKiller", m.disable_oom_killer);
    put(mj, "useHierarchy", m.use_hierarchy);
    put(mj, "checkBeforeUpdate", m.check_before_update);
  }
  if (r.cpu) {
    const auto& c = *r.cpu;
    Json& cj = j["cpu"] = Json::object();
    put(cj, "shares", c.shares);
    put(cj, "quota", c.quota);
    put(cj, "burst", c.burst);
    put(cj, "period", c.period);
    put(cj, "realtimeRuntime", c.realtime_runtime);
    put(cj, "realtimePeriod", c.realtime_period);
    put(cj, "cpus", c.cpus);
    put(cj, "mems", c.mems);
    if (c.idle) cj["idle"] = *c.idle ? 1 : 0;  // int64 in the spec
  }
  if (r.pids_limit) j["pids"] = {{"limit", *r.pids_limit}};
  if (r.block_io) {
    const auto& b = *r.block_io;
    Json& bj = j["blockIO"] = Json::object();
    put(bj, "weight", b.weight);
    put(bj, "leafWeight", b.leaf_weight);
    if (!b.weight_device.empty()) {
      Json& a = bj["weightDevice"] = Json::array();
      for (const auto& w : b.weight_device) {
        Json wj{{"major", w.major}, {"minor", w.minor}};
        put(wj, "weight", w.weight);
        put(wj, "leafWeight", w.leaf_weight);
        a.push_back(std::move(wj));
      }
    }
    for (auto [key, list] : {std::pair{"throttleReadBpsDevice", &b.throttle_read_bps_device},
                             std::pair{"throttleWriteBpsDevice", &b.throttle_write_bps_device},
                             std::pair{"throttleReadIOPSDevice", &b.throttle_read_iops_device},
                             std::pair{"throttleWriteIOPSDevice", &b.throttle_write_iops_device}}) {
      if (list->empty()) continue;
      Json& a = bj[key] = Json::array();
      for (const auto& t : *list)
        a.push_back({{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}});
    }
  }
  if (!r.hugepage_limits.empty()) {
    Json& a = j["hugepageLimits"] = Json::array();
    for (const auto& h : r.hugepage_limits)
      a.push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
  }
  put(j, "unified", r.unified);
  return j;
}

Json to_json(const Spec& s) {
  Json j{{"ociVersion", s.oci_version.empty() ? kSpecVersion : s.oci_version}};
  if (s.process) j["process"] = to_json(*s.process);
  Json root{{"path", s.root.path}};
  if (s.root.readonly) root["readonly"] = true;
  j["root"] = std::move(root);
  put(j, "hostname", s.hostname);
  put(j, "domainname", s.domainname);
  if (!s.mounts.empty()) {
    Json& a = j["mounts"] = Json::array();
    for (const auto& m : s.mounts) a.push_back(mount_json(m));
  }
  if (!s.hooks.empty()) j["hooks"] = hooks_json(s.hooks);
  put(j, "annotations", s.annotations);
  j["linux"] = linux_json(s.linux);
  return j;
}

}  // namespace hull::oci

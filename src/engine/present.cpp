#include "engine/present.hpp"

#include "common/strings.hpp"
#include "common/time.hpp"
#include "engine/engine.hpp"

namespace hull::engine {

std::string human_duration(int64_t ns) {
  int64_t s = ns / 1000000000;
  if (s < 1) return "Less than a second";
  if (s == 1) return "1 second";
  if (s < 60) return fmt::format("{} seconds", s);
  int64_t m = s / 60;
  if (m == 1) return "About a minute";
  if (m < 60) return fmt::format("{} minutes", m);
  int64_t h = static_cast<int64_t>(static_cast<double>(s) / 3600 + 0.5);
  if (h == 1) return "About an hour";
  if (h < 48) return fmt::format("{} hours", h);
  if (h < 24 * 7 * 2) return fmt::format("{} days", h / 24);
  if (h < 24 * 30 * 2) return fmt::format("{} weeks", h / 24 / 7);
  if (h < 24 * 365 * 2) return fmt::format("{} months", h / 24 / 30);
  return fmt::format("{} years", h / 24 / 365);
}

std::string status_text(const Container& c, int64_t now) {
  const auto& s = c.state;
  switch (s.status) {
    case ContainerStatus::created:
      return "Created";
    case ContainerStatus::running:
      return fmt::format("Up {}", human_duration(now - s.started_at));
    case ContainerStatus::paused:
      return fmt::format("Up {} (Paused)", human_duration(now - s.started_at));
    case ContainerStatus::restarting:
      return fmt::format("Restarting ({}) {} ago", s.exit_code,
                         human_duration(now - s.finished_at));
    case ContainerStatus::exited:
      if (s.finished_at == 0) return fmt::format("Exited ({})", s.exit_code);
      return fmt::format("Exited ({}) {} ago", s.exit_code, human_duration(now - s.finished_at));
    case ContainerStatus::dead:
      return "Dead";
  }
  return "";
}

std::string ports_text(const ContainerConfig& c) {
  std::string out;
  for (const auto& p : c.ports) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}:{}->{}/{}", p.host_ip.empty() ? "0.0.0.0" : p.host_ip, p.host_port,
                       p.container_port, p.proto);
  }
  return out;
}

std::string ports_text(const Container& c) {
  bool live = c.state.status == ContainerStatus::running ||
              c.state.status == ContainerStatus::paused ||
              c.state.status == ContainerStatus::restarting;
  if (!live || c.state.ports.empty()) return ports_text(c.config);
  ContainerConfig resolved;
  resolved.ports = c.state.ports;
  return ports_text(resolved);
}

std::string command_text(const ContainerConfig& c) {
  std::string out;
  for (const auto* v : {&c.entrypoint, &c.cmd})
    for (const auto& a : *v) {
      if (!out.empty()) out += ' ';
      out += a;
    }
  return "\"" + out + "\"";
}

Json inspect_json(const Engine& e, const Container& c) {
  const auto& cfg = c.config;
  const auto& s = c.state;
  Json mounts = Json::array();
  for (const auto& m : cfg.mounts)
    mounts.push_back({{"Type", m.type},
                      {"Name", m.name},
                      {"Source", m.source},
                      {"Destination", m.destination},
                      {"RW", m.rw},
                      {"Mode", m.rw ? "" : "ro"},
                      {"Propagation", m.type == "bind" ? "rprivate" : ""}});
  Json ports = Json::object();
  for (const auto& p : s.ports.empty() ? cfg.ports : s.ports)
    ports[fmt::format("{}/{}", p.container_port, p.proto)].push_back(
        {{"HostIp", p.host_ip.empty() ? "0.0.0.0" : p.host_ip},
         {"HostPort", std::to_string(p.host_port)}});
  Json networks = Json::object();
  networks[cfg.network] = {{"IPAddress", s.ip}, {"Aliases", cfg.network_aliases}};
  // The limits docker's HostConfig shows, from the spec written at create (zero values, as
  // docker's, when unset or unreadable).
  int64_t memory = 0, swap = 0, reservation = 0, nano_cpus = 0, shares = 0, shm_size = 0;
  int64_t cpu_quota = 0, cpu_period = 0, blkio_weight = 0;
  Json pids_limit = nullptr;
  std::string cpuset, cpuset_mems;
  bool readonly_rootfs = false;
  if (auto spec = e.load_spec(cfg.id)) {
    readonly_rootfs = spec->root.readonly;
    if (const auto& r = spec->linux.resources) {
      if (r->memory) {
        memory = r->memory->limit.value_or(0);
        swap = r->memory->swap.value_or(0);
        reservation = r->memory->reservation.value_or(0);
      }
      if (r->cpu) {
        // --cpus is NanoCpus; update's --cpu-quota/--cpu-period show as themselves.
        if (cfg.cpu_cfs) {
          cpu_quota = r->cpu->quota.value_or(0);
          cpu_period = static_cast<int64_t>(r->cpu->period.value_or(0));
        } else if (r->cpu->quota.value_or(0) > 0 && r->cpu->period.value_or(0) > 0) {
          nano_cpus = *r->cpu->quota * 1000000000 / static_cast<int64_t>(*r->cpu->period);
        }
        shares = static_cast<int64_t>(r->cpu->shares.value_or(0));
        cpuset = r->cpu->cpus;
        cpuset_mems = r->cpu->mems;
      }
      if (r->pids_limit) pids_limit = *r->pids_limit;
      if (r->block_io) blkio_weight = r->block_io->weight.value_or(0);
    }
    for (const auto& m : spec->mounts)
      if (m.destination == "/dev/shm" && m.type == "tmpfs")
        for (auto o : m.options)
          if (o.starts_with("size=")) shm_size = parse_int<int64_t>(o.substr(5)).value_or(0);
  }
  if (cfg.shm_size) shm_size = cfg.shm_size;  // --ipc shareable: the host's tmpfs
  Json port_bindings = Json::object();
  for (const auto& p : cfg.ports)
    port_bindings[fmt::format("{}/{}", p.container_port, p.proto)].push_back(
        {{"HostIp", p.host_ip},
         {"HostPort", p.host_port ? std::to_string(p.host_port) : std::string()}});
  std::vector<std::string> args = cfg.entrypoint;
  args.insert(args.end(), cfg.cmd.begin(), cfg.cmd.end());
  std::string path;
  if (!args.empty()) {
    path = args.front();
    args.erase(args.begin());
  }
  return Json{
      {"Id", cfg.id},
      {"Created", rfc3339(cfg.created)},
      {"Path", path},
      {"Args", args},
      {"State",
       {{"Status", status_name(s.status)},
        {"Running", s.status == ContainerStatus::running || s.status == ContainerStatus::paused},
        {"Paused", s.status == ContainerStatus::paused},
        {"Restarting", s.status == ContainerStatus::restarting},
        {"OOMKilled", s.oom_killed},
        {"Dead", s.status == ContainerStatus::dead},
        {"Pid", s.pid},
        {"ExitCode", s.exit_code},
        {"Error", s.error},
        {"StartedAt", rfc3339(s.started_at)},
        {"FinishedAt", rfc3339(s.finished_at)},
        {"MonitorPid", s.monitor_pid}}},
      {"Image", cfg.image_id},
      {"Name", "/" + cfg.name},
      {"RestartCount", s.restart_count},
      {"LogPath", e.log_path(cfg.id)},
      {"HostConfig",
       {{"AutoRemove", cfg.auto_remove},
        {"RestartPolicy",
         {{"Name", split(restart_policy_name(cfg.restart), ':')[0]},
          {"MaximumRetryCount", cfg.restart.max_retries}}},
        {"NetworkMode", cfg.network},
        // docker's: "container:<id>" for a joined namespace; IpcMode "private" by default.
        {"PidMode", cfg.pid_mode},
        {"IpcMode", cfg.ipc_mode.empty() ? "private" : cfg.ipc_mode},
        {"UTSMode", cfg.uts_mode},
        {"LogConfig",
         {{"Type", "json-file"},
          {"Config",
           {{"max-size", std::to_string(cfg.log_max_size)},
            {"max-file", std::to_string(cfg.log_max_file)}}}}},
        {"Init", cfg.init},
        {"GroupAdd", cfg.group_add},
        {"Memory", memory},
        {"MemorySwap", swap},
        {"MemoryReservation", reservation},
        {"NanoCpus", nano_cpus},
        {"CpuShares", shares},
        {"CpuQuota", cpu_quota},
        {"CpuPeriod", cpu_period},
        {"CpusetCpus", cpuset},
        {"CpusetMems", cpuset_mems},
        {"PidsLimit", pids_limit},
        {"BlkioWeight", blkio_weight},
        {"ReadonlyRootfs", readonly_rootfs},
        {"ShmSize", shm_size},
        {"PortBindings", port_bindings}}},
      {"Config",
       {{"Hostname", cfg.hostname},
        {"User", cfg.user},
        {"Env", cfg.env},
        {"Cmd", cfg.cmd},
        {"Entrypoint", cfg.entrypoint},
        {"Image", cfg.image},
        {"WorkingDir", cfg.workdir},
        {"Labels", cfg.labels},
        {"Tty", cfg.tty},
        {"OpenStdin", cfg.interactive},
        {"StopSignal", cfg.stop_signal},
        {"StopTimeout", cfg.stop_timeout}}},
      {"Mounts", mounts},
      {"NetworkSettings", {{"IPAddress", s.ip}, {"Ports", ports}, {"Networks", networks}}},
  };
}

std::string tabulate(std::string_view lines) {
  auto width = [](std::string_view s) {
    size_t n = 0;
    for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;  // UTF-8 code points
    return n;
  };
  if (lines.ends_with('\n')) lines.remove_suffix(1);
  std::vector<std::vector<std::string_view>> rows;
  for (auto line : split(lines, '\n')) rows.push_back(split(line, '\t'));
  std::vector<size_t> w;
  for (const auto& cells : rows)
    for (size_t i = 0; i + 1 < cells.size(); ++i) {
      if (w.size() <= i) w.resize(i + 1, 0);
      w[i] = std::max(w[i], width(cells[i]));
    }
  std::string out;
  for (const auto& cells : rows) {
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out.append(std::max<size_t>(10, w[i] + 3) - width(cells[i]), ' ');
    }
    out += '\n';
  }
  return out;
}

Result<std::string> inspect_output(const std::vector<Json>& objects, std::string_view format) {
  if (format.empty()) return Json(objects).dump(4) + "\n";
  std::string lines;
  for (const auto& o : objects) lines += HULL_TRY(format_template(o, format)) + "\n";
  return lines;
}

Result<std::string> format_rows(std::string_view format, std::string_view default_table,
                                const std::vector<Json>& rows, const Json& header) {
  if (format == "json") {
    std::string lines;
    for (const auto& row : rows) lines += row.dump() + "\n";
    return lines;
  }
  std::string f(format);
  const bool table = f.empty() || f.starts_with("table");
  if (table) {
    f = std::string(trim(std::string_view(f).substr(f.empty() ? 0 : 5)));
    if (f.empty()) f = default_table;
  }
  for (auto [from, to] : {std::pair{"\\t", "\t"}, {"\\n", "\n"}})
    for (size_t at = 0; (at = f.find(from, at)) != std::string::npos; at += 1) f.replace(at, 2, to);
  std::string body;
  for (const auto& row : rows) body += HULL_TRY(format_template(row, f)) + "\n";
  // docker checks the template even when nothing is listed: over the column names.
  if (rows.empty() && !table) HULL_TRY(format_template(header, f));
  if (!table) return body;
  // The header: the same template over each field's column name (docker's FullHeader).
  return tabulate(HULL_TRY(format_template(header, f)) + "\n" + body);
}

std::string labels_text(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += fmt::format("{}{}={}", out.empty() ? "" : ",", k, v);
  return out;
}

std::string go_time_text(int64_t secs) {
  std::string t = format_rfc3339(secs);
  return t.substr(0, 10) + " " + t.substr(11, 8) + " +0000 UTC";
}

}  // namespace hull::engine

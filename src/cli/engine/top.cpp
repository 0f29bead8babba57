// hull top CONTAINER [ps OPTIONS]: the host's ps, filtered to the container's processes
// (its cgroup, or without one the processes in its pid namespace).
#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <set>

#include "cgroups/manager.hpp"
#include "cli/engine/run_flags.hpp"
#include "common/strings.hpp"

namespace hull::cli {
namespace {

std::set<pid_t> container_pids(const runtime::State& rs) {
  std::set<pid_t> out;
  if (!rs.cgroup.is_null())
    if (auto m = cgroups::load_manager(rs.cgroup))
      if (auto p = (*m)->pids(); p && !p->empty()) return {p->begin(), p->end()};
  struct stat ns {};
  if (::stat(fmt::format("/proc/{}/ns/pid", rs.pid).c_str(), &ns) < 0) return out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (auto* ent = ::readdir(d)) {
    auto pid = parse_int<pid_t>(ent->d_name);
    if (!pid) continue;
    struct stat st {};
    if (::stat(fmt::format("/proc/{}/ns/pid", *pid).c_str(), &st) == 0 && st.st_ino == ns.st_ino)
      out.insert(*pid);
  }
  ::closedir(d);
  return out;
}

}  // namespace

HULL_ENGINE_VERB(top, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::string ref;
    std::vector<std::string> ps_args;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("top", "show a container's processes");
  c->prefix_command();
  c->add_option("container", a->ref, "container name or id")->required();
  return [a, c, &g]() -> int {
    a->ps_args = c->remaining();
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    auto ct = e->find(a->ref);
    if (!ct) return verb_failure(ct.error());
    if (ct->state.status != engine::ContainerStatus::running &&
        ct->state.status != engine::ContainerStatus::paused)
      return verb_failure(Error{0, fmt::format("container {} is not running", a->ref)});
    auto rs = e->store().load(ct->config.id);
    if (!rs) return verb_failure(rs.error());
    auto pids = container_pids(*rs);
    std::string cmd = "ps";
    if (a->ps_args.empty()) cmd += " -ef";
    for (const auto& arg : a->ps_args) {
      if (arg.find_first_not_of(
              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-,=%") !=
          std::string::npos)
        return verb_failure(Error{0, fmt::format("top: unsupported ps option \"{}\"", arg)});
      cmd += " " + arg;
    }
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) return verb_failure(Error{errno, "popen ps"});
    char line[4096];
    int pid_col = -1;
    bool header = true;
    while (std::fgets(line, sizeof line, f)) {
      auto cols = split(trim(line), ' ');
      std::erase_if(cols, [](std::string_view s) { return s.empty(); });
      if (header) {
        for (size_t i = 0; i < cols.size(); ++i)
          if (cols[i] == "PID") pid_col = static_cast<int>(i);
        fmt::print("{}", line);
        header = false;
        if (pid_col < 0) break;
        continue;
      }
      if (static_cast<size_t>(pid_col) < cols.size())
        if (auto p = parse_int<pid_t>(cols[static_cast<size_t>(pid_col)]); p && pids.count(*p))
          fmt::print("{}", line);
    }
    int st = ::pclose(f);
    if (pid_col < 0) return verb_failure(Error{0, "top: ps printed no PID column"});
    return st == 0 ? 0 : 1;
  };
});

}  // namespace hull::cli

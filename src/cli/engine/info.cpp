// hull info: counts, paths and the host's kernel features.
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/magic.h>

#include "cli/engine/run_flags.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "image/registries.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(info, [](CLI::App& app, EngineGlobals& g) {
  auto* c = app.add_subcommand("info", "show system-wide information");
  (void)c;
  return [&g]() -> int {
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    auto all = e->list();
    if (!all) return verb_failure(all.error());
    size_t running = 0, paused = 0, stopped = 0;
    for (const auto& ct : *all) {
      if (ct.state.status == engine::ContainerStatus::running ||
          ct.state.status == engine::ContainerStatus::restarting)
        ++running;
      else if (ct.state.status == engine::ContainerStatus::paused)
        ++paused;
      else
        ++stopped;
    }
    utsname u{};
    ::uname(&u);
    struct statfs sf {};
    std::string cgroup = "none";
    if (::statfs("/sys/fs/cgroup", &sf) == 0)
      cgroup = sf.f_type == CGROUP2_SUPER_MAGIC ? "2" : "1 (hybrid if /sys/fs/cgroup/unified)";
    std::string os = "linux";
    if (auto rel = fs::read_file("/etc/os-release"))
      for (auto line : split(*rel, '\n'))
        if (line.starts_with("PRETTY_NAME=")) {
          os = std::string(line.substr(12));
          std::erase(os, '"');
        }
    long pages = ::sysconf(_SC_PHYS_PAGES), psize = ::sysconf(_SC_PAGESIZE);
    fmt::print(
        "Containers: {}\n Running: {}\n Paused: {}\n Stopped: {}\nServer Version: {}\n"
        "Storage Driver: overlay\nLogging Driver: json-file\nCgroup Version: {}\n"
        "Runtime: hull (in-process)\nSecurity Options:\n seccomp\n  Profile: builtin\n"
        "Kernel Version: {}\nOperating System: {}\nArchitecture: {}\nCPUs: {}\n"
        "Total Memory: {:.3g}GiB\nHull Root Dir: {}\nHull Run Root: {}\n",
        all->size(), running, paused, stopped, HULL_VERSION, cgroup, u.release, os, u.machine,
        ::sysconf(_SC_NPROCESSORS_ONLN),
        static_cast<double>(pages) * static_cast<double>(psize) / (1024.0 * 1024 * 1024), g.root,
        g.run_root);
    // docker's registry lines; loopback registries are always insecure (plain HTTP).
    const auto& reg = image::registry_config();
    fmt::print("Config File: {}\nDefault Registry: {}\nInsecure Registries:\n",
               g.config.path.empty() ? "none" : g.config.path + (g.config.found ? "" : " (absent)"),
               reg.default_registry);
    for (const auto& e : reg.insecure.entries()) fmt::print(" {}\n", escape_controls(e));
    fmt::print(" 127.0.0.0/8\n ::1/128\nRegistry Mirrors:\n");
    for (const auto& m : reg.mirrors) fmt::print(" {}/\n", m);
    if (const char* m = ::getenv("HULL_REGISTRY_MIRROR"); m && *m)
      fmt::print(" {} (HULL_REGISTRY_MIRROR: in place of docker.io)\n", escape_controls(m));
    return 0;
  };
});

}  // namespace hull::cli

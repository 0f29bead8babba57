// hull-runtime: a runc-compatible OCI runtime. Global flags follow runc's.
#include <unistd.h>

#include <map>
#include <vector>

#include "cli/runtime/verb.hpp"
#include "common/log.hpp"
#include "oci/spec.hpp"

namespace hull::cli {
namespace {

std::map<std::string, VerbFactory>& verbs() {
  static std::map<std::string, VerbFactory> v;
  return v;
}

}  // namespace

bool register_verb(const char* name, VerbFactory factory) {
  verbs().emplace(name, std::move(factory));
  return true;
}

}  // namespace hull::cli

int main(int argc, char** argv) {
  using namespace hull;
  cli::Globals g;
  if (geteuid() != 0) {
    if (const char* xdg = getenv("XDG_RUNTIME_DIR"); xdg && *xdg)
      g.root = std::string(xdg) + "/hull-runtime";
  }
  CLI::App app{"hull-runtime: an OCI container runtime", "hull-runtime"};
  app.set_version_flag("-v,--version", fmt::format("hull-runtime version {}\nspec: {}",
                                                   HULL_VERSION, oci::kSpecVersion));
  app.require_subcommand(1);
  app.add_option("--root", g.root, "directory for container state");
  app.add_option("--log", g.log_file, "log file (default stderr)");
  app.add_option("--log-format", g.log_format, "log format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", g.debug, "debug logging");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup, "use systemd for cgroups (unsupported)");
  std::string rootless = "auto";
  app.add_option("--rootless", rootless, "ignored; rootless mode is detected");

  // Only the chosen verb's subcommand is built: each costs heap and code pages, and a
  // container start is measured in RSS too (bench/README.md). Without a known verb (help,
  // typos) every verb is added, so CLI11 lists them or names the error as before.
  std::string chosen;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a.starts_with("-")) {
      if (a == "--root" || a == "--log" || a == "--log-format" || a == "--rootless") ++i;
      continue;
    }
    chosen = a == "ls" ? "list" : std::string(a);
    break;
  }
  if (!cli::verbs().contains(chosen)) chosen.clear();
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& [name, factory] : cli::verbs()) {
    if (!chosen.empty() && name != chosen) continue;
    // Each factory adds its subcommand; remember which runner belongs to which.
    size_t before = app.get_subcommands({}).size();
    auto run = factory(app, g);
    auto subs = app.get_subcommands({});
    if (subs.size() > before) runners.emplace_back(subs.back(), std::move(run));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    log::configure(g.log_file, g.log_format == "json" ? log::Format::json : log::Format::text,
                   g.debug);
    if (e.get_exit_code() == 0) return app.exit(e);
    log::error("{}", e.what());
    return 1;
  }
  log::configure(g.log_file, g.log_format == "json" ? log::Format::json : log::Format::text,
                 g.debug);
  if (g.systemd_cgroup) {
    log::error("--systemd-cgroup: the systemd cgroup driver is not supported; use cgroupfs");
    return 1;
  }
  for (auto& [sub, run] : runners)
    if (sub->parsed()) return run();
  return 1;
}

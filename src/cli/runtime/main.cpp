// hull-runtime: a runc-compatible OCI runtime. Global flags follow runc's.
#include <unistd.h>

#include "cli/runtime/verb.hpp"
#include "cli/verb_table.hpp"
#include "common/log.hpp"
#include "oci/spec.hpp"

namespace hull::cli {

bool register_verb(const char* name, VerbFactory factory) {
  return VerbTable<Globals>::add(name, std::move(factory));
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
  std::string chosen = cli::VerbTable<cli::Globals>::verb_in(
      argc, argv, {"--root", "--log", "--log-format", "--rootless"});
  if (chosen == "ls") chosen = "list";
  cli::VerbTable<cli::Globals> verbs(app, g, chosen);
  // runc exits 1 on any error, a usage error included.
  auto done = verbs.parse(
      argc, argv,
      [&] {
        log::configure(g.log_file, g.log_format == "json" ? log::Format::json : log::Format::text,
                       g.debug);
      },
      1);
  if (done) return *done;
  if (g.systemd_cgroup) {
    log::error("--systemd-cgroup: the systemd cgroup driver is not supported; use cgroupfs");
    return 1;
  }
  return verbs.run(1);
}

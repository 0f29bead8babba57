// hull: the container engine a person types. Global flags and verbs follow docker's.
#include <unistd.h>

#include <map>
#include <vector>

#include "cli/engine/verb.hpp"
#include "common/log.hpp"

namespace hull::cli {
namespace {

std::map<std::string, EngineVerbFactory>& verbs() {
  static std::map<std::string, EngineVerbFactory> v;
  return v;
}

}  // namespace

bool register_engine_verb(const char* name, EngineVerbFactory factory) {
  verbs().emplace(name, std::move(factory));
  return true;
}

}  // namespace hull::cli

int main(int argc, char** argv) {
  using namespace hull;
  cli::EngineGlobals g;
  if (const char* r = getenv("HULL_ROOT"); r && *r) g.root = r;
  if (const char* r = getenv("HULL_RUN_ROOT"); r && *r) g.run_root = r;
  CLI::App app{"hull: run containers", "hull"};
  app.set_version_flag("-v,--version", fmt::format("hull version {}", HULL_VERSION));
  app.require_subcommand(1);
  app.add_option("--root", g.root, "persistent state: images, containers, networks")
      ->envname("HULL_ROOT");
  app.add_option("--run-root", g.run_root, "runtime state of running containers")
      ->envname("HULL_RUN_ROOT");
  app.add_flag("-D,--debug", g.debug, "debug logging");

  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& [name, factory] : cli::verbs()) {
    size_t before = app.get_subcommands({}).size();
    auto run = factory(app, g);
    auto subs = app.get_subcommands({});
    if (subs.size() > before) runners.emplace_back(subs.back(), std::move(run));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    log::configure("", log::Format::text, g.debug);
    if (e.get_exit_code() == 0) return app.exit(e);
    log::error("{}", e.what());
    return 125;
  }
  log::configure("", log::Format::text, g.debug);
  for (auto& [sub, run] : runners)
    if (sub->parsed()) return run();
  return 125;
}

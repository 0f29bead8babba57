// hull system prune [-f]: stopped containers, and whatever a crash left behind (runtime
// state, container directories and mounts without a record).
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(system, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    bool force = false, all = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("system", "manage hull");
  c->require_subcommand(1);
  auto* prune = c->add_subcommand("prune", "remove stopped containers and crash leftovers");
  prune->add_flag("-f,--force", a->force, "do not prompt (hull never prompts)");
  prune->add_flag("-a,--all", a->all, "also unused images");
  return [a, prune, &g]() -> int {
    if (!prune->parsed()) return 125;
    auto e = open_engine(g);
    if (!e) return engine_report(e.error());
    auto removed = e->prune();
    if (!removed) return engine_report(removed.error());
    if (!removed->empty()) {
      fmt::print("Deleted Containers:\n");
      for (const auto& id : *removed) fmt::print("{}\n", id);
      fmt::print("\n");
    }
    fmt::print("Total reclaimed space: 0B\n");
    return 0;
  };
});

}  // namespace hull::cli

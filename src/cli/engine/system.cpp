// hull system prune [-f] [-a] [--volumes]: stopped containers, whatever a crash left
// behind (runtime state, container directories and mounts without a record), then
// dangling images, or with -a every image no container uses, and with --volumes the
// anonymous volumes no container uses (docker's).
#include "cli/engine/run_flags.hpp"
#include "engine/volume_admin.hpp"
#include "image/format.hpp"
#include "image/store.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(system, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    bool force = false, all = false, volumes = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("system", "manage hull");
  c->require_subcommand(1);
  auto* prune = c->add_subcommand(
      "prune", "remove stopped containers, crash leftovers and dangling (-a: unused) images");
  prune->add_flag("-f,--force", a->force, "do not prompt (hull never prompts)");
  prune->add_flag("-a,--all", a->all, "also unused images");
  prune->add_flag("--volumes", a->volumes, "also unused anonymous volumes");
  return [a, prune, &g]() -> int {
    if (!prune->parsed()) return 125;
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    auto removed = e->prune();
    if (!removed) return verb_failure(removed.error());
    if (!removed->empty()) {
      fmt::print("Deleted Containers:\n");
      for (const auto& id : *removed) fmt::print("{}\n", id);
      fmt::print("\n");
    }
    // After the containers: a removed container no longer holds its image.
    auto store = image::Store::open(g.root);
    if (!store) return verb_failure(store.error());
    auto images = store->prune(a->all);
    if (!images) return verb_failure(images.error());
    if (!images->lines.empty()) {
      fmt::print("Deleted Images:\n");
      for (const auto& line : images->lines) fmt::print("{}\n", line);
      fmt::print("\n");
    }
    uint64_t reclaimed = images->reclaimed;
    if (a->volumes) {
      auto vols = engine::prune_volumes(e->db(), false);
      if (!vols) return verb_failure(vols.error());
      if (!vols->removed.empty()) {
        fmt::print("Deleted Volumes:\n");
        for (const auto& n : vols->removed) fmt::print("{}\n", n);
        fmt::print("\n");
      }
      reclaimed += vols->reclaimed;
    }
    fmt::print("Total reclaimed space: {}\n", image::human_size(double(reclaimed), 4));
    return 0;
  };
});

}  // namespace hull::cli

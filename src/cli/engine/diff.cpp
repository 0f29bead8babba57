// hull diff CONTAINER: the files the container added (A), changed (C) and deleted (D)
// relative to its image, from its overlay upper dir, in docker's order.
#include "cli/engine/run_flags.hpp"
#include "engine/container_fs.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(diff, [](CLI::App& app, EngineGlobals& g) {
  auto ref = std::make_shared<std::string>();
  auto* c = app.add_subcommand("diff", "show the changes to a container's filesystem");
  c->add_option("container", *ref, "container name or id")->required();
  return [ref, &g]() -> int {
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    auto lines = engine::container_changes(*e, *ref);
    if (!lines) return verb_failure(lines.error());
    for (const auto& l : *lines) fmt::print("{}\n", l);
    return 0;
  };
});

}  // namespace hull::cli

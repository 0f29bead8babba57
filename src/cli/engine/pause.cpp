// hull pause CONTAINER...: freeze every process (cgroup freezer).
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(pause, [](CLI::App& app, EngineGlobals& g) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto* c = app.add_subcommand("pause", "pause all processes of containers");
  c->add_option("container", *refs, "container names or ids")->required();
  return [refs, &g]() -> int {
    return for_each_container(
        g, *refs, [](engine::Engine& e, const std::string& ref) { return e.pause(ref, true); });
  };
});

}  // namespace hull::cli

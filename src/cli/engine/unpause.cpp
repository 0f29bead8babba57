// hull unpause CONTAINER...: thaw a paused container.
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(unpause, [](CLI::App& app, EngineGlobals& g) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto* c = app.add_subcommand("unpause", "resume all processes of containers");
  c->add_option("container", *refs, "container names or ids")->required();
  return [refs, &g]() -> int {
    return for_each_container(
        g, *refs, [](engine::Engine& e, const std::string& ref) { return e.pause(ref, false); });
  };
});

}  // namespace hull::cli

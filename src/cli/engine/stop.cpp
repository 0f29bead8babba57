// hull stop [-t SECONDS] CONTAINER...
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(stop, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    std::optional<int> timeout;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("stop", "stop running containers");
  c->add_option("container", a->refs, "container names or ids")->required();
  c->add_option("-t,--time,--timeout", a->timeout, "seconds to wait before killing");
  return [a, &g]() -> int {
    return for_each_container(g, a->refs, [&](engine::Engine& e, const std::string& ref) {
      return e.stop(ref, a->timeout);
    });
  };
});

}  // namespace hull::cli

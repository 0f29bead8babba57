// hull wait CONTAINER...: prints each exit code once the container stops.
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(wait, [](CLI::App& app, EngineGlobals& g) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto* c = app.add_subcommand("wait", "block until containers stop, print their exit codes");
  c->add_option("container", *refs, "container names or ids")->required();
  return [refs, &g]() -> int {
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    int rc = 0;
    for (const auto& ref : *refs) {
      auto code = e->wait(ref);
      if (!code)
        rc = verb_failure(code.error());
      else
        fmt::print("{}\n", *code);
      std::fflush(stdout);
    }
    return rc;
  };
});

}  // namespace hull::cli

// hull unpause CONTAINER...: thaw a paused container.
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(unpause, [](CLI::App& app, EngineGlobals& g) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto* c = app.add_subcommand("unpause", "resume all processes of containers");
  c->add_option("container", *refs, "container names or ids")->required();
  return [refs, &g]() -> int {
    auto e = open_engine(g);
    if (!e) return engine_report(e.error());
    int rc = 0;
    for (const auto& ref : *refs) {
      if (auto r = e->pause(ref, false); !r)
        rc = engine_report(r.error());
      else
        fmt::print("{}\n", ref);
    }
    return rc;
  };
});

}  // namespace hull::cli

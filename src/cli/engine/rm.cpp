// hull rm [-f] [-v] CONTAINER...
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(rm, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    bool force = false, volumes = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("rm", "remove containers");
  c->add_option("container", a->refs, "container names or ids")->required();
  c->add_flag("-f,--force", a->force, "kill and remove a running container");
  c->add_flag("-v,--volumes", a->volumes, "remove its anonymous volumes");
  return [a, &g]() -> int {
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    int rc = 0;
    for (const auto& ref : a->refs) {
      if (auto r = e->remove(ref, a->force, a->volumes); !r)
        rc = verb_failure(r.error());
      else
        fmt::print("{}\n", ref);
    }
    return rc;
  };
});

}  // namespace hull::cli

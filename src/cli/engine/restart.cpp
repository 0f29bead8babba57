// hull restart [-t SECONDS] CONTAINER...
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(restart, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    std::optional<int> timeout;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("restart", "restart containers");
  c->add_option("container", a->refs, "container names or ids")->required();
  c->add_option("-t,--time,--timeout", a->timeout, "seconds to wait before killing");
  return [a, &g]() -> int {
    auto e = open_engine(g);
    if (!e) return engine_report(e.error());
    int rc = 0;
    for (const auto& ref : a->refs) {
      if (auto r = e->stop(ref, a->timeout); !r) {
        rc = engine_report(r.error());
        continue;
      }
      auto s = e->start(ref, {});
      if (!s) {
        log::error("{}", s.error().error.message);
        rc = s.error().exit_code;
        continue;
      }
      fmt::print("{}\n", ref);
    }
    return rc;
  };
});

}  // namespace hull::cli

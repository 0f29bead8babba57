// hull start [-a] [-i] CONTAINER...
#include <unistd.h>

#include "cli/engine/run_flags.hpp"
#include "cli/engine/terminal.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(start, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    bool attach = false, interactive = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("start", "start one or more stopped containers");
  c->add_option("container", a->refs, "container names or ids")->required();
  c->add_flag("-a,--attach", a->attach, "attach to the output and wait for the exit");
  c->add_flag("-i,--interactive", a->interactive, "attach stdin");
  return [a, &g]() -> int {
    auto e = open_engine(g);
    if (!e) return engine_report(e.error());
    int rc = 0;
    for (const auto& ref : a->refs) {
      bool attach = a->attach && a->refs.size() == 1;
      RawTerminal raw;
      if (attach) {
        auto ct = e->find(ref);
        if (ct && ct->config.tty && a->interactive) raw.enable(STDIN_FILENO);
      }
      auto r = e->start(ref, {.attach = attach});
      if (!r) {
        log::error("{}", r.error().error.message);
        rc = r.error().exit_code;
        continue;
      }
      if (attach) return r->detached ? 0 : r->exit_code.value_or(engine::kExitEngine);
      fmt::print("{}\n", ref);
    }
    return rc;
  };
});

}  // namespace hull::cli

// hull stop [-s SIGNAL] [-t SECONDS] CONTAINER...
#include "cli/engine/run_flags.hpp"
#include "common/signals.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(stop, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    std::optional<int> timeout;
    std::string signal;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("stop", "stop running containers");
  c->add_option("container", a->refs, "container names or ids")->required();
  c->add_option("-t,--time,--timeout", a->timeout, "seconds to wait before killing");
  c->add_option("-s,--signal", a->signal, "signal to send first (default: the stop signal)");
  return [a, &g]() -> int {
    auto sig = parse_stop_signal(a->signal);
    if (!sig) return verb_failure(sig.error());
    return for_each_container(g, a->refs, [&](engine::Engine& e, const std::string& ref) {
      return e.stop(ref, a->timeout, *sig);
    });
  };
});

}  // namespace hull::cli

// hull kill [-s SIGNAL] CONTAINER...
#include "cli/engine/run_flags.hpp"
#include "common/signals.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(kill, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    std::string signal = "KILL";
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("kill", "send a signal to containers");
  c->add_option("container", a->refs, "container names or ids")->required();
  c->add_option("-s,--signal", a->signal, "signal (default KILL)");
  return [a, &g]() -> int {
    // Signal 0 (a liveness probe to kill(2), and to runc) is not a signal to docker.
    auto sig = parse_signal(a->signal);
    if (!sig || *sig == 0)
      return verb_failure(Error{0, fmt::format("invalid signal \"{}\"", a->signal)});
    return for_each_container(
        g, a->refs, [&](engine::Engine& e, const std::string& ref) { return e.kill(ref, *sig); });
  };
});

}  // namespace hull::cli

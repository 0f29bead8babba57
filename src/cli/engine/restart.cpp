// hull restart [-s SIGNAL] [-t SECONDS] CONTAINER...
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(restart, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    std::optional<int> timeout;
    std::string signal;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("restart", "restart containers");
  c->add_option("container", a->refs, "container names or ids")->required();
  c->add_option("-t,--time,--timeout", a->timeout, "seconds to wait before killing");
  c->add_option("-s,--signal", a->signal, "signal to send first (default: the stop signal)");
  return [a, &g]() -> int {
    auto sig = parse_stop_signal(a->signal);
    if (!sig) return verb_failure(sig.error());
    if (auto e = open_engine(g))
      if (auto r = seal_for_pid_joins(*e, g, a->refs); !r) return verb_failure(r.error());
    return for_each_container(
        g, a->refs,
        [&](engine::Engine& e, const std::string& ref) -> std::expected<void, engine::RunError> {
          if (auto r = e.stop(ref, a->timeout, *sig); !r)
            return std::unexpected(engine::RunError{engine::kExitEngine, r.error()});
          if (auto s = e.start(ref, {}); !s) return std::unexpected(s.error());
          return {};
        });
  };
});

}  // namespace hull::cli

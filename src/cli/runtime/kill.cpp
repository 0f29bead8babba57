// hull-runtime kill [--all] ID [SIGNAL]: SIGNAL as KILL, SIGKILL or 9 (default SIGTERM).
#include <csignal>

#include "cli/runtime/verb.hpp"
#include "common/signals.hpp"
#include "runtime/container.hpp"

namespace hull::cli {

HULL_VERB(kill, [](CLI::App& app, Globals& g) {
  struct Args {
    std::string id;
    std::string signal = "SIGTERM";
    bool all = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("kill", "send a signal to a container's init");
  c->add_option("id", a->id, "container id")->required();
  c->add_option("signal", a->signal, "signal name or number (default SIGTERM)");
  c->add_flag("-a,--all", a->all, "signal every process in the container");
  return [a, &g] {
    auto sig = parse_signal(a->signal);
    if (!sig) return report(Error{EINVAL, fmt::format("unknown signal \"{}\"", a->signal)});
    auto r = runtime::kill(store_of(g), a->id, *sig, a->all);
    return r ? 0 : report(r.error());
  };
});

}  // namespace hull::cli

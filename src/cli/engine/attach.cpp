// hull attach [--detach-keys KEYS] [--no-stdin] [--sig-proxy=true|false] CONTAINER
// As docker's: this terminal (or stdio) to a running container's main process, through
// its monitor (engine/monitor/hull-monitor.c serves attach.sock). Exits with the
// program's status when it ends, 0 on the detach keys (-t), 1 when it cannot attach.
#include <unistd.h>

#include "cli/engine/run_flags.hpp"
#include "cli/engine/terminal.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(attach, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::string ref, detach_keys;
    bool no_stdin = false, sig_proxy = true;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("attach", "attach to a running container's main process");
  c->add_option("container", a->ref, "container name or id")->required();
  c->add_option("--detach-keys", a->detach_keys,
                "keys that detach from a -t container, leaving it running (ctrl-p,ctrl-q)");
  c->add_flag("--no-stdin", a->no_stdin, "do not attach stdin");
  c->add_flag("--sig-proxy", a->sig_proxy,
              "forward received signals to the program (without -t); --sig-proxy=false: not");
  return [a, &g]() -> int {
    auto keys = engine::parse_detach_keys(a->detach_keys);
    if (!keys) return verb_failure(keys.error());
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    auto ct = e->find(a->ref);
    if (!ct) return verb_failure(ct.error());
    RawTerminal raw;
    // The keys go to the program as typed (ctrl-c too) only when it reads them on a pty.
    if (ct->config.tty && ct->config.interactive && !a->no_stdin &&
        ct->state.status == engine::ContainerStatus::running)
      raw.enable(STDIN_FILENO);
    auto r = e->attach(ct->config.id,
                       {.no_stdin = a->no_stdin, .sig_proxy = a->sig_proxy, .detach_keys = *keys});
    if (!r) return verb_failure(r.error().error);
    if (r->detached) return 0;
    return r->exit_code.value_or(engine::kExitEngine);
  };
});

}  // namespace hull::cli

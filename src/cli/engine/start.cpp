// hull start [-a] [-i] [--detach-keys KEYS] CONTAINER...
#include <unistd.h>

#include "cli/engine/run_flags.hpp"
#include "cli/engine/terminal.hpp"
#include "engine/monitor.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(start, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    std::string detach_keys;
    bool attach = false, interactive = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("start", "start one or more stopped containers");
  c->add_option("container", a->refs, "container names or ids")->required();
  c->add_flag("-a,--attach", a->attach, "attach to the output and wait for the exit");
  c->add_flag("-i,--interactive", a->interactive, "attach stdin");
  c->add_option("--detach-keys", a->detach_keys,
                "keys that detach from an -ai -t container, leaving it running (ctrl-p,ctrl-q)");
  return [a, &g]() -> int {
    auto keys = engine::parse_detach_keys(a->detach_keys);
    if (!keys) return verb_failure(keys.error());
    // docker refuses rather than start them all unattached.
    if ((a->attach || a->interactive) && a->refs.size() > 1)
      return verb_failure(Error{0, "you cannot start and attach multiple containers at once"});
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    if (auto r = seal_for_pid_joins(*e, g, a->refs); !r) return verb_failure(r.error());
    int rc = 0;
    for (const auto& ref : a->refs) {
      bool attach = a->attach;
      RawTerminal raw;
      if (attach) {
        auto ct = e->find(ref);
        if (ct && ct->config.tty && a->interactive) raw.enable(STDIN_FILENO);
      }
      auto r = e->start(ref, {.attach = attach, .detach_keys = *keys});
      if (!r) {
        // Attached, the launch's status (127: not found...); else docker's 1.
        log::error("{}", r.error().error.message);
        rc = attach ? r.error().exit_code : 1;
        continue;
      }
      if (attach) return r->detached ? 0 : r->exit_code.value_or(engine::kExitEngine);
      fmt::print("{}\n", ref);
    }
    return rc;
  };
});

}  // namespace hull::cli

// The monitor's hand-overs (engine/monitor.hpp): hull-monitor execs these in the
// monitor's own process. Hidden: not for people.
namespace hull::cli {
namespace {

CLI::App* add_handover(CLI::App& app, const char* name, engine::MonitorHandover& h) {
  auto* c = app.add_subcommand(name, "");
  c->group("");  // hidden from --help
  c->add_option("--id", h.id)->required();
  c->add_option("--status", h.status);
  c->add_option("--backoff", h.backoff_ms);
  c->add_option("--report", h.report_fd);
  c->add_flag("--stop", h.stop);
  c->add_flag("--removed", h.removed);
  return c;
}

}  // namespace

HULL_ENGINE_VERB(__exited, [](CLI::App& app, EngineGlobals& g) {
  auto h = std::make_shared<engine::MonitorHandover>();
  add_handover(app, "__exited", *h);
  return [h, &g]() -> int {
    h->root = g.root;
    h->run_root = g.run_root;
    return engine::monitor_exited(*h);
  };
});

HULL_ENGINE_VERB(__relaunch, [](CLI::App& app, EngineGlobals& g) {
  auto h = std::make_shared<engine::MonitorHandover>();
  add_handover(app, "__relaunch", *h);
  return [h, &g]() -> int {
    h->root = g.root;
    h->run_root = g.run_root;
    return engine::monitor_relaunch(*h);
  };
});

}  // namespace hull::cli

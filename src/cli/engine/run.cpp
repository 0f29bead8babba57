// hull run [flags] IMAGE [COMMAND [ARG...]]: create + start, attached unless -d.
#include <unistd.h>

#include "cli/engine/run_flags.hpp"
#include "cli/engine/terminal.hpp"
#include "engine/monitor.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(run, [](CLI::App& app, EngineGlobals& g) {
  auto o = std::make_shared<engine::RunOptions>();
  auto keys_spec = std::make_shared<std::string>();
  auto* c = app.add_subcommand("run", "create and start a container");
  add_run_flags(c, *o);
  c->add_option("--detach-keys", *keys_spec,
                "keys that detach from an -it container, leaving it running (ctrl-p,ctrl-q)");
  return [c, o, keys_spec, &g]() -> int {
    // prefix_command also stops at an unknown flag: that is an error, not the image.
    if (auto rest = c->remaining();
        !rest.empty() && rest.front().size() > 1 && rest.front()[0] == '-' && rest.front() != "--")
      return engine_report(Error{0, fmt::format("unknown flag: {}", rest.front())});
    finish_run_flags(c, *o);
    // A flag docker's CLI refuses before anything is created: 125.
    auto keys = engine::parse_detach_keys(*keys_spec);
    if (!keys) return engine_report(keys.error());
    // CVE-2019-5736: the init will run in another container's pid namespace before it
    // execs; from a sealed copy of hull, made before anything (docs/security.md).
    if (engine::joins_container(o->pid_mode))
      if (auto r = reexec_sealed(g); !r) return engine_report(r.error());
    auto e = open_engine(g);
    if (!e) return engine_report(e.error());
    const engine::StartOptions start{.attach = !o->detach, .detach_keys = std::move(*keys)};
    auto created = e->create(*o, &start);
    if (!created) return engine_report(created.error());
    const std::string id = created->config.id;
    std::optional<engine::StartResult> started;
    {
      RawTerminal raw;
      if (o->tty && o->interactive && !o->detach) raw.enable(STDIN_FILENO);
      auto r = e->start(id, start);
      if (!r) {
        // As docker: a container that failed to start stays, Created, with the error and
        // the status in its record (`start` may try again), unless --rm.
        if (o->rm) (void)e->remove(id, true, true);
        log::error("{}", r.error().error.message);
        return r.error().exit_code;
      }
      started = *r;
    }
    if (o->detach) {
      fmt::print("{}\n", id);
      return 0;
    }
    if (started->detached) return 0;
    return started->exit_code.value_or(engine::kExitEngine);
  };
});

}  // namespace hull::cli

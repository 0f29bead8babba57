// hull create [flags] IMAGE [COMMAND [ARG...]]: the record and its files, not started.
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(create, [](CLI::App& app, EngineGlobals& g) {
  auto o = std::make_shared<engine::RunOptions>();
  auto* c = app.add_subcommand("create", "create a container without starting it");
  add_run_flags(c, *o);
  return [c, o, &g]() -> int {
    // prefix_command also stops at an unknown flag: that is an error, not the image.
    if (auto rest = c->remaining();
        !rest.empty() && rest.front().size() > 1 && rest.front()[0] == '-' && rest.front() != "--")
      return engine_report(Error{0, fmt::format("unknown flag: {}", rest.front())});
    finish_run_flags(c, *o);
    auto e = open_engine(g);
    if (!e) return engine_report(e.error());
    auto created = e->create(*o);
    if (!created) return engine_report(created.error());
    fmt::print("{}\n", created->config.id);
    return 0;
  };
});

}  // namespace hull::cli

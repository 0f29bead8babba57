// hull-runtime resume ID: thaws a paused container.
#include "cli/runtime/verb.hpp"
#include "runtime/control.hpp"

namespace hull::cli {

HULL_VERB(resume, [](CLI::App& app, Globals& g) {
  auto id = std::make_shared<std::string>();
  app.add_subcommand("resume", "resume every process in a paused container")
      ->add_option("id", *id, "container id")
      ->required();
  return [id, &g] {
    auto r = runtime::resume(store_of(g), *id);
    return r ? 0 : report(r.error());
  };
});

}  // namespace hull::cli

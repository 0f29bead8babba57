// hull-runtime start ID: lets a created container's program run.
#include "cli/runtime/verb.hpp"
#include "runtime/container.hpp"

namespace hull::cli {

HULL_VERB(start, [](CLI::App& app, Globals& g) {
  auto id = std::make_shared<std::string>();
  app.add_subcommand("start", "start a created container")
      ->add_option("id", *id, "container id")
      ->required();
  return [id, &g] {
    auto r = runtime::start(store_of(g), *id);
    return r ? 0 : report(r.error());
  };
});

}  // namespace hull::cli

// hull-runtime pause ID: freezes every process of the container (v1 freezer, v2
// cgroup.freeze).
#include "cli/runtime/verb.hpp"
#include "runtime/control.hpp"

namespace hull::cli {

HULL_VERB(pause, [](CLI::App& app, Globals& g) {
  auto id = std::make_shared<std::string>();
  app.add_subcommand("pause", "suspend every process in a container")
      ->add_option("id", *id, "container id")
      ->required();
  return [id, &g] {
    auto r = runtime::pause(store_of(g), *id);
    return r ? 0 : report(r.error());
  };
});

}  // namespace hull::cli

// hull-runtime delete [--force] ID: removes a stopped (or, forced, a running) container.
#include "cli/runtime/verb.hpp"
#include "runtime/container.hpp"

namespace hull::cli {

HULL_VERB(delete, [](CLI::App& app, Globals& g) {
  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto* c = app.add_subcommand("delete", "delete a container");
  c->add_option("id", *id, "container id")->required();
  c->add_flag("-f,--force", *force, "kill the container first if it is running");
  return [id, force, &g] {
    auto r = runtime::destroy(store_of(g), *id, *force);
    return r ? 0 : report(r.error());
  };
});

}  // namespace hull::cli

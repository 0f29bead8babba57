// hull rename CONTAINER NEW_NAME
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(rename, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::string ref, name;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("rename", "rename a container");
  c->add_option("container", a->ref, "container name or id")->required();
  c->add_option("new_name", a->name, "new name")->required();
  return [a, &g]() -> int {
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    auto ct = e->find(a->ref);
    if (!ct) return verb_failure(ct.error());
    if (ct->config.name == a->name)
      return verb_failure(Error{0, "Renaming a container with the same name as its current name"});
    if (auto r = e->db().rename(ct->config.id, a->name); !r) return verb_failure(r.error());
    return 0;
  };
});

}  // namespace hull::cli

// hull rmi [-f] IMAGE...: untag and delete images; layers go when no image uses them.
#include <iostream>

#include "cli/engine/verb.hpp"
#include "image/store.hpp"

namespace hull::cli {

std::function<int()> rmi_verb(CLI::App& app, EngineGlobals& g, const char* name) {
  struct Opts {
    std::vector<std::string> images;
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(name, "remove one or more images");
  sub->add_option("images", o->images, "IMAGE...")->required();
  sub->add_flag("-f,--force", o->force, "remove even if tagged more than once or in use");
  return [o, &g] {
    auto store = image::Store::open(g.root);
    if (!store) return verb_failure(store.error());
    int rc = 0;
    for (auto& img : o->images) {
      auto lines = store->remove(img, o->force);
      // As docker: the other images are still removed; the status is 1.
      if (!lines) {
        rc = verb_failure(lines.error());
        continue;
      }
      for (auto& l : *lines) std::cout << l << "\n";
    }
    return rc;
  };
}

HULL_ENGINE_VERB(rmi, [](CLI::App& app, EngineGlobals& g) { return rmi_verb(app, g, "rmi"); });

}  // namespace hull::cli

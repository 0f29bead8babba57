// hull load [-i FILE]: images from a docker-archive or oci-archive tarball (stdin default).
#include <iostream>

#include "cli/engine/verb.hpp"
#include "image/import.hpp"

namespace hull::cli {

std::function<int()> load_verb(CLI::App& app, EngineGlobals& g) {
  struct Opts {
    std::string input = "-";
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("load", "load images from a tar archive");
  sub->add_option("-i,--input", o->input, "archive to read (default stdin)");
  sub->add_flag("-q,--quiet", o->quiet, "suppress output");
  return [o, &g] {
    auto store = image::Store::open(g.root);
    if (!store) return engine_report(store.error());
    auto lines = image::load_archive(*store, o->input);
    if (!lines) return engine_report(lines.error());
    if (!o->quiet)
      for (auto& l : *lines) std::cout << l << "\n";
    return 0;
  };
}

HULL_ENGINE_VERB(load, load_verb);

}  // namespace hull::cli

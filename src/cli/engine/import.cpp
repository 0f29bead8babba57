// hull import FILE|- NAME[:TAG]: a root filesystem tarball as a one-layer image.
#include <iostream>

#include "cli/engine/verb.hpp"
#include "image/import.hpp"

namespace hull::cli {

std::function<int()> import_verb(CLI::App& app, EngineGlobals& g) {
  struct Opts {
    std::string file, ref, message;
    std::vector<std::string> changes;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("import", "create an image from a root filesystem tarball");
  sub->add_option("file", o->file, "tarball (gzip, zstd or plain), or - for stdin")->required();
  sub->add_option("reference", o->ref, "NAME[:TAG] (none: an untagged image, as docker's)");
  sub->add_option("-m,--message", o->message, "comment of the image (default: Imported from FILE)");
  sub->add_option("-c,--change", o->changes,
                  "Dockerfile instruction for the config: CMD, ENTRYPOINT, ENV, WORKDIR, USER, "
                  "LABEL, EXPOSE, STOPSIGNAL")
      // One value per -c: with NAME optional, a multi-value -c would swallow FILE.
      ->allow_extra_args(false)
      ->type_size(1);
  return [o, &g] {
    auto store = image::Store::open(g.root);
    if (!store) return verb_failure(store.error());
    auto id = image::import_rootfs(*store, o->file, o->ref, o->changes, o->message);
    if (!id) return verb_failure(id.error());
    std::cout << *id << "\n";
    return 0;
  };
}

HULL_ENGINE_VERB(import, import_verb);

}  // namespace hull::cli

// hull save [-o FILE] [--format docker-archive|oci-archive] IMAGE...: images as a tarball.
#include <unistd.h>

#include <iostream>

#include "cli/engine/verb.hpp"
#include "image/import.hpp"

namespace hull::cli {

std::function<int()> save_verb(CLI::App& app, EngineGlobals& g) {
  struct Opts {
    std::string output = "-", format = "docker-archive";
    std::vector<std::string> images;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("save", "save images to a tar archive");
  sub->add_option("images", o->images, "IMAGE...")->required();
  sub->add_option("-o,--output", o->output, "file to write (default stdout)");
  sub->add_option("--format", o->format, "docker-archive (default) or oci-archive")
      ->check(CLI::IsMember({"docker-archive", "oci-archive"}));
  return [o, &g] {
    if (o->output == "-" && ::isatty(STDOUT_FILENO))
      return verb_failure(Error{0, "save: refusing to write an archive to a terminal; use -o"});
    auto store = image::Store::open(g.root);
    if (!store) return verb_failure(store.error());
    auto fmt =
        o->format == "oci-archive" ? image::ArchiveFormat::oci : image::ArchiveFormat::docker;
    if (auto st = image::save_archive(*store, o->images, o->output, fmt); !st)
      return verb_failure(st.error());
    return 0;
  };
}

HULL_ENGINE_VERB(save, save_verb);

}  // namespace hull::cli

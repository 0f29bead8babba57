// hull load [-i FILE]: images from a docker-archive or oci-archive tarball (stdin default).
#include <iostream>
#include <map>

#include "cli/engine/verb.hpp"
#include "image/import.hpp"
#include "image/reference.hpp"
#include "image/store.hpp"

namespace hull::cli {

std::function<int()> load_verb(CLI::App& app, EngineGlobals& g) {
  struct Opts {
    std::string input = "-";
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("load", "load images from a tar archive");
  sub->add_option("-i,--input", o->input, "archive to read (default stdin)");
  // docker's -q hides the progress only: the "Loaded image" lines are what scripts read.
  sub->add_flag("-q,--quiet", o->quiet, "no progress output (hull prints none)");
  return [o, &g] {
    auto store = image::Store::open(g.root);
    if (!store) return verb_failure(store.error());
    // Which image each tag named before, to say which one a loaded tag was taken from.
    std::map<std::string, std::string> before;
    if (auto list = store->list())
      for (auto& img : *list)
        for (auto& t : img.tags) before[t] = img.id;
    auto lines = image::load_archive(*store, o->input);
    if (!lines) return verb_failure(lines.error());
    constexpr std::string_view kLoaded = "Loaded image: ";
    for (auto& l : *lines) {
      auto ref =
          l.starts_with(kLoaded)
              ? image::parse_reference(std::string_view(l).substr(kLoaded.size()), "docker.io")
              : Result<image::Reference>(std::unexpected(Error{}));
      if (ref) {
        auto old = before.find(ref->str());
        auto now = store->resolve(ref->str());
        if (old != before.end() && now && old->second != *now)
          std::cout << fmt::format(
              "The image {}:{} already exists, renaming the old one with ID {} to empty string\n",
              ref->familiar_name(), ref->tag, old->second);
      }
      std::cout << l << "\n";
    }
    return 0;
  };
}

HULL_ENGINE_VERB(load, load_verb);

}  // namespace hull::cli

// hull inspect [-f TEMPLATE] [--type container|image] NAME...: docker's JSON, of a
// container or, when no container has the name (or with --type image), of an image.
#include "cli/engine/run_flags.hpp"
#include "engine/present.hpp"
#include "image/store.hpp"

namespace hull::cli {

int inspect_images(EngineGlobals& g, const std::vector<std::string>& names,
                   const std::string& format);

HULL_ENGINE_VERB(inspect, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    std::string format, type;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("inspect", "show containers' or images' configuration as JSON");
  c->add_option("name", a->refs, "container or image names or ids")->required();
  c->add_option("-f,--format", a->format, "template such as {{.State.Pid}}");
  c->add_option("--type", a->type, "container or image (default: a container, else an image)");
  return [a, &g]() -> int {
    if (a->type == "image") return inspect_images(g, a->refs, a->format);
    if (!a->type.empty() && a->type != "container")
      return engine_report(
          Error{0, fmt::format("--type {:?}: hull inspects a container or an image", a->type)});
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    std::optional<image::Store> store;
    std::vector<Json> found;
    int rc = 0;
    for (const auto& ref : a->refs) {
      Json j;
      if (auto ct = e->find(ref)) {
        j = engine::inspect_json(*e, *ct);
      } else {
        // docker looks for every kind of object with the name, a container first.
        Result<Json> img = std::unexpected(ct.error());
        if (a->type.empty()) {
          if (!store)
            if (auto s = image::Store::open(g.root)) store = std::move(*s);
          if (store)
            if (auto id = store->resolve(ref)) img = store->inspect(*id);
        }
        if (!img) {
          rc = verb_failure(ct.error());
          continue;
        }
        j = std::move(*img);
      }
      found.push_back(std::move(j));
    }
    auto out = engine::inspect_output(found, a->format);
    if (!out) return verb_failure(out.error());
    fmt::print("{}", *out);
    return rc == 0 ? 0 : 1;
  };
});

}  // namespace hull::cli

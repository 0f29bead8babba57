// hull inspect [-f TEMPLATE] [-s] [--type container|image] NAME...: docker's JSON, of a
// container or, when no container has the name (or with --type image), of an image. -s
// adds a container's SizeRw and SizeRootFs (ps -s's sizes, engine::container_size).
#include "cli/engine/run_flags.hpp"
#include "engine/present.hpp"
#include "engine/rootfs.hpp"
#include "image/store.hpp"

namespace hull::cli {

int inspect_images(EngineGlobals& g, const std::vector<std::string>& names,
                   const std::string& format);

HULL_ENGINE_VERB(inspect, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    std::string format, type;
    bool size = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("inspect", "show containers' or images' configuration as JSON");
  c->add_option("name", a->refs, "container or image names or ids")->required();
  c->add_option("-f,--format", a->format, "template such as {{.State.Pid}}");
  c->add_flag("-s,--size", a->size, "a container's SizeRw and SizeRootFs (docker's)");
  c->add_option("--type", a->type, "container or image (default: a container, else an image)");
  return [a, &g]() -> int {
    if (a->type == "image") return inspect_images(g, a->refs, a->format);
    if (!a->type.empty() && a->type != "container")
      return engine_report(
          Error{0, fmt::format("--type {:?}: hull inspects a container or an image", a->type)});
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    // The image store, opened once (one connection per process) when first needed.
    std::optional<image::Store> store;
    bool store_tried = false;
    auto open_store = [&]() -> image::Store* {
      if (!store_tried) {
        store_tried = true;
        if (auto s = image::Store::open(g.root)) store = std::move(*s);
      }
      return store ? &*store : nullptr;
    };
    std::optional<std::map<std::string, int64_t>> image_sizes;
    std::vector<Json> found;
    int rc = 0;
    for (const auto& ref : a->refs) {
      Json j;
      if (auto ct = e->find(ref)) {
        j = engine::inspect_json(*e, *ct);
        // docker's -s: the writable layer and the whole with the image; absent without.
        if (a->size) {
          if (!image_sizes)
            image_sizes =
                open_store() ? engine::image_sizes(*store) : std::map<std::string, int64_t>{};
          auto size =
              engine::container_size(ct->config, e->container_dir(ct->config.id), *image_sizes);
          j["SizeRw"] = size.rw;
          j["SizeRootFs"] = size.root_fs;
        }
      } else {
        // docker looks for every kind of object with the name, a container first.
        Result<Json> img = std::unexpected(ct.error());
        if (a->type.empty()) {
          open_store();
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

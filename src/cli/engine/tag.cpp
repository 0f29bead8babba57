// hull tag SOURCE TARGET: another name for an image.
#include "cli/engine/verb.hpp"
#include "image/reference.hpp"
#include "image/store.hpp"

namespace hull::cli {

std::function<int()> tag_verb(CLI::App& app, EngineGlobals& g) {
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  auto* sub = app.add_subcommand("tag", "create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
  sub->add_option("source", args->first, "SOURCE_IMAGE[:TAG]")->required();
  sub->add_option("target", args->second, "TARGET_IMAGE[:TAG]")->required();
  return [args, &g] {
    auto store = image::Store::open(g.root);
    if (!store) return verb_failure(store.error());
    auto id = store->resolve(args->first);
    if (!id) return verb_failure(id.error());
    auto ref = image::parse_reference(args->second);
    if (!ref) return verb_failure(ref.error());
    if (auto st = store->tag(*id, ref->str()); !st) return verb_failure(st.error());
    return 0;
  };
}

HULL_ENGINE_VERB(tag, tag_verb);

}  // namespace hull::cli

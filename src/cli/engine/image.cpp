// hull image ls|pull|rm|inspect|tag|prune|import|load|save: the image verbs grouped as
// docker groups them. Each reuses the top-level verb's flags.
#include <iostream>
#include <map>
#include <optional>

#include "cli/engine/verb.hpp"
#include "engine/filters.hpp"
#include "engine/logs.hpp"
#include "engine/present.hpp"
#include "engine/record.hpp"
#include "engine/template.hpp"
#include "image/format.hpp"
#include "image/store.hpp"

namespace hull::cli {

std::function<int()> images_verb(CLI::App& app, EngineGlobals& g, const char* name);
std::function<int()> rmi_verb(CLI::App& app, EngineGlobals& g, const char* name);
std::function<int()> pull_verb(CLI::App& app, EngineGlobals& g);
std::function<int()> tag_verb(CLI::App& app, EngineGlobals& g);
std::function<int()> import_verb(CLI::App& app, EngineGlobals& g);
std::function<int()> load_verb(CLI::App& app, EngineGlobals& g);
std::function<int()> save_verb(CLI::App& app, EngineGlobals& g);

// docker's `image inspect` (and `inspect --type image`): the JSON array, or each image
// through a --format template.
int inspect_images(EngineGlobals& g, const std::vector<std::string>& names,
                   const std::string& format) {
  auto store = image::Store::open(g.root);
  if (!store) return verb_failure(store.error());
  return print_inspect(names, format, [&](const std::string& n) -> Result<Json> {
    return store->inspect(HULL_TRY(store->resolve(n)));
  });
}

namespace {

std::function<int()> inspect_verb(CLI::App& app, EngineGlobals& g) {
  struct Opts {
    std::vector<std::string> names;
    std::string format;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("inspect", "display detailed information on images");
  sub->add_option("images", o->names, "IMAGE...")->required();
  sub->add_option("-f,--format", o->format, "template such as {{.Os}}/{{.Architecture}}");
  return [o, &g] { return inspect_images(g, o->names, o->format); };
}

// docker's image prune --filter: until=TIME (created before it: a duration ago, a date or
// a unix time), label=K[=V] and label!=K[=V]; every one given must hold.
Result<std::function<bool(const std::string&)>> prune_filter(
    const image::Store& store, const std::vector<std::string>& given) {
  static constexpr engine::FilterArgs::Key keys[] = {{"until", engine::FilterArgs::Kind::text},
                                                     {"label", engine::FilterArgs::Kind::label},
                                                     {"label!", engine::FilterArgs::Kind::label}};
  auto args = HULL_TRY(engine::FilterArgs::parse(given, keys, "image prune"));
  std::optional<int64_t> until;
  for (const auto& v : args.values("until")) {
    auto t = engine::parse_since(v, engine::now_ns());
    if (!t) return std::unexpected(t.error().wrap(fmt::format("filter 'until={}'", v)));
    until = *t / 1000000000;
  }
  if (given.empty()) return std::function<bool(const std::string&)>{};
  std::map<std::string, int64_t> created;
  for (auto& img : HULL_TRY(store.list())) created[img.id] = img.created;
  return std::function<bool(const std::string&)>(
      [&store, until, args = std::move(args), created](const std::string& id) {
        auto c = created.find(id);
        if (until && (c == created.end() || c->second >= *until)) return false;
        if (!args.has("label") && !args.has("label!")) return true;
        auto parsed = store.config(id);
        return parsed ? args.labels_hold(parsed->labels) : !args.has("label");
      });
}

std::function<int()> prune_verb(CLI::App& app, EngineGlobals& g) {
  struct Opts {
    bool all = false, force = false;
    std::vector<std::string> filters;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("prune", "remove unused images");
  sub->add_flag("-a,--all", o->all, "remove all images not used by a container");
  sub->add_flag("-f,--force", o->force, "do not prompt for confirmation (hull never prompts)");
  sub->add_option("--filter", o->filters, "until=TIME, label=K[=V], label!=K[=V]")
      ->allow_extra_args(false)
      ->type_size(1);
  return [o, &g] {
    if (auto r = engine::check_filter_syntax(o->filters); !r) return flag_error(r.error());
    auto store = image::Store::open(g.root);
    if (!store) return verb_failure(store.error());
    auto want = prune_filter(*store, o->filters);
    if (!want) return verb_failure(want.error());
    auto pruned = store->prune(o->all, *want);
    if (!pruned) return verb_failure(pruned.error());
    if (!pruned->lines.empty()) {
      std::cout << "Deleted Images:\n";
      for (auto& l : pruned->lines) std::cout << l << "\n";
      std::cout << "\n";
    }
    std::cout << "Total reclaimed space: " << image::human_size(double(pruned->reclaimed), 4)
              << "\n";
    return 0;
  };
}

}  // namespace

HULL_ENGINE_VERB(image, [](CLI::App& app, EngineGlobals& g) {
  auto* sub = app.add_subcommand("image", "manage images");
  sub->require_subcommand(1);
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  auto add = [&](std::function<int()> run) {
    runners.emplace_back(sub->get_subcommands({}).back(), std::move(run));
  };
  add(images_verb(*sub, g, "ls"));
  sub->get_subcommands({}).back()->alias("list");
  add(pull_verb(*sub, g));
  add(rmi_verb(*sub, g, "rm"));
  sub->get_subcommands({}).back()->alias("remove");
  add(inspect_verb(*sub, g));
  add(tag_verb(*sub, g));
  add(prune_verb(*sub, g));
  add(import_verb(*sub, g));
  add(load_verb(*sub, g));
  add(save_verb(*sub, g));
  return [runners = std::move(runners)] {
    for (auto& [s, run] : runners)
      if (s->parsed()) return run();
    return 125;
  };
});

}  // namespace hull::cli

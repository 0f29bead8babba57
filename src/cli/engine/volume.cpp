// hull volume create|ls|inspect|rm|prune: docker's volume verbs for its local driver. Flags
// only; the work is in engine/volume_admin.
#include <iostream>
#include <memory>

#include "cli/engine/run_flags.hpp"
#include "engine/filters.hpp"
#include "engine/present.hpp"
#include "engine/template.hpp"
#include "engine/volume_admin.hpp"
#include "image/format.hpp"

namespace hull::cli {
namespace {

// --label K=V (or K alone: an empty value), docker's.
Result<std::map<std::string, std::string>> parse_labels(const std::vector<std::string>& given) {
  std::map<std::string, std::string> out;
  for (const auto& l : given) {
    auto eq = l.find('=');
    std::string k = l.substr(0, eq);
    if (k.empty()) return failf("invalid label {:?}: empty name", l);
    out[k] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  return out;
}

// The filters of `volume ls` (dangling, driver, label, label!, name: a regular expression)
// and `volume prune` (label, label!, all=BOOL: named volumes too).
constexpr engine::FilterArgs::Key kLsFilterKeys[] = {
    {"dangling", engine::FilterArgs::Kind::boolean},
    {"driver", engine::FilterArgs::Kind::text},
    {"label", engine::FilterArgs::Kind::label},
    {"label!", engine::FilterArgs::Kind::label},
    {"name", engine::FilterArgs::Kind::regex}};
constexpr engine::FilterArgs::Key kPruneFilterKeys[] = {{"label", engine::FilterArgs::Kind::label},
                                                        {"label!", engine::FilterArgs::Kind::label},
                                                        {"all", engine::FilterArgs::Kind::boolean}};

bool volume_matches(const engine::FilterArgs& f, const engine::Volume& v) {
  auto dangling = f.boolean("dangling");
  return (!dangling || *dangling == v.users.empty()) &&
         f.any("driver", [](const std::string& d) { return d == "local"; }) &&
         f.labels_hold(v.labels) && f.search("name", {v.name});
}

Result<engine::Db> open_db(const EngineGlobals& g) {
  return engine::Db::open(g.root);
}

}  // namespace

HULL_ENGINE_VERB(volume, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::string name, driver = "local", format;
    std::vector<std::string> labels, opts, names, filters;
    bool quiet = false, force = false, all = false;
  };
  auto a = std::make_shared<Args>();
  auto* vol = app.add_subcommand("volume", "manage volumes");
  vol->require_subcommand(1);

  auto* create = vol->add_subcommand("create", "create a volume");
  create->add_option("NAME", a->name, "volume name (a random one if none)");
  create->add_option("-d,--driver", a->driver, "volume driver (local)");
  create->add_option("-l,--label", a->labels, "set metadata K=V")->allow_extra_args(false);
  create->add_option("-o,--opt", a->opts, "driver options")->allow_extra_args(false);

  auto* ls = vol->add_subcommand("ls", "list volumes");
  ls->alias("list");
  ls->add_flag("-q,--quiet", a->quiet, "only names");
  ls->add_option("-f,--filter", a->filters, "dangling=BOOL, driver=, label=K[=V], name=")
      ->allow_extra_args(false);
  ls->add_option("--format", a->format, "json, a template like {{.Name}}, or table TEMPLATE");

  auto* inspect = vol->add_subcommand("inspect", "display detailed information on volumes");
  inspect->add_option("VOLUME", a->names, "volume names")->required();
  inspect->add_option("-f,--format", a->format, "template such as {{.Mountpoint}}");

  auto* rm = vol->add_subcommand("rm", "remove volumes");
  rm->alias("remove");
  rm->add_option("VOLUME", a->names, "volume names")->required();
  rm->add_flag("-f,--force", a->force, "no error for a volume that does not exist");

  auto* prune = vol->add_subcommand("prune", "remove unused anonymous (-a: all unused) volumes");
  prune->add_flag("-a,--all", a->all, "all unused volumes, named ones too");
  prune->add_flag("-f,--force", a->force, "do not prompt (hull never prompts)");
  prune->add_option("--filter", a->filters, "label=K[=V], label!=K[=V], all=BOOL")
      ->allow_extra_args(false);

  return [=, &g]() -> int {
    // A --filter without '=' is the docker CLI's own usage error (125); the rest are 1.
    if (auto r = engine::check_filter_syntax(a->filters); !r) return flag_error(r.error());
    auto db = open_db(g);
    if (!db) return verb_failure(db.error());

    if (create->parsed()) {
      if (a->driver != "local")
        return verb_failure(Error{
            0, fmt::format("volume driver {:?} is not available: hull has local", a->driver)});
      if (!a->opts.empty())
        return verb_failure(
            Error{0, "-o/--opt: driver options are not supported: a hull volume is a directory"});
      auto labels = parse_labels(a->labels);
      if (!labels) return verb_failure(labels.error());
      std::string name = a->name.empty() ? engine::new_container_id() : a->name;
      if (auto r = engine::create_volume(*db, name, *labels, a->name.empty()); !r)
        return verb_failure(r.error());
      fmt::print("{}\n", name);
      return 0;
    }

    if (ls->parsed()) {
      auto f = engine::FilterArgs::parse(a->filters, kLsFilterKeys, "volume ls");
      if (!f) return verb_failure(f.error());
      auto vols = engine::list_volumes(*db);
      if (!vols) return verb_failure(vols.error());
      std::vector<Json> rows;
      for (const auto& v : *vols) {
        if (!volume_matches(*f, v)) continue;
        if (a->quiet) {
          fmt::print("{}\n", v.name);
          continue;
        }
        rows.push_back({{"Driver", "local"},
                        {"Labels", engine::labels_text(v.labels)},
                        {"Links", std::to_string(v.users.size())},
                        {"Mountpoint", g.root + "/volumes/" + v.name + "/_data"},
                        {"Name", v.name},
                        {"Scope", "local"},
                        {"Size", "N/A"}});
      }
      if (a->quiet) return 0;
      Json head = {{"Driver", "DRIVER"},    {"Labels", "LABELS"},
                   {"Links", "LINKS"},      {"Mountpoint", "MOUNTPOINT"},
                   {"Name", "VOLUME NAME"}, {"Scope", "SCOPE"},
                   {"Size", "SIZE"}};
      auto out = engine::format_rows(a->format, "{{.Driver}}\t{{.Name}}", rows, head);
      if (!out) return verb_failure(out.error());
      std::cout << *out;
      return 0;
    }

    if (inspect->parsed()) {
      return print_inspect(a->names, a->format, [&](const std::string& n) -> Result<Json> {
        auto v = engine::find_volume(*db, n);
        if (!v) return failf("no such volume: {}", n);
        return engine::volume_json(*v, g.root);
      });
    }

    if (rm->parsed()) {
      int rc = 0;
      for (const auto& n : a->names) {
        auto v = engine::find_volume(*db, n);
        if (!v) {
          if (a->force) continue;
          log::error("{}", v.error().message);
          rc = 1;
          continue;
        }
        if (auto r = engine::remove_volume(*db, *v); !r) {
          log::error("{}", r.error().message);
          rc = 1;
          continue;
        }
        fmt::print("{}\n", n);
      }
      return rc;
    }

    if (prune->parsed()) {
      auto f = engine::FilterArgs::parse(a->filters, kPruneFilterKeys, "volume prune");
      if (!f) return verb_failure(f.error());
      auto vols = engine::list_volumes(*db);
      if (!vols) return verb_failure(vols.error());
      auto pruned =
          engine::prune_volumes(*db, a->all || f->boolean("all").value_or(false),
                                [&](const engine::Volume& v) { return f->labels_hold(v.labels); });
      if (!pruned) return verb_failure(pruned.error());
      const auto& removed = pruned->removed;
      const uint64_t reclaimed = pruned->reclaimed;
      if (!removed.empty()) {
        fmt::print("Deleted Volumes:\n");
        for (const auto& n : removed) fmt::print("{}\n", n);
        fmt::print("\n");
      }
      fmt::print("Total reclaimed space: {}\n", image::human_size(double(reclaimed), 4));
      return 0;
    }
    return 125;
  };
});

}  // namespace hull::cli

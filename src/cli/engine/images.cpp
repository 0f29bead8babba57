// hull images [--filter K=V] [--format json|TEMPLATE] [REPOSITORY[:TAG]]: the table docker
// prints, or ids (-q), or one line per image from a template.
#include <fnmatch.h>

#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "cli/engine/verb.hpp"
#include "common/strings.hpp"
#include "engine/filters.hpp"
#include "engine/present.hpp"
#include "engine/template.hpp"
#include "image/format.hpp"
#include "image/reference.hpp"
#include "image/store.hpp"

namespace hull::cli {
namespace {

struct Row {
  std::string repo, tag, digest, id, created_since, created_at, size;
};

// docker's default tables: `docker images` and `docker images --digests`.
constexpr std::string_view kDefaultTable =
    "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
constexpr std::string_view kDigestsTable =
    "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

// docker's image filters. before and since name an image: its creation time is the bound.
constexpr engine::FilterArgs::Key kFilterKeys[] = {{"dangling", engine::FilterArgs::Kind::boolean},
                                                   {"reference", engine::FilterArgs::Kind::text},
                                                   {"label", engine::FilterArgs::Kind::label},
                                                   {"before", engine::FilterArgs::Kind::text},
                                                   {"since", engine::FilterArgs::Kind::text}};

struct Filters {
  engine::FilterArgs args;
  std::vector<std::string> reference;
  std::optional<int64_t> before, since;  // the named image's creation time
};

Result<Filters> parse_filters(const std::vector<std::string>& given, const image::Store& store) {
  Filters f{HULL_TRY(engine::FilterArgs::parse(given, kFilterKeys, "images")), {}, {}, {}};
  f.reference = f.args.values("reference");
  for (const auto* k : {"before", "since"}) {
    for (const auto& v : f.args.values(k)) {
      auto id = store.resolve(v);
      if (!id) return failf("filter '{}={}': {}", k, v, id.error().message);
      int64_t created = 0;
      for (auto& img : HULL_TRY(store.list()))
        if (img.id == *id) created = img.created;
      (k == std::string_view("before") ? f.before : f.since) = created;
    }
  }
  return f;
}

// docker's reference.FamiliarMatch: Go's path.Match (a '*' stays within one '/'
// component) on "name:tag" as shown, then on the name alone. A pattern that is a plain
// reference also matches its full form ("docker.io/library/busybox").
bool reference_matches(const std::string& pattern, const image::Reference& r) {
  std::string shown = r.familiar_name() + (r.digest.empty() ? ":" + r.tag : "@" + r.digest);
  for (const std::string& s : {shown, r.familiar_name()})
    if (::fnmatch(pattern.c_str(), s.c_str(), FNM_PATHNAME) == 0) return true;
  if (pattern.find_first_of("*?[\\") != std::string::npos) return false;
  auto want = image::parse_reference(pattern);
  if (!want || want->name() != r.name()) return false;
  std::string_view p = pattern;
  bool has_tag = p.find(':', p.rfind('/') == std::string_view::npos ? 0 : p.rfind('/')) !=
                 std::string_view::npos;
  if (!want->digest.empty()) return want->digest == r.digest;
  return !has_tag || want->tag == r.tag;
}

}  // namespace

std::function<int()> images_verb(CLI::App& app, EngineGlobals& g, const char* name) {
  struct Opts {
    std::string repository, format;
    std::vector<std::string> filters;
    bool quiet = false, digests = false, all = false, no_trunc = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(name, "list images");
  sub->add_option("repository", o->repository, "REPOSITORY[:TAG]");
  sub->add_flag("-q,--quiet", o->quiet, "only show image ids");
  sub->add_flag("--digests", o->digests, "show digests");
  sub->add_flag("-a,--all", o->all, "show all images");
  sub->add_flag("--no-trunc", o->no_trunc, "do not truncate ids");
  sub->add_option("-f,--filter", o->filters,
                  "dangling=true|false, reference=PATTERN, label=K[=V], before=IMAGE, "
                  "since=IMAGE")
      ->allow_extra_args(false)
      ->type_size(1);
  sub->add_option("--format", o->format,
                  "json, a template like {{.Repository}}, or table TEMPLATE");
  return [o, &g] {
    // docker's CLI: 125 for a malformed --filter, 1 for what its daemon refuses.
    if (auto r = engine::check_filter_syntax(o->filters); !r) return flag_error(r.error());
    auto store = image::Store::open(g.root);
    if (!store) return verb_failure(store.error());
    auto list = store->list();
    if (!list) return verb_failure(list.error());
    auto filters = parse_filters(o->filters, *store);
    if (!filters) return verb_failure(filters.error());
    // docker passes the positional argument on as a reference filter.
    if (!o->repository.empty()) filters->reference.push_back(o->repository);
    auto ref_ok = [&](const image::Reference& r) {
      if (filters->reference.empty()) return true;
      for (const auto& p : filters->reference)
        if (reference_matches(p, r)) return true;
      return false;
    };
    int64_t now = ::time(nullptr);
    std::vector<Row> rows;
    for (auto& img : *list) {
      auto dangling = filters->args.boolean("dangling");
      if (dangling && *dangling != img.tags.empty()) continue;
      if (filters->before && img.created >= *filters->before) continue;
      if (filters->since && img.created <= *filters->since) continue;
      if (filters->args.has("label")) {
        auto cfg = store->config(img.id);
        if (!cfg || !filters->args.labels_hold(cfg->labels)) continue;
      }
      std::string id = o->no_trunc ? img.id : image::short_id(img.id);
      std::string since = image::human_duration(now - img.created) + " ago";
      if (img.created <= 0) since = "N/A";
      std::time_t t = img.created;
      std::tm tm{};
      ::localtime_r(&t, &tm);
      char at[64];
      std::strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
      std::string size = image::human_size(double(img.size));
      // docker's rows (the CLI's imageFormatTaggedAndDigest): one per tag, and with
      // --digests one per digest of the tag's repository; then one per repository the
      // image has only a digest in; an image without names is one <none> row. A reference
      // filter keeps the names it matches, as the daemon does: an image with none is not
      // shown.
      std::vector<image::Reference> tagged, digested;
      for (auto& t : img.tags)
        if (auto r = image::parse_reference(t); r && ref_ok(*r)) tagged.push_back(*r);
      for (auto& d : img.repo_digests)
        if (auto r = image::parse_reference(d); r && ref_ok(*r)) digested.push_back(*r);
      if (tagged.empty() && digested.empty()) {
        if (filters->reference.empty())
          rows.push_back({"<none>", "<none>", "<none>", id, since, at, size});
        continue;
      }
      std::set<std::string> tagged_repos, digest_only;
      for (auto& r : tagged) {
        std::string repo = r.familiar_name();
        tagged_repos.insert(repo);
        std::vector<std::string> digests;
        for (auto& d : digested)
          if (d.familiar_name() == repo) digests.push_back(d.digest);
        if (digests.empty()) digests.push_back("<none>");
        // Without --digests a tag is one row (its repository's first digest in JSON).
        if (!o->digests) digests.resize(1);
        for (auto& dg : digests) rows.push_back({repo, r.tag, dg, id, since, at, size});
      }
      for (auto& d : digested) {
        std::string repo = d.familiar_name();
        if (tagged_repos.contains(repo)) continue;
        if (o->digests || digest_only.insert(repo).second)
          rows.push_back({repo, "<none>", d.digest, id, since, at, size});
      }
    }
    if (o->quiet) {
      std::set<std::string> seen;
      for (auto& r : rows)
        if (seen.insert(r.id).second) std::cout << r.id << "\n";
      return 0;
    }
    auto row_json = [](const Row& r) {
      return Json{{"Containers", "N/A"},
                  {"CreatedAt", r.created_at},
                  {"CreatedSince", r.created_since},
                  {"Digest", r.digest},
                  {"ID", r.id},
                  {"Repository", r.repo},
                  {"SharedSize", "N/A"},
                  {"Size", r.size},
                  {"Tag", r.tag},
                  {"UniqueSize", "N/A"},
                  {"VirtualSize", r.size}};
    };
    std::vector<Json> json_rows;
    for (auto& r : rows) json_rows.push_back(row_json(r));
    Json head = {{"Containers", "CONTAINERS"},
                 {"CreatedAt", "CREATED AT"},
                 {"CreatedSince", "CREATED"},
                 {"Digest", "DIGEST"},
                 {"ID", "IMAGE ID"},
                 {"Repository", "REPOSITORY"},
                 {"SharedSize", "SHARED SIZE"},
                 {"Size", "SIZE"},
                 {"Tag", "TAG"},
                 {"UniqueSize", "UNIQUE SIZE"},
                 {"VirtualSize", "VIRTUAL SIZE"}};
    auto out =
        engine::format_rows(o->format, o->digests ? kDigestsTable : kDefaultTable, json_rows, head);
    if (!out) return verb_failure(out.error());
    std::cout << *out;
    return 0;
  };
}

HULL_ENGINE_VERB(images,
                 [](CLI::App& app, EngineGlobals& g) { return images_verb(app, g, "images"); });

}  // namespace hull::cli

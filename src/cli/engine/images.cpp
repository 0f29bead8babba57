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

std::string pad(const std::string& s, size_t w) {
  return s.size() >= w ? s + "   " : s + std::string(w - s.size() + 3, ' ');
}

// docker's image filters: the values of one key are alternatives (label's must all hold),
// and every key given must hold.
struct Filters {
  std::vector<std::string> reference, label;
  std::optional<bool> dangling;
  std::optional<int64_t> before, since;  // the named image's creation time
};

Result<Filters> parse_filters(const std::vector<std::string>& given, const image::Store& store) {
  Filters f;
  for (const auto& filter : given) {
    auto eq = filter.find('=');
    if (eq == std::string::npos)
      return failf("bad format of filter {:?} (expected name=value)", filter);
    std::string k = filter.substr(0, eq), v = filter.substr(eq + 1);
    if (k == "dangling") {
      if (v == "true" || v == "1") {
        f.dangling = true;
      } else if (v == "false" || v == "0") {
        f.dangling = false;
      } else {
        return failf("invalid filter 'dangling={}': want true or false", v);
      }
    } else if (k == "reference") {
      f.reference.push_back(v);
    } else if (k == "label") {
      f.label.push_back(v);
    } else if (k == "before" || k == "since") {
      auto id = store.resolve(v);
      if (!id) return failf("filter {:?}: {}", filter, id.error().message);
      int64_t created = 0;
      auto list = store.list();
      if (!list) return std::unexpected(list.error());
      for (auto& img : *list)
        if (img.id == *id) created = img.created;
      (k == "before" ? f.before : f.since) = created;
    } else {
      return failf(
          "invalid filter {:?}: images filters are dangling, reference, label, before and since",
          k);
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

bool labels_match(const std::vector<std::string>& wanted,
                  const std::map<std::string, std::string>& labels) {
  for (const auto& w : wanted) {
    auto eq = w.find('=');
    auto it = labels.find(w.substr(0, eq));
    if (it == labels.end()) return false;
    if (eq != std::string::npos && it->second != w.substr(eq + 1)) return false;
  }
  return true;
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
    auto store = image::Store::open(g.root);
    if (!store) return engine_report(store.error());
    auto list = store->list();
    if (!list) return engine_report(list.error());
    auto filters = parse_filters(o->filters, *store);
    if (!filters) return engine_report(filters.error());
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
      if (filters->dangling && *filters->dangling != img.tags.empty()) continue;
      if (filters->before && img.created >= *filters->before) continue;
      if (filters->since && img.created <= *filters->since) continue;
      if (!filters->label.empty()) {
        auto cfg = store->config(img.id);
        if (!cfg || !labels_match(filters->label, cfg->labels)) continue;
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
    if (o->format == "json") {
      for (auto& r : rows) std::cout << row_json(r).dump() << "\n";
      return 0;
    }
    if (!o->format.empty() && o->format != "table") {
      // docker's formatter: "table" adds a header row and aligns the columns; "\t" and
      // "\n" as typed in a shell are a tab and a new line.
      std::string format = o->format;
      bool table = format.starts_with("table");
      if (table) format = std::string(trim(std::string_view(format).substr(5)));
      for (auto [from, to] : {std::pair{"\\t", "\t"}, {"\\n", "\n"}})
        for (size_t at = 0; (at = format.find(from, at)) != std::string::npos; at += 1)
          format.replace(at, 2, to);
      std::string body;
      for (auto& r : rows) {
        auto line = engine::format_template(row_json(r), format);
        if (!line) return engine_report(line.error());
        body += *line + "\n";
      }
      if (!table) {
        std::cout << body;
        return 0;
      }
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
      auto header = engine::format_template(head, format);
      if (!header) return engine_report(header.error());
      std::cout << engine::tabulate(*header + "\n" + body);
      return 0;
    }
    size_t wr = 10, wt = 3, wd = 6, wi = 8, wc = 7;
    for (auto& r : rows) {
      wr = std::max(wr, r.repo.size());
      wt = std::max(wt, r.tag.size());
      wd = std::max(wd, r.digest.size());
      wi = std::max(wi, r.id.size());
      wc = std::max(wc, r.created_since.size());
    }
    std::string out = pad("REPOSITORY", wr) + pad("TAG", wt);
    if (o->digests) out += pad("DIGEST", wd);
    out += pad("IMAGE ID", wi) + pad("CREATED", wc) + "SIZE\n";
    for (auto& r : rows) {
      out += pad(r.repo, wr) + pad(r.tag, wt);
      if (o->digests) out += pad(r.digest, wd);
      out += pad(r.id, wi) + pad(r.created_since, wc) + r.size + "\n";
    }
    std::cout << out;
    return 0;
  };
}

HULL_ENGINE_VERB(images,
                 [](CLI::App& app, EngineGlobals& g) { return images_verb(app, g, "images"); });

}  // namespace hull::cli

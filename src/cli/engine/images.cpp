// hull images [REPOSITORY[:TAG]]: the table docker prints, or ids (-q), or JSON lines.
#include <ctime>
#include <iostream>
#include <set>

#include "cli/engine/verb.hpp"
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

}  // namespace

std::function<int()> images_verb(CLI::App& app, EngineGlobals& g, const char* name) {
  struct Opts {
    std::string filter, format;
    bool quiet = false, digests = false, all = false, no_trunc = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(name, "list images");
  sub->add_option("repository", o->filter, "REPOSITORY[:TAG]");
  sub->add_flag("-q,--quiet", o->quiet, "only show image ids");
  sub->add_flag("--digests", o->digests, "show digests");
  sub->add_flag("-a,--all", o->all, "show all images");
  sub->add_flag("--no-trunc", o->no_trunc, "do not truncate ids");
  sub->add_option("--format", o->format, "\"json\" for one JSON object per image");
  return [o, &g] {
    auto store = image::Store::open(g.root);
    if (!store) return engine_report(store.error());
    auto list = store->list();
    if (!list) return engine_report(list.error());
    std::string want_repo, want_tag;
    if (!o->filter.empty()) {
      auto ref = image::parse_reference(o->filter);
      if (!ref) return engine_report(ref.error());
      want_repo = ref->name();
      if (o->filter.find(':',
                         o->filter.rfind('/') == std::string::npos ? 0 : o->filter.rfind('/')) !=
          std::string::npos)
        want_tag = ref->tag;
    }
    int64_t now = ::time(nullptr);
    std::vector<Row> rows;
    for (auto& img : *list) {
      std::string id = o->no_trunc ? img.id : image::short_id(img.id);
      std::string since = image::human_duration(now - img.created) + " ago";
      if (img.created <= 0) since = "N/A";
      std::time_t t = img.created;
      std::tm tm{};
      ::localtime_r(&t, &tm);
      char at[64];
      std::strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
      std::string size = image::human_size(double(img.size));
      auto digest_for = [&](const std::string& repo_name) {
        for (auto& d : img.repo_digests)
          if (d.starts_with(repo_name + "@")) return d.substr(repo_name.size() + 1);
        return std::string("<none>");
      };
      if (img.tags.empty()) {
        if (!want_repo.empty()) continue;
        std::string digest = "<none>";
        std::string repo = "<none>";
        if (!img.repo_digests.empty()) {
          auto& d = img.repo_digests.front();
          digest = d.substr(d.find('@') + 1);
          if (auto r = image::parse_reference(d)) repo = r->familiar_name();
        }
        rows.push_back({repo, "<none>", digest, id, since, at, size});
        continue;
      }
      for (auto& t : img.tags) {
        auto r = image::parse_reference(t);
        if (!r) continue;
        if (!want_repo.empty() &&
            (r->name() != want_repo || (!want_tag.empty() && r->tag != want_tag)))
          continue;
        rows.push_back({r->familiar_name(), r->tag, digest_for(r->name()), id, since, at, size});
      }
    }
    if (o->quiet) {
      std::set<std::string> seen;
      for (auto& r : rows)
        if (seen.insert(r.id).second) std::cout << r.id << "\n";
      return 0;
    }
    if (o->format == "json" || o->format == "{{json .}}") {
      for (auto& r : rows) {
        Json j = {{"Containers", "N/A"},
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
        std::cout << j.dump() << "\n";
      }
      return 0;
    }
    if (!o->format.empty()) return engine_report(Error{0, "--format: only \"json\" is supported"});
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

// hull ps [-a] [-n N] [-l] [-q] [--no-trunc] [--filter K=V] [--format json|TEMPLATE]
#include <regex>

#include "cli/engine/run_flags.hpp"
#include "common/strings.hpp"
#include "engine/present.hpp"

namespace hull::cli {
namespace {

// docker's --filter: the values of one key are alternatives (label's must all hold), and
// every key given must hold. name and id are regular expressions, searched in the name
// with and without docker's leading '/' and in the full id.
struct Filters {
  std::vector<std::regex> name, id;
  std::vector<std::string> status, ancestor, label;
  std::vector<int> exited;
};

Result<Filters> parse_filters(const std::vector<std::string>& given) {
  Filters f;
  for (const auto& filter : given) {
    auto [k, v] = HULL_TRY(engine::split_filter(filter));
    if (k == "name" || k == "id") {
      try {
        (k == "name" ? f.name : f.id).emplace_back(v, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return failf("invalid filter \"{}\": not a regular expression: {}", filter, e.what());
      }
    } else if (k == "status") {
      if (!engine::status_from_name(v))
        return failf(
            "invalid filter \"{}\": use created, restarting, running, paused, exited or dead",
            filter);
      f.status.push_back(v);
    } else if (k == "exited") {
      auto code = parse_int<int>(v);
      if (!code) return failf("invalid filter \"{}\": an exit code is a number", filter);
      f.exited.push_back(*code);
    } else if (k == "ancestor") {
      f.ancestor.push_back(v);
    } else if (k == "label") {
      f.label.push_back(v);
    } else {
      return failf("invalid filter \"{}\"", k);
    }
  }
  return f;
}

bool matches(const engine::Container& c, const Filters& f) {
  auto any = [](const auto& values, auto&& match) {
    return values.empty() || std::any_of(values.begin(), values.end(), match);
  };
  const auto& cfg = c.config;
  return any(f.name,
             [&](const std::regex& re) {
               return std::regex_search(cfg.name, re) || std::regex_search("/" + cfg.name, re);
             }) &&
         any(f.id, [&](const std::regex& re) { return std::regex_search(cfg.id, re); }) &&
         any(f.status,
             [&](const std::string& v) { return engine::status_name(c.state.status) == v; }) &&
         any(f.ancestor, [&](const std::string& v) { return cfg.image == v; }) &&
         any(f.exited,
             [&](int code) {
               return c.state.status == engine::ContainerStatus::exited &&
                      c.state.exit_code == code;
             }) &&
         std::all_of(f.label.begin(), f.label.end(),
                     [&](const std::string& v) { return engine::label_matches(v, cfg.labels); });
}

// docker's default: `docker ps` is this table.
constexpr std::string_view kDefaultTable =
    "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

// A row as docker's container context shows it to --format (`{{json .}}` for json).
Json row_json(const engine::Container& ct, bool no_trunc, int64_t now) {
  const auto& cfg = ct.config;
  std::string cmd = engine::command_text(cfg);
  if (!no_trunc && cmd.size() > 22) cmd = cmd.substr(0, 19) + "…\"";
  // Labels and Mounts as docker joins them; CreatedAt as Go's time.String().
  std::string labels, mounts;
  for (const auto& [k, v] : cfg.labels)
    labels += fmt::format("{}{}={}", labels.empty() ? "" : ",", k, v);
  int volumes = 0;
  for (const auto& m : cfg.mounts) {
    if (m.type == "tmpfs") continue;
    std::string name = m.type == "volume" ? m.name : m.source;
    if (!no_trunc && name.size() > 15) name = name.substr(0, 14) + "…";
    mounts += (mounts.empty() ? "" : ",") + name;
    volumes += m.type == "volume";
  }
  std::string created = engine::rfc3339(cfg.created);
  created = created.substr(0, 10) + " " + created.substr(11, 8) + " +0000 UTC";
  return {{"ID", no_trunc ? cfg.id : cfg.id.substr(0, 12)},
          {"Image", cfg.image},
          {"Command", cmd},
          {"CreatedAt", created},
          {"RunningFor", engine::human_duration(now - cfg.created) + " ago"},
          {"Status", engine::status_text(ct, now)},
          {"Ports", engine::ports_text(ct)},
          {"Names", cfg.name},
          {"State", engine::status_name(ct.state.status)},
          {"Labels", labels},
          {"Mounts", mounts},
          {"LocalVolumes", std::to_string(volumes)},
          {"Networks", cfg.network}};
}

}  // namespace

HULL_ENGINE_VERB(ps, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    bool all = false, quiet = false, no_trunc = false, latest = false;
    int last = -1;
    std::vector<std::string> filters;
    std::string format;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("ps", "list containers");
  c->add_flag("-a,--all", a->all, "show stopped containers too");
  c->add_option("-n,--last", a->last, "show the n last created containers (all states)");
  c->add_flag("-l,--latest", a->latest, "show the last created container (all states)");
  c->add_flag("-q,--quiet", a->quiet, "only ids");
  c->add_flag("--no-trunc", a->no_trunc, "full ids and commands");
  add_multi(c, "-f,--filter", a->filters, "name=, id=, status=, label=, ancestor=, exited=");
  c->add_option("--format", a->format, "json, a template like {{.Names}}, or table TEMPLATE");
  return [a, &g]() -> int {
    auto filters = parse_filters(a->filters);
    if (!filters) return engine_report(filters.error());
    // -n N and -l (-n 1): the N last created, whatever their state (docker).
    int last = a->latest ? 1 : a->last;
    auto e = open_engine(g);
    if (!e) return engine_report(e.error());
    auto all = e->list();
    if (!all) return engine_report(all.error());
    int64_t now = engine::now_ns();
    std::vector<Json> rows;
    Json label_keys = Json::object();
    int shown = 0;
    for (const auto& ct : *all) {
      bool live = ct.state.status == engine::ContainerStatus::running ||
                  ct.state.status == engine::ContainerStatus::paused ||
                  ct.state.status == engine::ContainerStatus::restarting;
      // A status filter shows stopped containers without -a (docker).
      if (!a->all && last < 0 && filters->status.empty() && !live) continue;
      if (!matches(ct, *filters)) continue;
      if (last > 0 && shown >= last) break;
      ++shown;
      Json row = row_json(ct, a->no_trunc, now);
      if (a->quiet) {
        fmt::print("{}\n", row["ID"].get<std::string>());
        continue;
      }
      if (a->format == "json") {
        fmt::print("{}\n", row.dump());
        continue;
      }
      // docker's {{.Label "key"}}: one label's value.
      row["Label"] = ct.config.labels;
      for (const auto& [k, v] : ct.config.labels) label_keys[k] = "LABEL";
      rows.push_back(std::move(row));
    }
    if (a->quiet || a->format == "json") return 0;
    Json head = {
        {"ID", "CONTAINER ID"},      {"Image", "IMAGE"},        {"Command", "COMMAND"},
        {"CreatedAt", "CREATED AT"}, {"RunningFor", "CREATED"}, {"Status", "STATUS"},
        {"Ports", "PORTS"},          {"Names", "NAMES"},        {"State", "STATE"},
        {"Labels", "LABELS"},        {"Mounts", "MOUNTS"},      {"LocalVolumes", "LOCAL VOLUMES"},
        {"Networks", "NETWORKS"},    {"Label", label_keys}};
    auto out = engine::format_rows(a->format, kDefaultTable, rows, head);
    if (!out) return engine_report(out.error());
    fmt::print("{}", *out);
    return 0;
  };
});

}  // namespace hull::cli

// hull ps [-a] [-q] [--no-trunc] [--filter K=V] [--format json|TEMPLATE]
#include "cli/engine/run_flags.hpp"
#include "common/strings.hpp"
#include "engine/present.hpp"

namespace hull::cli {
namespace {

bool matches(const engine::Container& c, const std::string& filter) {
  auto eq = filter.find('=');
  std::string k = filter.substr(0, eq), v = eq == std::string::npos ? "" : filter.substr(eq + 1);
  if (k == "name") return c.config.name.find(v) != std::string::npos;
  if (k == "id") return c.config.id.starts_with(v);
  if (k == "status") return engine::status_name(c.state.status) == v;
  if (k == "ancestor") return c.config.image == v;
  if (k == "label") {
    auto eq2 = v.find('=');
    auto it = c.config.labels.find(v.substr(0, eq2));
    if (it == c.config.labels.end()) return false;
    return eq2 == std::string::npos || it->second == v.substr(eq2 + 1);
  }
  if (k == "exited")
    return c.state.status == engine::ContainerStatus::exited &&
           std::to_string(c.state.exit_code) == v;
  return false;
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
    for (const auto& f : a->filters) {
      auto k = f.substr(0, f.find('='));
      if (k != "name" && k != "id" && k != "status" && k != "label" && k != "ancestor" &&
          k != "exited")
        return engine_report(Error{0, fmt::format("invalid filter \"{}\"", k)});
    }
    // docker's formatter: "table" adds a header row and aligns the columns; "\t" and "\n"
    // as typed in a shell are a tab and a new line.
    std::string format = a->format;
    bool table = format.empty() || format.starts_with("table");
    if (table) {
      format = std::string(trim(std::string_view(format).substr(format.empty() ? 0 : 5)));
      if (format.empty()) format = kDefaultTable;
    }
    for (auto [from, to] : {std::pair{"\\t", "\t"}, {"\\n", "\n"}})
      for (size_t at = 0; (at = format.find(from, at)) != std::string::npos; at += 1)
        format.replace(at, 2, to);
    // -n N and -l (-n 1): the N last created, whatever their state (docker).
    int last = a->latest ? 1 : a->last;
    auto e = open_engine(g);
    if (!e) return engine_report(e.error());
    auto all = e->list();
    if (!all) return engine_report(all.error());
    int64_t now = engine::now_ns();
    std::string body;
    Json label_keys = Json::object();
    int shown = 0;
    for (const auto& ct : *all) {
      bool live = ct.state.status == engine::ContainerStatus::running ||
                  ct.state.status == engine::ContainerStatus::paused ||
                  ct.state.status == engine::ContainerStatus::restarting;
      if (!a->all && last < 0 && !live) continue;
      if (!std::all_of(a->filters.begin(), a->filters.end(),
                       [&](const std::string& f) { return matches(ct, f); }))
        continue;
      if (last > 0 && shown >= last) break;
      ++shown;
      Json row = row_json(ct, a->no_trunc, now);
      if (a->quiet) {
        fmt::print("{}\n", row["ID"].get<std::string>());
        continue;
      }
      if (format == "json") {
        fmt::print("{}\n", row.dump());
        continue;
      }
      // docker's {{.Label "key"}}: one label's value.
      row["Label"] = ct.config.labels;
      for (const auto& [k, v] : ct.config.labels) label_keys[k] = "LABEL";
      auto out = engine::format_template(row, format);
      if (!out) return engine_report(out.error());
      body += *out + "\n";
    }
    if (a->quiet || format == "json") return 0;
    if (!table) {
      fmt::print("{}", body);
      return 0;
    }
    // The header: the same template over each field's column name (docker's FullHeader).
    Json head = {
        {"ID", "CONTAINER ID"},      {"Image", "IMAGE"},        {"Command", "COMMAND"},
        {"CreatedAt", "CREATED AT"}, {"RunningFor", "CREATED"}, {"Status", "STATUS"},
        {"Ports", "PORTS"},          {"Names", "NAMES"},        {"State", "STATE"},
        {"Labels", "LABELS"},        {"Mounts", "MOUNTS"},      {"LocalVolumes", "LOCAL VOLUMES"},
        {"Networks", "NETWORKS"},    {"Label", label_keys}};
    auto header = engine::format_template(head, format);
    if (!header) return engine_report(header.error());
    fmt::print("{}", engine::tabulate(*header + "\n" + body));
    return 0;
  };
});

}  // namespace hull::cli

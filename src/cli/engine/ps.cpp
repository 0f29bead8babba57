// hull ps [-a] [-n N] [-l] [-q] [-s] [--no-trunc] [--filter K=V] [--format json|TEMPLATE]
#include <map>

#include "cli/engine/run_flags.hpp"
#include "common/strings.hpp"
#include "engine/filters.hpp"
#include "engine/present.hpp"
#include "engine/rootfs.hpp"
#include "image/format.hpp"
#include "image/store.hpp"

namespace hull::cli {
namespace {

// docker's ps filters. name and id are regular expressions, searched in the name with and
// without docker's leading '/' and in the full id.
constexpr engine::FilterArgs::Key kFilterKeys[] = {
    {"name", engine::FilterArgs::Kind::regex},    {"id", engine::FilterArgs::Kind::regex},
    {"status", engine::FilterArgs::Kind::text},   {"exited", engine::FilterArgs::Kind::text},
    {"ancestor", engine::FilterArgs::Kind::text}, {"label", engine::FilterArgs::Kind::label}};

Result<engine::FilterArgs> parse_filters(const std::vector<std::string>& given) {
  auto f = HULL_TRY(engine::FilterArgs::parse(given, kFilterKeys, "ps"));
  for (const auto& v : f.values("status"))
    if (!engine::status_from_name(v))
      return failf(
          "invalid filter 'status={}': use created, restarting, running, paused, exited or dead",
          v);
  for (const auto& v : f.values("exited"))
    if (!parse_int<int>(v)) return failf("invalid filter 'exited={}': an exit code is a number", v);
  return f;
}

bool matches(const engine::Container& c, const engine::FilterArgs& f) {
  const auto& cfg = c.config;
  return f.search("name", {cfg.name, "/" + cfg.name}) && f.search("id", {cfg.id}) &&
         f.any("status",
               [&](const std::string& v) { return engine::status_name(c.state.status) == v; }) &&
         f.any("ancestor", [&](const std::string& v) { return cfg.image == v; }) &&
         f.any("exited",
               [&](const std::string& v) {
                 return c.state.status == engine::ContainerStatus::exited &&
                        c.state.exit_code == parse_int<int>(v);
               }) &&
         f.labels_hold(cfg.labels);
}

// docker's default: `docker ps` is this table.
constexpr std::string_view kDefaultTable =
    "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

// docker's SIZE: "12B (virtual 4.26MB)", the writable layer and, with the image, the
// whole; "0B" when sizes were not asked for (as docker's json rows without -s).
std::string size_text(const engine::ContainerSize& s) {
  std::string rw = image::human_size(double(s.rw));
  if (s.root_fs <= 0) return rw;
  return fmt::format("{} (virtual {})", rw, image::human_size(double(s.root_fs)));
}

// A row as docker's container context shows it to --format (`{{json .}}` for json).
Json row_json(const engine::Container& ct, bool no_trunc, int64_t now,
              const engine::ContainerSize& size) {
  const auto& cfg = ct.config;
  std::string cmd = engine::command_text(cfg);
  if (!no_trunc && cmd.size() > 22) cmd = cmd.substr(0, 19) + "…\"";
  // Mounts as docker joins them.
  std::string mounts;
  int volumes = 0;
  for (const auto& m : cfg.mounts) {
    if (m.type == "tmpfs") continue;
    std::string name = m.type == "volume" ? m.name : m.source;
    if (!no_trunc && name.size() > 15) name = name.substr(0, 14) + "…";
    mounts += (mounts.empty() ? "" : ",") + name;
    volumes += m.type == "volume";
  }
  std::string created = engine::go_time_text(cfg.created / 1000000000);
  return {{"ID", no_trunc ? cfg.id : cfg.id.substr(0, 12)},
          {"Image", cfg.image},
          {"Command", cmd},
          {"CreatedAt", created},
          {"RunningFor", engine::human_duration(now - cfg.created) + " ago"},
          {"Status", engine::status_text(ct, now)},
          {"Ports", engine::ports_text(ct)},
          {"Names", cfg.name},
          {"Size", size_text(size)},
          {"State", engine::status_name(ct.state.status)},
          {"Labels", engine::labels_text(cfg.labels)},
          {"Mounts", mounts},
          {"LocalVolumes", std::to_string(volumes)},
          {"Networks", cfg.network}};
}

}  // namespace

HULL_ENGINE_VERB(ps, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    bool all = false, quiet = false, no_trunc = false, latest = false, size = false;
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
  auto* size_flag = c->add_flag("-s,--size", a->size, "total file sizes (writable layer, virtual)");
  add_multi(c, "-f,--filter", a->filters, "name=, id=, status=, label=, ancestor=, exited=");
  c->add_option("--format", a->format, "json, a template like {{.Names}}, or table TEMPLATE");
  return [a, size_flag, &g]() -> int {
    // docker's CLI: 125 for a malformed --filter, 1 for what its daemon refuses.
    if (auto r = engine::check_filter_syntax(a->filters); !r) return flag_error(r.error());
    auto filters = parse_filters(a->filters);
    if (!filters) return verb_failure(filters.error());
    // -n N and -l (-n 1): the N last created, whatever their state (docker).
    int last = a->latest ? 1 : a->last;
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    auto all = e->list();
    if (!all) return verb_failure(all.error());
    // docker computes sizes for -s, and for a template that shows them unless --size
    // was given (as --size=false).
    bool sizes = a->size || (!a->quiet && size_flag->count() == 0 && a->format != "json" &&
                             a->format.find(".Size") != std::string::npos);
    std::map<std::string, int64_t> image_sizes;
    if (sizes)
      if (auto store = image::Store::open(g.root)) image_sizes = engine::image_sizes(*store);
    int64_t now = engine::now_ns();
    std::vector<Json> rows;
    Json label_keys = Json::object();
    int shown = 0;
    for (const auto& ct : *all) {
      bool live = ct.state.status == engine::ContainerStatus::running ||
                  ct.state.status == engine::ContainerStatus::paused ||
                  ct.state.status == engine::ContainerStatus::restarting;
      // A status filter shows stopped containers without -a (docker).
      if (!a->all && last < 0 && !filters->has("status") && !live) continue;
      if (!matches(ct, *filters)) continue;
      if (last > 0 && shown >= last) break;
      ++shown;
      engine::ContainerSize size;
      if (sizes)
        size = engine::container_size(ct.config, e->container_dir(ct.config.id), image_sizes);
      Json row = row_json(ct, a->no_trunc, now, size);
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
    Json head = {{"ID", "CONTAINER ID"},
                 {"Image", "IMAGE"},
                 {"Command", "COMMAND"},
                 {"CreatedAt", "CREATED AT"},
                 {"RunningFor", "CREATED"},
                 {"Status", "STATUS"},
                 {"Ports", "PORTS"},
                 {"Names", "NAMES"},
                 {"Size", "SIZE"},
                 {"State", "STATE"},
                 {"Labels", "LABELS"},
                 {"Mounts", "MOUNTS"},
                 {"LocalVolumes", "LOCAL VOLUMES"},
                 {"Networks", "NETWORKS"},
                 {"Label", label_keys}};
    std::string table(kDefaultTable);
    if (a->size) table += "\t{{.Size}}";
    auto out = engine::format_rows(a->format, table, rows, head);
    if (!out) return verb_failure(out.error());
    fmt::print("{}", *out);
    return 0;
  };
});

}  // namespace hull::cli

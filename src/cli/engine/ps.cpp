// hull ps [-a] [-q] [--no-trunc] [--filter K=V] [--format json|TEMPLATE]
#include "cli/engine/run_flags.hpp"
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

}  // namespace

HULL_ENGINE_VERB(ps, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    bool all = false, quiet = false, no_trunc = false;
    std::vector<std::string> filters;
    std::string format;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("ps", "list containers");
  c->add_flag("-a,--all", a->all, "show stopped containers too");
  c->add_flag("-q,--quiet", a->quiet, "only ids");
  c->add_flag("--no-trunc", a->no_trunc, "full ids and commands");
  add_multi(c, "-f,--filter", a->filters, "name=, id=, status=, label=, ancestor=, exited=");
  c->add_option("--format", a->format, "json, or a template like {{.Names}}");
  return [a, &g]() -> int {
    for (const auto& f : a->filters) {
      auto k = f.substr(0, f.find('='));
      if (k != "name" && k != "id" && k != "status" && k != "label" && k != "ancestor" &&
          k != "exited")
        return engine_report(Error{0, fmt::format("invalid filter \"{}\"", k)});
    }
    auto e = open_engine(g);
    if (!e) return engine_report(e.error());
    auto all = e->list();
    if (!all) return engine_report(all.error());
    int64_t now = engine::now_ns();
    std::vector<std::vector<std::string>> rows;
    for (const auto& ct : *all) {
      bool live = ct.state.status == engine::ContainerStatus::running ||
                  ct.state.status == engine::ContainerStatus::paused ||
                  ct.state.status == engine::ContainerStatus::restarting;
      if (!a->all && !live) continue;
      if (!std::all_of(a->filters.begin(), a->filters.end(),
                       [&](const std::string& f) { return matches(ct, f); }))
        continue;
      std::string id = a->no_trunc ? ct.config.id : ct.config.id.substr(0, 12);
      if (a->quiet) {
        fmt::print("{}\n", id);
        continue;
      }
      std::string cmd = engine::command_text(ct.config);
      if (!a->no_trunc && cmd.size() > 22) cmd = cmd.substr(0, 19) + "…\"";
      std::vector<std::string> row = {id,
                                      ct.config.image,
                                      cmd,
                                      engine::human_duration(now - ct.config.created) + " ago",
                                      engine::status_text(ct, now),
                                      engine::ports_text(ct),
                                      ct.config.name};
      if (!a->format.empty()) {
        Json j = {{"ID", row[0]},
                  {"Image", row[1]},
                  {"Command", row[2]},
                  {"CreatedAt", engine::rfc3339(ct.config.created)},
                  {"RunningFor", row[3]},
                  {"Status", row[4]},
                  {"Ports", row[5]},
                  {"Names", row[6]},
                  {"State", engine::status_name(ct.state.status)},
                  {"Labels", ct.config.labels}};
        if (a->format == "json") {
          fmt::print("{}\n", j.dump());
        } else {
          auto out = engine::format_template(j, a->format);
          if (!out) return engine_report(out.error());
          fmt::print("{}\n", *out);
        }
        continue;
      }
      rows.push_back(std::move(row));
    }
    if (a->quiet || !a->format.empty()) return 0;
    std::vector<std::string> head = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                                     "STATUS",       "PORTS", "NAMES"};
    std::vector<size_t> w(head.size());
    auto width = [](const std::string& s) {
      size_t n = 0;
      for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;  // UTF-8 code points
      return n;
    };
    for (size_t i = 0; i < head.size(); ++i) w[i] = width(head[i]);
    for (const auto& r : rows)
      for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], width(r[i]));
    auto line = [&](const std::vector<std::string>& r) {
      std::string out;
      for (size_t i = 0; i < r.size(); ++i) {
        out += r[i];
        if (i + 1 < r.size()) out += std::string(w[i] - width(r[i]) + 3, ' ');
      }
      fmt::print("{}\n", out);
    };
    line(head);
    for (const auto& r : rows) line(r);
    return 0;
  };
});

}  // namespace hull::cli

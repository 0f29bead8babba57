// hull-runtime events [--stats] [--interval DURATION] ID: one stats object, or a stream
// of stats (each interval) and oom events as JSON lines, as runc prints them.
#include <iostream>

#include "cli/runtime/verb.hpp"
#include "common/strings.hpp"
#include "runtime/control.hpp"

namespace hull::cli {
namespace {

// Go durations as runc takes them: "5s", "500ms", "1m"; a bare number is seconds.
std::optional<int> parse_interval_ms(std::string_view s) {
  struct Unit {
    std::string_view suffix;
    int ms;
  };
  for (auto u : {Unit{"ms", 1}, Unit{"s", 1000}, Unit{"m", 60000}}) {
    if (s.ends_with(u.suffix)) {
      auto n = parse_int<int>(s.substr(0, s.size() - u.suffix.size()));
      if (n && *n > 0) return *n * u.ms;
      return std::nullopt;
    }
  }
  auto n = parse_int<int>(s);
  if (n && *n > 0) return *n * 1000;
  return std::nullopt;
}

}  // namespace

HULL_VERB(events, [](CLI::App& app, Globals& g) {
  struct Args {
    std::string id;
    bool stats = false;
    std::string interval = "5s";
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("events", "print container statistics and OOM events");
  c->add_option("id", a->id, "container id")->required();
  c->add_flag("--stats", a->stats, "print the statistics once and exit");
  c->add_option("--interval", a->interval, "time between stats events (default 5s)");
  return [a, &g] {
    if (a->stats) {
      auto j = runtime::stats_event(store_of(g), a->id);
      if (!j) return report(j.error());
      std::cout << j->dump() << std::endl;
      return 0;
    }
    auto ms = parse_interval_ms(a->interval);
    if (!ms)
      return report(Error{EINVAL, fmt::format("--interval \"{}\": not a duration", a->interval)});
    auto r = runtime::events(store_of(g), a->id, *ms,
                             [](const Json& j) { std::cout << j.dump() << std::endl; });
    return r ? 0 : report(r.error());
  };
});

}  // namespace hull::cli

// hull logs [-f] [--tail N] [--since T] [--until T] [-t] [--details] CONTAINER
#include <unistd.h>

#include "cli/engine/run_flags.hpp"
#include "common/strings.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(logs, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::string ref, tail = "all", since, until;
    bool follow = false, timestamps = false, details = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("logs", "print a container's logs");
  c->add_option("container", a->ref, "container name or id")->required();
  c->add_flag("-f,--follow", a->follow, "keep printing new output until the container stops");
  c->add_option("-n,--tail", a->tail, "only the last N lines (or all)");
  c->add_option("--since", a->since, "only after a time (RFC3339, unix time, or 10m)");
  c->add_option("--until", a->until, "only before a time");
  c->add_flag("-t,--timestamps", a->timestamps, "prefix each line with its time");
  c->add_flag("--details", a->details, "prefix each line with its --log-opt attributes");
  return [a, &g]() -> int {
    engine::LogQuery q;
    int64_t now = engine::now_ns();
    // A negative count or anything but a number is all of them, as docker's daemon reads it.
    if (auto n = parse_int<size_t>(a->tail)) q.tail = *n;
    auto since = engine::parse_since(a->since, now);
    if (!since) return verb_failure(since.error());
    q.since_ns = *since;
    auto until = engine::parse_since(a->until, now);
    if (!until) return verb_failure(until.error());
    q.until_ns = *until;
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    auto ct = e->find(a->ref);
    if (!ct) return verb_failure(ct.error());
    auto print = [&](const engine::LogEntry& l) {
      FILE* f = l.stream == "stderr" ? stderr : stdout;
      // --details: the record's attributes (--log-opt labels, env), then a blank. hull's
      // records have none, so the blank alone, as docker prints a record without any.
      fmt::print(f, "{}{}{}{}", a->timestamps ? l.time : "", a->timestamps ? " " : "",
                 a->details ? " " : "", l.log);
      std::fflush(f);
    };
    std::string path = e->log_path(ct->config.id);
    auto off = engine::read_logs(path, q, print);
    if (!off) return verb_failure(off.error());
    if (!a->follow) return 0;
    uint64_t pos = *off;
    for (;;) {
      auto cur = e->find(a->ref);
      bool live = cur && (cur->state.status == engine::ContainerStatus::running ||
                          cur->state.status == engine::ContainerStatus::restarting ||
                          cur->state.status == engine::ContainerStatus::paused);
      auto next = engine::read_logs_from(path, pos, [&](const engine::LogEntry& l) {
        if (!q.until_ns || l.time_ns <= q.until_ns) print(l);
      });
      if (next) pos = *next;
      if (!live) return 0;
      ::usleep(100000);
    }
  };
});

}  // namespace hull::cli

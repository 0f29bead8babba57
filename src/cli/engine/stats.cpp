// hull stats [--no-stream] [--no-trunc] [-a] [--format F] [CONTAINER...]: a live table from
// the cgroup counters.
#include <sys/utsname.h>
#include <unistd.h>

#include <thread>

#include "cgroups/manager.hpp"
#include "cli/engine/run_flags.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "engine/present.hpp"

namespace hull::cli {
namespace {

struct Sample {
  std::string id, name;
  uint64_t cpu_ns = 0, mem = 0, limit = 0, pids = 0, rx = 0, tx = 0, blk_r = 0, blk_w = 0;
  int64_t at = 0;
  bool ok = false;
};

uint64_t host_memory() {
  long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(size) : 0;
}

Sample sample(engine::Engine& e, const engine::Container& c) {
  Sample s;
  s.id = c.config.id;
  s.name = c.config.name;
  s.at = engine::now_ns();
  auto rs = e.store().load(c.config.id);
  if (!rs) return s;
  s.ok = true;
  if (!rs->cgroup.is_null())
    if (auto m = cgroups::load_manager(rs->cgroup))
      if (auto st = (*m)->stats()) {
        s.cpu_ns = st->cpu.usage_total;
        uint64_t used = st->memory.usage.usage;
        s.mem = used > st->memory.cache ? used - st->memory.cache : used;
        s.limit = st->memory.usage.limit;
        s.pids = st->pids.current;
        for (const auto& b : st->blkio) {
          if (b.op == "Read" || b.op == "read") s.blk_r += b.value;
          if (b.op == "Write" || b.op == "write") s.blk_w += b.value;
        }
      }
  if (s.limit == 0 || s.limit > host_memory()) s.limit = host_memory();
  // Network counters as the container sees them: its init's /proc/PID/net/dev.
  if (auto dev = fs::read_file(fmt::format("/proc/{}/net/dev", rs->pid))) {
    for (auto line : split(*dev, '\n')) {
      auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      if (trim(line.substr(0, colon)) == "lo") continue;
      std::vector<uint64_t> nums;
      for (auto f : split(line.substr(colon + 1), ' '))
        if (auto n = parse_int<uint64_t>(f)) nums.push_back(*n);
      if (nums.size() >= 9) {
        s.rx += nums[0];
        s.tx += nums[8];
      }
    }
  }
  return s;
}

// docker's units.BytesSize: 4 significant digits, binary units ("208KiB", "1.727MiB").
std::string bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.4g}{}", v, units[u]);
}

// docker's units.HumanSizeWithPrecision(n, 3): decimal units ("916B", "2.48kB").
std::string si(uint64_t b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return fmt::format("{:.3g}{}", v, units[u]);
}

// docker's default: `docker stats` is this table.
constexpr std::string_view kDefaultTable =
    "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{."
    "PIDs}}";

}  // namespace

HULL_ENGINE_VERB(stats, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    bool no_stream = false, all = false, no_trunc = false;
    std::string format;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("stats", "live resource usage of containers");
  c->add_option("container", a->refs, "container names or ids (default: all running)");
  c->add_flag("--no-stream", a->no_stream, "print one sample and exit");
  c->add_flag("-a,--all", a->all, "include stopped containers");
  c->add_flag("--no-trunc", a->no_trunc, "full container ids");
  c->add_option("--format", a->format, "json, a template like {{.Name}}, or table TEMPLATE");
  return [a, &g]() -> int {
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    // Each container with the name it goes by in .Container: as given, else the short id.
    using Picked = std::vector<std::pair<engine::Container, std::string>>;
    auto pick = [&]() -> Result<Picked> {
      Picked out;
      if (!a->refs.empty()) {
        for (const auto& r : a->refs) out.emplace_back(HULL_TRY(e->find(r)), r);
        return out;
      }
      for (auto& ct : HULL_TRY(e->list()))
        if (a->all || ct.state.status == engine::ContainerStatus::running ||
            ct.state.status == engine::ContainerStatus::paused) {
          std::string short_id = ct.config.id.substr(0, 12);
          out.emplace_back(std::move(ct), std::move(short_id));
        }
      return out;
    };
    auto cts = pick();
    if (!cts) return verb_failure(cts.error());
    const Json head = {{"ID", "CONTAINER ID"},
                       {"Name", "NAME"},
                       {"Container", "CONTAINER"},
                       {"CPUPerc", "CPU %"},
                       {"MemUsage", "MEM USAGE / LIMIT"},
                       {"MemPerc", "MEM %"},
                       {"NetIO", "NET I/O"},
                       {"BlockIO", "BLOCK I/O"},
                       {"PIDs", "PIDS"}};
    std::vector<Sample> prev;
    for (const auto& [ct, as] : *cts) prev.push_back(sample(*e, ct));
    for (bool first = true;; first = false) {
      std::this_thread::sleep_for(std::chrono::milliseconds(first && a->no_stream ? 500 : 1000));
      std::vector<Json> rows;
      for (size_t i = 0; i < cts->size(); ++i) {
        Sample now = sample(*e, (*cts)[i].first);
        double cpu = 0;
        if (now.at > prev[i].at && now.cpu_ns >= prev[i].cpu_ns)
          cpu = 100.0 * static_cast<double>(now.cpu_ns - prev[i].cpu_ns) /
                static_cast<double>(now.at - prev[i].at);
        double memp =
            now.limit ? 100.0 * static_cast<double>(now.mem) / static_cast<double>(now.limit) : 0;
        rows.push_back({{"ID", a->no_trunc ? now.id : now.id.substr(0, 12)},
                        {"Name", now.name},
                        {"Container", (*cts)[i].second},
                        {"CPUPerc", fmt::format("{:.2f}%", cpu)},
                        {"MemUsage", fmt::format("{} / {}", bytes(now.mem), bytes(now.limit))},
                        {"MemPerc", fmt::format("{:.2f}%", memp)},
                        {"NetIO", fmt::format("{} / {}", si(now.rx), si(now.tx))},
                        {"BlockIO", fmt::format("{} / {}", si(now.blk_r), si(now.blk_w))},
                        {"PIDs", std::to_string(now.pids)}});
        prev[i] = now;
      }
      std::string out;
      if (!a->no_stream) out += "\033[2J\033[H";
      auto table = engine::format_rows(a->format, kDefaultTable, rows, head);
      if (!table) return verb_failure(table.error());
      out += *table;
      fmt::print("{}", out);
      std::fflush(stdout);
      if (a->no_stream) return 0;
    }
  };
});

}  // namespace hull::cli

// hull-runtime update [--resources FILE|-] [runc's flags] ID: changes a live container's
// cgroup limits. Flags override the file's values.
#include <unistd.h>

#include <iostream>
#include <iterator>

#include "cli/runtime/verb.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "runtime/control.hpp"

namespace hull::cli {
namespace {

// Bytes with an optional binary unit, as runc (go-units RAMInBytes): "64m", "1g", "512k",
// "1048576"; "-1" is unlimited.
Result<int64_t> parse_bytes(const std::string& flag, std::string_view s) {
  if (s == "-1") return -1;
  std::string_view num = s;
  int64_t mul = 1;
  std::string lower(s);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string_view l = lower;
  if (l.ends_with("b")) l.remove_suffix(1);
  if (!l.empty()) {
    switch (l.back()) {
      case 'k':
        mul = 1LL << 10;
        break;
      case 'm':
        mul = 1LL << 20;
        break;
      case 'g':
        mul = 1LL << 30;
        break;
      case 't':
        mul = 1LL << 40;
        break;
      default:
        break;
    }
    if (mul != 1) l.remove_suffix(1);
  }
  num = l;
  auto v = parse_int<int64_t>(num);
  if (!v || *v < 0 || *v > INT64_MAX / mul) return failf("{} \"{}\": not a size in bytes", flag, s);
  return *v * mul;
}

}  // namespace

HULL_VERB(update, [](CLI::App& app, Globals& g) {
  struct Args {
    // Strings, so that "not given" differs from 0; parsed below with named errors.
    std::string id, resources;
    std::string memory, memory_swap, memory_reservation;
    std::string cpu_shares, cpu_period, cpu_quota, pids_limit, blkio_weight;
    std::string cpuset_cpus, cpuset_mems;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("update", "update a container's resource limits");
  c->add_option("id", a->id, "container id")->required();
  c->add_option("-r,--resources", a->resources, "OCI resources JSON file (- for stdin)");
  c->add_option("--memory", a->memory, "memory limit in bytes (k, m, g units)");
  c->add_option("--memory-swap", a->memory_swap, "memory plus swap limit (-1 unlimited)");
  c->add_option("--memory-reservation", a->memory_reservation, "memory soft limit");
  c->add_option("--cpu-shares", a->cpu_shares, "CPU shares (relative weight)");
  c->add_option("--cpu-quota", a->cpu_quota, "CPU CFS quota in microseconds per period");
  c->add_option("--cpu-period", a->cpu_period, "CPU CFS period in microseconds");
  c->add_option("--cpuset-cpus", a->cpuset_cpus, "CPUs to run on (0-3, 0,1)");
  c->add_option("--cpuset-mems", a->cpuset_mems, "memory nodes to use");
  c->add_option("--pids-limit", a->pids_limit, "maximum number of processes (-1 unlimited)");
  c->add_option("--blkio-weight", a->blkio_weight, "block IO weight, 10 to 1000");
  return [a, &g] {
    oci::Resources r;
    if (!a->resources.empty()) {
      std::string text;
      if (a->resources == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      } else {
        auto t = fs::read_file(a->resources);
        if (!t) return report(t.error());
        text = std::move(*t);
      }
      auto parsed = oci::parse_resources(text, a->resources == "-" ? "stdin" : a->resources);
      if (!parsed) return report(parsed.error());
      r = std::move(*parsed);
    }
    auto mem = [&]() -> oci::MemoryResources& {
      if (!r.memory) r.memory = oci::MemoryResources{};
      return *r.memory;
    };
    auto cpu = [&]() -> oci::CpuResources& {
      if (!r.cpu) r.cpu = oci::CpuResources{};
      return *r.cpu;
    };
    struct SizeFlag {
      const char* name;
      const std::string* value;
      std::optional<int64_t> oci::MemoryResources::*field;
    };
    for (auto f : {SizeFlag{"--memory", &a->memory, &oci::MemoryResources::limit},
                   SizeFlag{"--memory-swap", &a->memory_swap, &oci::MemoryResources::swap},
                   SizeFlag{"--memory-reservation", &a->memory_reservation,
                            &oci::MemoryResources::reservation}}) {
      if (f.value->empty()) continue;
      auto v = parse_bytes(f.name, *f.value);
      if (!v) return report(v.error());
      mem().*f.field = *v;
    }
    auto number = [](const char* flag, const std::string& text, int64_t lo,
                     int64_t hi) -> Result<int64_t> {
      auto v = parse_int<int64_t>(text);
      if (!v || *v < lo || *v > hi) return failf("{} \"{}\": must be {} to {}", flag, text, lo, hi);
      return *v;
    };
    if (!a->cpu_shares.empty()) {
      auto v = number("--cpu-shares", a->cpu_shares, 0, 262144);
      if (!v) return report(v.error());
      cpu().shares = static_cast<uint64_t>(*v);
    }
    if (!a->cpu_quota.empty()) {
      auto v = number("--cpu-quota", a->cpu_quota, -1, INT64_MAX);
      if (!v) return report(v.error());
      cpu().quota = *v;
    }
    if (!a->cpu_period.empty()) {
      auto v = number("--cpu-period", a->cpu_period, 0, 1000000);
      if (!v) return report(v.error());
      cpu().period = static_cast<uint64_t>(*v);
    }
    if (!a->cpuset_cpus.empty()) cpu().cpus = a->cpuset_cpus;
    if (!a->cpuset_mems.empty()) cpu().mems = a->cpuset_mems;
    if (!a->pids_limit.empty()) {
      auto v = number("--pids-limit", a->pids_limit, -1, INT64_MAX);
      if (!v) return report(v.error());
      r.pids_limit = *v;
    }
    if (!a->blkio_weight.empty()) {
      auto v = number("--blkio-weight", a->blkio_weight, 10, 1000);
      if (!v) return report(v.error());
      if (!r.block_io) r.block_io = oci::BlockIoResources{};
      r.block_io->weight = static_cast<uint16_t>(*v);
    }
    auto res = runtime::update(store_of(g), a->id, r);
    return res ? 0 : report(res.error());
  };
});

}  // namespace hull::cli

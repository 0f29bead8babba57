// hull-runtime update [--resources FILE|-] [runc's flags] ID: changes a live container's
// cgroup limits. With --resources the other flags are ignored, as runc documents.
#include <unistd.h>

#include <functional>
#include <iostream>
#include <iterator>

#include "cli/runtime/verb.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "runtime/control.hpp"

namespace hull::cli {
namespace {

// Bytes as runc reads them (go-units RAMInBytes): a number, a decimal fraction allowed,
// with an optional space and a binary unit k, m, g, t or p, with an optional "i" and "b":
// "64m", "1.5g", "512 KiB", "1048576"; "-1" is unlimited.
Result<int64_t> parse_bytes(const std::string& flag, std::string_view s) {
  if (s == "-1") return -1;
  auto bad = [&] { return failf("invalid value for {}: invalid size: '{}'", flag, s); };
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string_view num = s.substr(0, i), unit = s.substr(i);
  if (num.empty() || num.front() == '.' || num.back() == '.' || num.find("..") != num.npos)
    return bad();
  if (unit.starts_with(' ')) unit.remove_prefix(1);
  long double mul = 1;
  if (!unit.empty()) {
    constexpr std::string_view kUnits = "kmgtp";
    auto at = kUnits.find(static_cast<char>(std::tolower(static_cast<unsigned char>(unit[0]))));
    if (at != kUnits.npos) {
      mul = static_cast<long double>(1LL << (10 * (at + 1)));
      unit.remove_prefix(1);
    }
  }
  if (!unit.empty() && (unit[0] == 'i' || unit[0] == 'I')) unit.remove_prefix(1);
  if (!unit.empty() && (unit[0] == 'b' || unit[0] == 'B')) unit.remove_prefix(1);
  if (!unit.empty()) return bad();
  // go-units parses the number as a float64 and truncates the product.
  char* end = nullptr;
  std::string text(num);
  long double v = std::strtold(text.c_str(), &end) * mul;
  if (end != text.c_str() + text.size() || v >= 9.2233720368547758e18L) return bad();
  return static_cast<int64_t>(v);
}

struct UpdateArgs {
  // Strings, so that "not given" differs from 0; parsed below with named errors.
  std::string id, resources;
  std::string memory, memory_swap, memory_reservation;
  std::string cpu_shares, cpu_period, cpu_quota, cpu_rt_period, cpu_rt_runtime;
  std::string pids_limit, blkio_weight, cpuset_cpus, cpuset_mems;
  std::string kernel_memory, kernel_memory_tcp, l3_cache_schema, mem_bw_schema;
};

Status from_file(const std::string& file, oci::Resources& r) {
  std::string text;
  if (file == "-")
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  else
    text = HULL_TRY(fs::read_file(file));
  r = HULL_TRY(oci::parse_resources(text, file == "-" ? "stdin" : file));
  return {};
}

Result<int64_t> number(const char* flag, const std::string& text, int64_t lo, int64_t hi) {
  auto v = parse_int<int64_t>(text);
  if (!v || *v < lo || *v > hi) return failf("{} \"{}\": must be {} to {}", flag, text, lo, hi);
  return *v;
}

Status from_flags(const UpdateArgs& a, oci::Resources& r) {
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
  for (auto f : {SizeFlag{"memory", &a.memory, &oci::MemoryResources::limit},
                 SizeFlag{"memory-swap", &a.memory_swap, &oci::MemoryResources::swap},
                 SizeFlag{"memory-reservation", &a.memory_reservation,
                          &oci::MemoryResources::reservation}}) {
    if (!f.value->empty()) mem().*f.field = HULL_TRY(parse_bytes(f.name, *f.value));
  }
  if (!a.kernel_memory.empty() || !a.kernel_memory_tcp.empty())
    log::warn("Kernel memory settings are ignored and will be removed");
  struct NumberFlag {
    const char* name;
    const std::string* value;
    int64_t lo, hi;
    std::function<void(int64_t)> set;
  };
  for (const auto& f : {
           NumberFlag{"--cpu-share", &a.cpu_shares, 0, 262144,
                      [&](int64_t v) { cpu().shares = static_cast<uint64_t>(v); }},
           NumberFlag{"--cpu-quota", &a.cpu_quota, -1, INT64_MAX,
                      [&](int64_t v) { cpu().quota = v; }},
           NumberFlag{"--cpu-period", &a.cpu_period, 0, 1000000,
                      [&](int64_t v) { cpu().period = static_cast<uint64_t>(v); }},
           NumberFlag{"--cpu-rt-period", &a.cpu_rt_period, 0, INT64_MAX,
                      [&](int64_t v) { cpu().realtime_period = static_cast<uint64_t>(v); }},
           NumberFlag{"--cpu-rt-runtime", &a.cpu_rt_runtime, -1, INT64_MAX,
                      [&](int64_t v) { cpu().realtime_runtime = v; }},
           NumberFlag{"--pids-limit", &a.pids_limit, -1, INT64_MAX,
                      [&](int64_t v) { r.pids_limit = v; }},
           NumberFlag{"--blkio-weight", &a.blkio_weight, 10, 1000,
                      [&](int64_t v) {
                        if (!r.block_io) r.block_io = oci::BlockIoResources{};
                        r.block_io->weight = static_cast<uint16_t>(v);
                      }},
       }) {
    if (!f.value->empty()) f.set(HULL_TRY(number(f.name, *f.value, f.lo, f.hi)));
  }
  if (!a.cpuset_cpus.empty()) cpu().cpus = a.cpuset_cpus;
  if (!a.cpuset_mems.empty()) cpu().mems = a.cpuset_mems;
  return {};
}

}  // namespace

HULL_VERB(update, [](CLI::App& app, Globals& g) {
  auto a = std::make_shared<UpdateArgs>();
  auto* c = app.add_subcommand("update", "update a container's resource limits");
  c->add_option("id", a->id, "container id")->required();
  c->add_option("-r,--resources", a->resources, "OCI resources JSON file (- for stdin)");
  c->add_option("--memory", a->memory, "memory limit in bytes (k, m, g units)");
  c->add_option("--memory-swap", a->memory_swap, "memory plus swap limit (-1 unlimited)");
  c->add_option("--memory-reservation", a->memory_reservation, "memory soft limit");
  // runc spells it --cpu-share; --cpu-shares (docker's) is kept.
  c->add_option("--cpu-share,--cpu-shares", a->cpu_shares, "CPU shares (relative weight)");
  c->add_option("--cpu-quota", a->cpu_quota, "CPU CFS quota in microseconds per period");
  c->add_option("--cpu-period", a->cpu_period, "CPU CFS period in microseconds");
  c->add_option("--cpu-rt-period", a->cpu_rt_period, "CPU realtime period in microseconds");
  c->add_option("--cpu-rt-runtime", a->cpu_rt_runtime, "CPU realtime runtime in microseconds");
  c->add_option("--cpuset-cpus", a->cpuset_cpus, "CPUs to run on (0-3, 0,1)");
  c->add_option("--cpuset-mems", a->cpuset_mems, "memory nodes to use");
  c->add_option("--pids-limit", a->pids_limit, "maximum number of processes (-1 unlimited)");
  c->add_option("--blkio-weight", a->blkio_weight, "block IO weight, 10 to 1000");
  c->add_option("--kernel-memory", a->kernel_memory, "ignored, with a warning (as runc)");
  c->add_option("--kernel-memory-tcp", a->kernel_memory_tcp, "ignored, with a warning (as runc)");
  c->add_option("--l3-cache-schema", a->l3_cache_schema, "Intel RDT L3 schema (unsupported)");
  c->add_option("--mem-bw-schema", a->mem_bw_schema, "Intel RDT MBA schema (unsupported)");
  return [a, &g] {
    if (!a->l3_cache_schema.empty() || !a->mem_bw_schema.empty())
      return report(
          Error{ENOTSUP, "Intel RDT (--l3-cache-schema, --mem-bw-schema) is not enabled"});
    oci::Resources r;
    // With --resources the other flags are ignored, as runc documents.
    auto res = a->resources.empty() ? from_flags(*a, r) : from_file(a->resources, r);
    if (!res) return report(res.error());
    auto done = runtime::update(store_of(g), a->id, r);
    return done ? 0 : report(done.error());
  };
});

}  // namespace hull::cli

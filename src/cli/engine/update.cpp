// hull update [flags] CONTAINER...: docker's update of resource limits and the restart
// policy (engine/update.hpp).
#include "engine/update.hpp"
#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(update, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    engine::UpdateOptions o;
  };
  auto a = std::make_shared<Args>();
  auto* c =
      app.add_subcommand("update", "update the resource limits or restart policy of containers");
  c->add_option("container", a->refs, "container names or ids")->required();
  auto& o = a->o;
  c->add_option("-m,--memory", o.memory, "memory limit (e.g. 64m)");
  c->add_option("--memory-swap", o.memory_swap, "memory plus swap limit, -1 for unlimited");
  c->add_option("--memory-reservation", o.memory_reservation, "memory soft limit");
  c->add_option("--cpus", o.cpus, "number of CPUs (e.g. 1.5)");
  c->add_option("-c,--cpu-shares", o.cpu_shares, "CPU shares (relative weight)");
  c->add_option("--cpu-quota", o.cpu_quota, "CPU CFS quota in microseconds per period");
  c->add_option("--cpu-period", o.cpu_period, "CPU CFS period in microseconds");
  c->add_option("--cpuset-cpus", o.cpuset_cpus, "CPUs allowed (e.g. 0-2,4)");
  c->add_option("--cpuset-mems", o.cpuset_mems, "memory nodes allowed (e.g. 0-1)");
  c->add_option("--pids-limit", o.pids_limit, "maximum number of processes (-1 unlimited)");
  c->add_option("--blkio-weight", o.blkio_weight, "block IO weight, 10 to 1000");
  c->add_option("--restart", o.restart, "no|on-failure[:N]|always|unless-stopped");
  return [a, &g]() -> int {
    // docker's CLI: a value its flag parser refuses is 125, before any container.
    auto u = engine::parse_update(a->o);
    if (!u) return flag_error(u.error());
    if (u->empty())
      return verb_failure(Error{0, "you must provide one or more flags when using this command"});
    return for_each_container(
        g, a->refs, [&](engine::Engine& e, const std::string& ref) { return e.update(ref, *u); });
  };
});

}  // namespace hull::cli

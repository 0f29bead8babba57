// hull-runtime ps [--format table|json] ID [PS OPTION...]: the container's processes (host
// pids). The table is ps(1)'s, run with the options after the id ("-ef" without any) and
// cut to the container's rows, as runc does.
#include <iostream>

#include "cli/runtime/verb.hpp"
#include "runtime/control.hpp"

namespace hull::cli {

HULL_VERB(ps, [](CLI::App& app, Globals& g) {
  struct Args {
    std::string id;
    std::string format = "table";
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("ps", "list the processes in a container");
  c->add_option("id", a->id, "container id")->required();
  c->add_option("-f,--format", a->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  // Everything after the id is ps(1)'s, flags included (`ps ID -o pid,comm`).
  c->prefix_command();
  return [a, c, &g] {
    std::vector<std::string> ps_args = c->remaining();
    auto pids = runtime::processes(store_of(g), a->id);
    if (!pids) return report(pids.error());
    if (a->format == "json") {
      std::cout << Json(*pids).dump() << "\n";
      return 0;
    }
    auto table = runtime::ps_table(*pids, std::move(ps_args));
    if (!table) return report(table.error());
    std::cout << *table << std::flush;
    return 0;
  };
});

}  // namespace hull::cli

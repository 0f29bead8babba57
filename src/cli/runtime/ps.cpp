// hull-runtime ps [--format table|json] ID: the container's processes (host pids).
#include <iostream>

#include "cli/runtime/verb.hpp"
#include "common/fs.hpp"
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
  return [a, &g] {
    auto pids = runtime::processes(store_of(g), a->id);
    if (!pids) return report(pids.error());
    if (a->format == "json") {
      std::cout << Json(*pids).dump() << "\n";
      return 0;
    }
    std::cout << "PID\tCMD\n";
    for (pid_t p : *pids) {
      std::string cmd = fs::read_file(fmt::format("/proc/{}/cmdline", p)).value_or("");
      for (char& ch : cmd)
        if (ch == '\0') ch = ' ';
      while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
      std::cout << p << "\t" << cmd << "\n";
    }
    return 0;
  };
});

}  // namespace hull::cli

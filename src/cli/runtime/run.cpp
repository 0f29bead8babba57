// hull-runtime run [--detach] [create's flags] ID: create + start, and in the foreground
// wait for the program and return its exit status (128+N if killed by signal N).
#include "cli/runtime/verb.hpp"
#include "runtime/container.hpp"

namespace hull::cli {

void add_run_create_flags(CLI::App* c, runtime::CreateOptions& o);

HULL_VERB(run, [](CLI::App& app, Globals& g) {
  auto o = std::make_shared<runtime::CreateOptions>();
  auto detach = std::make_shared<bool>(false);
  auto* c = app.add_subcommand("run", "create and run a container");
  add_run_create_flags(c, *o);
  c->add_flag("-d,--detach", *detach, "return once the program runs");
  return [o, detach, &g] {
    auto store = store_of(g);
    auto mode = *detach ? runtime::LaunchMode::run_detached : runtime::LaunchMode::run;
    auto launched = runtime::launch(store, *o, mode);
    if (!launched) return report(launched.error());
    if (*detach) return 0;
    auto status = runtime::wait_and_delete(store, *launched);
    if (!status) return report(status.error());
    return *status;
  };
});

}  // namespace hull::cli

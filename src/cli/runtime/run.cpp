// hull-runtime run [--detach] [--keep] [--no-subreaper] [create's flags] ID: create + start,
// and in the foreground wait for the program and return its exit status (128+N if killed
// by signal N), then delete the container unless --keep (which keeps a container whose
// start failed as well, as runc).
#include "cli/runtime/verb.hpp"
#include "runtime/container.hpp"

namespace hull::cli {

void add_run_create_flags(CLI::App* c, runtime::CreateOptions& o);

HULL_VERB(run, [](CLI::App& app, Globals& g) {
  struct Args {
    runtime::CreateOptions o;
    bool detach = false, no_subreaper = false;
    runtime::RunWait wait;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("run", "create and run a container");
  add_run_create_flags(c, a->o);
  c->add_flag("-d,--detach", a->detach, "return once the program runs");
  c->add_flag("--keep", a->wait.keep,
              "keep the container's state and cgroup after it exits (remove with delete)");
  c->add_flag("--no-subreaper", a->no_subreaper,
              "do not become the subreaper that reaps the container's reparented processes");
  return [a, &g] {
    auto store = store_of(g);
    // Only while it waits in the foreground, as runc (a detached run exits at once).
    a->wait.subreaper = !a->detach && !a->no_subreaper;
    if (a->wait.subreaper)
      if (auto r = runtime::become_subreaper(); !r) return report(r.error());
    a->o.listen_fds = runtime::listen_fds_from_env();
    // A start that fails is kept too, as runc's --keep keeps it.
    a->o.keep_on_failure = a->wait.keep;
    auto mode = a->detach ? runtime::LaunchMode::run_detached : runtime::LaunchMode::run;
    auto launched = runtime::launch(store, a->o, mode);
    if (!launched) return report(launched.error());
    if (a->detach) return 0;
    auto status = runtime::wait_and_delete(store, *launched, a->wait);
    if (!status) return report(status.error());
    return *status;
  };
});

}  // namespace hull::cli

// hull-runtime create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot]
//                     [--preserve-fds N] ID
// A caller's socket activation (LISTEN_FDS, LISTEN_PID) is passed on, as runc does.
#include "cli/runtime/verb.hpp"
#include "runtime/container.hpp"

namespace hull::cli {
namespace {

void add_create_flags(CLI::App* c, runtime::CreateOptions& o) {
  c->add_option("id", o.id, "container id")->required();
  c->add_option("-b,--bundle", o.bundle, "bundle directory (default: current directory)");
  c->add_option("--pid-file", o.pid_file, "file to write the init process's pid to");
  c->add_option("--console-socket", o.console_socket,
                "unix socket that receives the pty master when process.terminal is true");
  c->add_flag("--no-pivot", o.no_pivot, "chroot instead of pivot_root (for ramfs roots)");
  c->add_option("--preserve-fds", o.preserve_fds, "pass N extra fds (from 3) to the container")
      ->check(CLI::NonNegativeNumber);
  c->add_flag("--no-new-keyring", o.no_new_keyring,
              "keep the caller's session keyring (default: a new one, \"_ses.<id>\")");
}

}  // namespace

void add_run_create_flags(CLI::App* c, runtime::CreateOptions& o) {
  add_create_flags(c, o);
}

HULL_VERB(create, [](CLI::App& app, Globals& g) {
  auto o = std::make_shared<runtime::CreateOptions>();
  add_create_flags(app.add_subcommand("create", "create a container"), *o);
  return [o, &g] {
    o->listen_fds = runtime::listen_fds_from_env();
    auto r = runtime::launch(store_of(g), *o, runtime::LaunchMode::create);
    return r ? 0 : report(r.error());
  };
});

}  // namespace hull::cli

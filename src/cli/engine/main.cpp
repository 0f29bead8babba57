// hull: the container engine a person types. Global flags and verbs follow docker's.
#include <unistd.h>

#include <cstdlib>

#include "cli/engine/verb.hpp"
#include "common/log.hpp"
#include "common/sqlite_wal.hpp"
#include "common/userns.hpp"
#include "engine/rootless.hpp"

namespace {
using namespace hull;

// An unprivileged user's --root and --run-root defaults (engine/rootless.hpp). Without
// $HOME there is none for --root: empty, an error after parsing unless --root gave one.
void rootless_defaults(cli::EngineGlobals& g) {
  auto p = engine::rootless::default_paths(::geteuid(), [](const char* n) {
    const char* v = ::getenv(n);
    return v ? std::optional<std::string>(v) : std::nullopt;
  });
  g.root = p ? p->root : std::string();
  g.run_root = p ? p->run_root : fmt::format("/tmp/hull-{}", ::geteuid());
}

// Joins the user's pause process, before any thread starts.
bool enter_user_ns(const cli::EngineGlobals& g) {
  if (g.root.empty()) {
    log::error("rootless hull: neither $XDG_DATA_HOME nor $HOME is set: use --root DIR");
    return false;
  }
  if (auto r = engine::rootless::enter(g.root, g.run_root); !r) {
    log::error("rootless: {}", r.error().message);
    return false;
  }
  return true;
}

// As uid 0: hull's own processes inside the rootless user namespace (the monitor's
// `hull __exited`) carry kInUserNsEnv. Without it (the host's root, the usual case) no
// file is read; with it, the kernel's uid_map has the last word, as the variable may be
// inherited by the host's root (sudo -E, a shell started from a container's environment).
void mark_in_user_ns() {
  const char* v = ::getenv(engine::rootless::kInUserNsEnv);
  if (!v) return userns::assume(false);
  if (*v == '1' && userns::running_in_user_ns()) return;
  userns::assume(false);
  // Nor is it passed on to the monitor and the runtime's children.
  ::unsetenv(engine::rootless::kInUserNsEnv);
}
}  // namespace

int main(int argc, char** argv) {
  using namespace hull;
  (void)sqlite::configure_process();  // before any database opens
  cli::EngineGlobals g;
  // Rootless: per-user stores, and (once the flags are parsed) the user's namespaces.
  const bool rootless = ::geteuid() != 0;
  if (rootless) {
    rootless_defaults(g);
  } else {
    mark_in_user_ns();
  }
  if (const char* r = getenv("HULL_ROOT"); r && *r) g.root = r;
  if (const char* r = getenv("HULL_RUN_ROOT"); r && *r) g.run_root = r;
  CLI::App app{"hull: run containers", "hull"};
  app.set_version_flag("-v,--version", fmt::format("hull version {}", HULL_VERSION));
  app.require_subcommand(1);
  app.add_option("--root", g.root, "persistent state: images, containers, networks")
      ->envname("HULL_ROOT");
  app.add_option("--run-root", g.run_root, "runtime state of running containers")
      ->envname("HULL_RUN_ROOT");
  app.add_flag("-D,--debug", g.debug, "debug logging");

  // Only the chosen verb's options are built (all of them for --help or an unknown verb):
  // building every verb's was most of what a `hull` start cost after dynamic loading.
  cli::EngineVerbs verbs(app, g, cli::EngineVerbs::verb_in(argc, argv, {"--root", "--run-root"}));
  // docker's 125 for a usage error, as for any error of hull itself.
  auto done = verbs.parse(
      argc, argv, [&] { log::configure("", log::Format::text, g.debug); }, 125);
  if (done) return *done;
  if (rootless && !enter_user_ns(g)) return 125;
  return verbs.run(125);
}

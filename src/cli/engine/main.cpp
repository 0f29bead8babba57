// hull: the container engine a person types. Global flags and verbs follow docker's.
#include <unistd.h>

#include <cstdlib>

#include "cli/engine/verb.hpp"
#include "common/log.hpp"
#include "common/sqlite_wal.hpp"
#include "common/userns.hpp"
#include "engine/config.hpp"
#include "engine/rootless.hpp"
#include "image/registries.hpp"

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

// hull.json (engine/config.hpp): --config or HULL_CONFIG, else the default file. Its
// registries are the image module's from now on; its data-root is --root's default.
// Internal verbs (the monitor's `__exited`, `__relaunch`) and `version` skip it: they
// resolve no image name and get --root on their command line, and a file edited badly
// while a container runs must not keep its exit from being recorded.
bool apply_config(cli::EngineGlobals& g, std::string_view verb, bool rootless, bool root_given) {
  if (verb.starts_with("__") || verb == "version") return true;
  std::string path = g.config_file;
  const bool explicit_path = !path.empty();
  if (!explicit_path)
    path = engine::default_config_path(rootless, [](const char* n) {
      const char* v = ::getenv(n);
      return v ? std::optional<std::string>(v) : std::nullopt;
    });
  auto c = engine::load_config(path, explicit_path);
  if (!c) {
    log::error("{}", c.error().message);
    return false;
  }
  if (c->data_root && !root_given) g.root = *c->data_root;
  image::set_registry_config(c->registries);
  g.config = std::move(*c);
  return true;
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
  app.add_option("--config", g.config_file,
                 "configuration file (default /etc/hull/hull.json; rootless "
                 "~/.config/hull/hull.json)")
      ->envname("HULL_CONFIG");

  // Only the chosen verb's options are built (all of them for --help or an unknown verb):
  // building every verb's was most of what a `hull` start cost after dynamic loading.
  const std::string verb =
      cli::EngineVerbs::verb_in(argc, argv, {"--root", "--run-root", "--config"});
  cli::EngineVerbs verbs(app, g, verb);
  // docker's 125 for a usage error, as for any error of hull itself.
  auto done = verbs.parse(
      argc, argv, [&] { log::configure("", log::Format::text, g.debug); }, 125);
  if (done) return *done;
  const char* root_env = ::getenv("HULL_ROOT");
  const bool root_given = app.get_option("--root")->count() > 0 || (root_env && *root_env);
  if (!apply_config(g, verb, rootless, root_given)) return 125;
  if (rootless && !enter_user_ns(g)) return 125;
  return verbs.run(125);
}

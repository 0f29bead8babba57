// hull: the container engine a person types. Global flags and verbs follow docker's.
#include <unistd.h>

#include "cli/engine/verb.hpp"
#include "common/log.hpp"

int main(int argc, char** argv) {
  using namespace hull;
  cli::EngineGlobals g;
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
  return verbs.run(125);
}

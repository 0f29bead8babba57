// hull export [-o FILE] CONTAINER: the container's root filesystem as a tar (to stdout
// unless -o), which hull import takes back.
#include <unistd.h>

#include <csignal>

#include "cli/engine/run_flags.hpp"
#include "common/fs.hpp"
#include "engine/container_fs.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(export, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::string ref, output = "-";
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("export", "export a container's filesystem as a tar archive");
  c->add_option("container", a->ref, "container name or id")->required();
  c->add_option("-o,--output", a->output, "file to write (default stdout)");
  return [a, &g]() -> int {
    if (a->output == "-" && ::isatty(STDOUT_FILENO))
      return verb_failure(
          Error{0, "cowardly refusing to save to a terminal. Use the -o flag or redirect"});
    ::signal(SIGPIPE, SIG_IGN);
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    if (a->output == "-") {
      if (auto r = engine::export_container(*e, a->ref, STDOUT_FILENO); !r)
        return verb_failure(r.error());
      return 0;
    }
    auto out = fs::OutputFile::create(a->output);
    if (!out) return verb_failure(out.error());
    if (auto r = engine::export_container(*e, a->ref, out->fd()); !r)
      return verb_failure(r.error());
    if (auto r = out->commit(); !r) return verb_failure(r.error());
    return 0;
  };
});

}  // namespace hull::cli

// hull version
#include <sys/utsname.h>

#include "cli/engine/run_flags.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(version, [](CLI::App& app, EngineGlobals&) {
  struct Args {
    std::string format;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("version", "show hull's version");
  c->add_option("-f,--format", a->format, "json");
  return [a]() -> int {
    utsname u{};
    ::uname(&u);
    if (a->format == "json") {
      fmt::print("{}\n", Json{{"Version", HULL_VERSION},
                              {"Os", "linux"},
                              {"Arch", u.machine},
                              {"KernelVersion", u.release},
                              {"ApiVersion", "1.43"}}
                             .dump());
      return 0;
    }
    fmt::print(
        "Client and engine: hull\n Version:        {}\n API version:    1.43 (docker "
        "compatible flags)\n OS/Arch:        linux/{}\n Kernel:         {}\n",
        HULL_VERSION, u.machine, u.release);
    return 0;
  };
});

}  // namespace hull::cli

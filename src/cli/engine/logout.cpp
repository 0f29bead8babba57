// hull logout [SERVER]: forgets the credentials kept for a registry.
#include <iostream>

#include "cli/engine/verb.hpp"
#include "image/auth.hpp"
#include "image/registries.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(logout, [](CLI::App& app, EngineGlobals&) {
  auto o = std::make_shared<std::pair<std::string, std::string>>();
  auto* sub = app.add_subcommand("logout", "log out from a registry");
  sub->add_option("server", o->first,
                  "registry host[:port] (default: hull.json's default-registry, docker.io)");
  sub->add_option("--authfile", o->second, "config.json to edit (default ~/.docker)");
  return [o] {
    std::string server = o->first.empty() ? image::registry_config().default_registry : o->first;
    for (const char* p : {"https://", "http://"})
      if (server.starts_with(p)) server = server.substr(strlen(p));
    while (server.ends_with('/')) server.pop_back();
    auto erased = image::erase_credentials(server, o->second);
    if (!erased) return verb_failure(erased.error());
    if (*erased)
      std::cout << "Removing login credentials for " << server << "\n";
    else
      std::cout << "Not logged in to " << server << "\n";
    return 0;
  };
});

}  // namespace hull::cli

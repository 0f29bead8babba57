// hull login [-u USER] [-p PASS | --password-stdin] [SERVER]: checks the credentials with the
// registry and keeps them in docker's config.json.
#include <unistd.h>

#include <iostream>

#include "cli/engine/registry_flags.hpp"
#include "cli/engine/verb.hpp"
#include "common/strings.hpp"
#include "image/auth.hpp"
#include "image/pull.hpp"
#include "image/registries.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(login, [](CLI::App& app, EngineGlobals&) {
  struct Opts {
    std::string server, user, password, auth_file;
    bool password_stdin = false;
    RegistryFlags registry;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("login", "log in to a registry");
  sub->add_option("server", o->server,
                  "registry host[:port] (default: hull.json's default-registry, docker.io)");
  sub->add_option("-u,--username", o->user, "username");
  sub->add_option("-p,--password", o->password, "password");
  sub->add_flag("--password-stdin", o->password_stdin, "read the password from stdin");
  sub->add_option("--authfile", o->auth_file, "config.json to write (default ~/.docker)");
  o->registry.add(sub);
  return [o] {
    std::string server = o->server.empty() ? image::registry_config().default_registry : o->server;
    for (const char* p : {"https://", "http://"})
      if (server.starts_with(p)) server = server.substr(strlen(p));
    while (server.ends_with('/')) server.pop_back();
    if (server == "index.docker.io/v1") server = "docker.io";
    if (o->user.empty()) {
      std::cerr << "Username: " << std::flush;
      std::getline(std::cin, o->user);
    }
    if (o->password_stdin) {
      std::string all, line;
      while (std::getline(std::cin, line)) all += line + "\n";
      o->password = std::string(trim(all));
    } else if (o->password.empty()) {
      char* p = ::getpass("Password: ");
      o->password = p ? p : "";
    }
    if (o->user.empty() || o->password.empty())
      return verb_failure(Error{0, "login: username and password are required"});
    if (auto st = image::check_login(server, o->user, o->password, o->registry.get()); !st)
      return verb_failure(st.error());
    if (auto st = image::store_credentials(server, {o->user, o->password}, o->auth_file); !st)
      return verb_failure(st.error());
    std::cout << "Login Succeeded\n";
    return 0;
  };
});

}  // namespace hull::cli

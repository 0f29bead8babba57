// hull.json: the engine's configuration file, in the spirit of docker's daemon.json.
//
//   {
//     "default-registry": "registry.example.com:5000",   what "busybox" names
//     "insecure-registries": ["myreg:5000", "10.0.0.0/8"],
//     "registry-mirrors": ["https://mirror.example.com"], tried before docker.io
//     "data-root": "/srv/hull"                            --root's default
//   }
//
// Read once per command, before the verb runs: /etc/hull/hull.json for root,
// $XDG_CONFIG_HOME/hull/hull.json (else ~/.config/hull/hull.json) rootless, or the file
// --config / HULL_CONFIG name. A missing default file means the defaults; anything else
// wrong (a file given that is not there, malformed JSON, a key hull does not know, a
// value of the wrong type or form) is an error that names the file and the key.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "image/registries.hpp"

namespace hull::engine {

struct Config {
  std::string path;  // the file read or looked for
  bool found = false;
  std::optional<std::string> data_root;
  image::RegistryConfig registries;
};

// The default file: /etc/hull/hull.json, or rootless $XDG_CONFIG_HOME/hull/hull.json
// ($XDG_CONFIG_HOME absolute), else $HOME/.config/hull/hull.json; empty without either.
std::string default_config_path(
    bool rootless, const std::function<std::optional<std::string>(const char*)>& getenv);

// The file's text; path names it in errors.
Result<Config> parse_config(std::string_view text, const std::string& path);

// Reads path: a regular file of at most 1 MiB. explicit_path: given by --config or
// HULL_CONFIG, so it must exist; the default may be missing (the defaults then).
Result<Config> load_config(const std::string& path, bool explicit_path);

}  // namespace hull::engine

// hull's verbs: one file per verb, each registering itself with HULL_ENGINE_VERB so that
// adding a verb touches no other file. Flag parsing only; the work is in src/engine,
// src/image and src/net.
#pragma once

#include <functional>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/verb_table.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "engine/config.hpp"
#include "engine/present.hpp"

namespace hull::cli {

struct EngineGlobals {
  std::string root = "/var/lib/hull";  // images, containers, networks (persistent)
  std::string run_root = "/run/hull";  // runtime state of running containers
  bool debug = false;
  std::string config_file;  // --config FILE or HULL_CONFIG; empty: the default file
  engine::Config config;    // what was read (main() sets it before the verb runs)
};

// A verb adds its subcommand to app and returns the function to run when chosen; that
// function returns the process exit status (docker's: 125 for errors of hull itself).
using EngineVerbs = VerbTable<EngineGlobals>;
using EngineVerbFactory = EngineVerbs::Factory;

inline bool register_engine_verb(const char* name, EngineVerbFactory factory) {
  return EngineVerbs::add(name, std::move(factory));
}

#define HULL_ENGINE_VERB(name, ...)                      \
  static const bool hull_engine_verb_registered_##name = \
      ::hull::cli::register_engine_verb(#name, __VA_ARGS__)

// Prints "hull: <message>" to stderr and returns docker's 125 (run, create: an error of the
// engine rather than of the program).
inline int engine_report(const Error& e) {
  log::error("{}", e.message);
  return 125;
}

// Prints "hull: <message>" to stderr and returns 1: the docker CLI's status for a failed
// request in the verbs that act on existing containers (stop, kill, rm, exec before the
// program starts, logs...): only run and create turn the engine's errors into 125.
inline int verb_failure(const Error& e) {
  log::error("{}", e.message);
  return 1;
}

// docker's `inspect` of named objects: each name through `find` (an error printed for one
// that fails, and exit 1, the others still shown), the ones found printed as one JSON
// array or each through the --format template.
inline int print_inspect(const std::vector<std::string>& names, std::string_view format,
                         const std::function<Result<Json>(const std::string&)>& find) {
  std::vector<Json> found;
  int rc = 0;
  for (const auto& name : names) {
    auto j = find(name);
    if (!j) {
      log::error("{}", j.error().message);
      rc = 1;
      continue;
    }
    found.push_back(std::move(*j));
  }
  auto out = engine::inspect_output(found, format);
  if (!out) return verb_failure(out.error());
  std::cout << *out;
  return rc;
}

// Prints "hull: <message>" to stderr and returns 125: the docker CLI's status for a flag
// whose value its own parser refuses (pflag's Set fails: a --filter without '=', a --label
// with an empty key), in every verb; other failures of the list verbs are 1.
inline int flag_error(const Error& e) {
  log::error("{}", e.message);
  return 125;
}

}  // namespace hull::cli

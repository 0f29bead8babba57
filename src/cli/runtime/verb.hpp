// hull-runtime's verbs: one file per verb, each registering itself with HULL_VERB so that
// adding a verb touches no other file. Flag parsing only; the work is in src/runtime.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace hull::cli {

struct Globals {
  std::string root = "/run/hull-runtime";
  std::string log_file;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  bool rootless_auto = false;
};

// A verb adds its subcommand to app and returns the function to run when chosen; that
// function returns the process exit status.
using VerbFactory = std::function<std::function<int()>(CLI::App& app, Globals& globals)>;

bool register_verb(const char* name, VerbFactory factory);

#define HULL_VERB(name, ...) \
  static const bool hull_verb_registered_##name = ::hull::cli::register_verb(#name, __VA_ARGS__)

}  // namespace hull::cli

#include "common/error.hpp"
#include "common/log.hpp"
#include "runtime/state.hpp"

namespace hull::cli {

// Logs the error (text or JSON per --log-format) and returns runc's exit status 1.
inline int report(const Error& e) {
  log::error("{}", e.message);
  return 1;
}

inline runtime::StateStore store_of(const Globals& g) {
  return runtime::StateStore(g.root);
}

}  // namespace hull::cli

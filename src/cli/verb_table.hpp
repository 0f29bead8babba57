// The verb registry both command lines share (hull and hull-runtime): each verb file
// registers a factory at static-initialisation time, main() adds every verb's
// subcommand to one CLI::App, parses, and runs the chosen one. Header-only: each tool
// instantiates it with its own global flags.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/log.hpp"

namespace hull::cli {

template <class Globals>
class VerbTable {
 public:
  // A verb adds its subcommand to app and returns the function to run when chosen; that
  // function returns the process exit status.
  using Run = std::function<int()>;
  using Factory = std::function<Run(CLI::App& app, Globals& globals)>;

  // Called from a static initialiser in each verb's file; returns true for that.
  static bool add(const char* name, Factory factory) {
    factories().emplace(name, std::move(factory));
    return true;
  }

  // The verb argv names: its first word that is neither a global flag nor the value of
  // one of valued_flags ("--root DIR"); empty when there is none.
  static std::string verb_in(int argc, char** argv,
                             std::initializer_list<std::string_view> valued_flags) {
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a == "--") break;
      if (!a.starts_with("-")) return std::string(a);
      for (std::string_view f : valued_flags)
        if (a == f) ++i;
    }
    return {};
  }

  // Adds every registered verb's subcommand to app, in name order; only `only`'s when it
  // names a registered verb (the others would cost start-up time for nothing).
  VerbTable(CLI::App& app, Globals& globals, const std::string& only = {}) : app_(app) {
    const bool one = factories().contains(only);
    for (auto& [name, factory] : factories()) {
      if (one && name != only) continue;
      // Each factory adds one subcommand; remember which runner belongs to which.
      size_t before = app.get_subcommands({}).size();
      auto run = factory(app, globals);
      auto subs = app.get_subcommands({});
      if (subs.size() > before) runners_.emplace_back(subs.back(), std::move(run));
    }
    // A word in the verb's place that names no verb (nor an alias of one): CLI11 would take
    // it for an extra argument and say only "A subcommand is required".
    if (!only.empty() && !one &&
        app.get_subcommands([&](CLI::App* sub) { return sub->check_name(only); }).empty())
      unknown_ = only;
  }

  // Parses argv. configure_log runs once the global flags are known, on a usage error
  // too, so that the error is written where and how they asked. Returns the exit status
  // when there is nothing left to run: 0 after --help or --version, usage_status after a
  // usage error (logged).
  std::optional<int> parse(int argc, char** argv, const std::function<void()>& configure_log,
                           int usage_status) {
    if (!unknown_.empty()) {
      configure_log();
      log::error("unknown command \"{}\" (see {} --help)", unknown_, app_.get_name());
      return usage_status;
    }
    try {
      app_.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      configure_log();
      if (e.get_exit_code() == 0) return app_.exit(e);
      log::error("{}", e.what());
      return usage_status;
    }
    configure_log();
    return std::nullopt;
  }

  // Runs the verb that was parsed; none_status if none was (require_subcommand stops that).
  // An exception that escapes a verb is a bug (a JSON member of an unexpected type, say):
  // it is reported as an error of the command, with none_status, instead of an abort.
  // Not in a child that forked from inside the verb: that one must not go on as this
  // command, so it aborts as before.
  int run(int none_status) const {
    const pid_t self = ::getpid();
    for (const auto& [sub, run] : runners_)
      if (sub->parsed()) {
        try {
          return run();
        } catch (const std::exception& e) {
          if (::getpid() != self) std::abort();
          log::error("internal error: {}", e.what());
          return none_status;
        }
      }
    return none_status;
  }

 private:
  std::string unknown_;  // the word in the verb's place, when it names none
  static std::map<std::string, Factory>& factories() {
    static std::map<std::string, Factory> table;
    return table;
  }

  CLI::App& app_;
  std::vector<std::pair<CLI::App*, Run>> runners_;
};

}  // namespace hull::cli

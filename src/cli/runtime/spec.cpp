// hull-runtime spec [--rootless] [--bundle DIR]: writes a default config.json.
#include <memory>

#include "cli/runtime/verb.hpp"
#include "common/log.hpp"
#include "oci/spec.hpp"

namespace hull::cli {
namespace {

struct SpecFlags {
  std::string bundle;
  bool rootless = false;
};

std::function<int()> add_spec(CLI::App& app, Globals&) {
  auto flags = std::make_shared<SpecFlags>();
  auto* sub = app.add_subcommand("spec", "create a new specification file (config.json)");
  sub->add_option("-b,--bundle", flags->bundle, "path to the root of the bundle directory");
  sub->add_flag("--rootless", flags->rootless, "generate a configuration for a rootless container");
  return [flags] {
    if (auto r = oci::create_spec_file(flags->bundle, oci::default_spec(flags->rootless)); !r) {
      log::error("{}", r.error().message);
      return 1;
    }
    return 0;
  };
}

}  // namespace
}  // namespace hull::cli

HULL_VERB(spec, hull::cli::add_spec);

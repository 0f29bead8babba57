// hull-runtime features: the runtime-spec features document on stdout.
#include <cstdio>

#include "cli/runtime/verb.hpp"
#include "oci/features.hpp"

namespace hull::cli {
namespace {

std::function<int()> add_features(CLI::App& app, Globals&) {
  app.add_subcommand("features", "show the enabled features (runtime-spec features.md)");
  return [] {
    std::string text = oci::features_document().dump(4);
    text += '\n';
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() ? 0 : 1;
  };
}

}  // namespace
}  // namespace hull::cli

HULL_VERB(features, hull::cli::add_features);

// JSON through nlohmann-json. Parsing throws; callers that run between clone and exec must
// parse before clone. parse_json turns a parse exception into an Error naming the source.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace hull {

using Json = nlohmann::json;

Result<Json> parse_json(std::string_view text, std::string_view source);

}  // namespace hull

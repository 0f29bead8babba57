// JSON through nlohmann-json. Parsing throws; callers that run between clone and exec must
// parse before clone. parse_json turns a parse exception into an Error naming the source.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace hull {

using Json = nlohmann::json;

// Deeper nesting of arrays and objects is refused by parse_json.
inline constexpr size_t kMaxJsonDepth = 512;

// Parses text; an error names `source`. Refuses nesting past kMaxJsonDepth. Catches every
// exception of the parser (syntax, and numbers too large for a double).
Result<Json> parse_json(std::string_view text, std::string_view source);

// Members of a parsed document that may be of any type (an image config, a manifest, a
// registry's answer): j[key] when j is an object and j[key] has the wanted type, else the
// default. Unlike Json::value, never throws on a wrong type.
inline std::string json_string(const Json& j, std::string_view key, std::string dflt = {}) {
  if (!j.is_object()) return dflt;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : dflt;
}
inline const Json& json_object(const Json& j, std::string_view key) {
  static const Json empty = Json::object();
  if (!j.is_object()) return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}
inline const Json& json_array(const Json& j, std::string_view key) {
  static const Json empty = Json::array();
  if (!j.is_object()) return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : empty;
}

}  // namespace hull

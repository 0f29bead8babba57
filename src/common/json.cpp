#include "common/json.hpp"

#include <algorithm>

namespace hull {

namespace {

// The deepest nesting of arrays and objects in text (brackets inside strings excluded), up
// to limit + 1.
size_t nesting(std::string_view text, size_t limit) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) break;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

Result<Json> parse_json(std::string_view text, std::string_view source) {
  // nlohmann parses any depth, but printing or copying the result recurses: 100000 levels
  // crashed hull on the stack, 10000 took seconds. No config, manifest or state needs more.
  if (nesting(text, kMaxJsonDepth) > kMaxJsonDepth)
    return failf("{}: JSON nested deeper than {} levels", source, kMaxJsonDepth);
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return failf("{}: malformed JSON at byte {}: {}", source, e.byte, e.what());
  } catch (const Json::exception& e) {
    // out_of_range: a number too large for a double (1e99999).
    return failf("{}: malformed JSON: {}", source, e.what());
  }
}

}  // namespace hull

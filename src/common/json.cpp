#include "common/json.hpp"

namespace hull {

Result<Json> parse_json(std::string_view text, std::string_view source) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return failf("{}: malformed JSON at byte {}: {}", source, e.byte, e.what());
  }
}

}  // namespace hull

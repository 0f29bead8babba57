// How docker prints image sizes, ages and ids (go-units HumanSize and HumanDuration).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hull::image {

// 4260000 -> "4.26MB" (decimal units, 3 significant digits, as docker's image sizes);
// go-units' HumanSize itself (prune's "Total reclaimed space") keeps 4.
std::string human_size(double bytes, int precision = 3);
// 90 -> "About a minute", for "... ago".
std::string human_duration(int64_t seconds);
// "sha256:a416a98b71e2..." -> "a416a98b71e2".
inline std::string short_id(std::string_view id) {
  if (id.starts_with("sha256:")) id.remove_prefix(7);
  return std::string(id.substr(0, 12));
}

}  // namespace hull::image

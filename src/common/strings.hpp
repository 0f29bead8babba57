// String helpers with no allocation beyond their results.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull {

inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

template <class Int>
std::optional<Int> parse_int(std::string_view s, int base = 10) {
  Int v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Text from outside (image names, file names in a layer, config values) made safe to
// print on a terminal: control characters other than newline and tab, DEL and the UTF-8
// encoded C1 controls (U+0080..U+009F: CSI and friends) become \xNN. Anything else,
// including valid or invalid UTF-8, passes unchanged.
inline std::string escape_controls(std::string_view s) {
  auto needs = [](std::string_view t, size_t i) {
    auto c = static_cast<unsigned char>(t[i]);
    if (c < 0x20) return c != '\n' && c != '\t';
    if (c == 0x7f) return true;
    return c == 0xc2 && i + 1 < t.size() && static_cast<unsigned char>(t[i + 1]) >= 0x80 &&
           static_cast<unsigned char>(t[i + 1]) <= 0x9f;
  };
  size_t i = 0;
  while (i < s.size() && !needs(s, i)) ++i;
  if (i == s.size()) return std::string(s);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(s.substr(0, i));
  for (; i < s.size(); ++i) {
    if (!needs(s, i)) {
      out += s[i];
      continue;
    }
    const size_t n = static_cast<unsigned char>(s[i]) == 0xc2 ? 2 : 1;
    for (size_t k = 0; k < n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    i += n - 1;
  }
  return out;
}

}  // namespace hull

#include "common/mountinfo.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

namespace hull {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      auto v = parse_int<int>(s.substr(i + 1, 3), 8);
      if (v) {
        out.push_back(static_cast<char>(*v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

std::vector<MountInfo> parse_mountinfo(std::string_view text) {
  std::vector<MountInfo> out;
  for (auto line : split(text, '\n')) {
    if (line.empty()) continue;
    auto f = split(line, ' ');
    // id parent major:minor root mount_point options [optional...] - fstype source super
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 2 >= f.size()) continue;
    MountInfo m;
    m.id = parse_int<int>(f[0]).value_or(0);
    m.parent = parse_int<int>(f[1]).value_or(0);
    m.root = unescape(f[3]);
    m.mount_point = unescape(f[4]);
    m.options = std::string(f[5]);
    if (dash + 1 < f.size()) m.fstype = std::string(f[dash + 1]);
    if (dash + 2 < f.size()) m.source = unescape(f[dash + 2]);
    if (dash + 3 < f.size()) m.super_options = std::string(f[dash + 3]);
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<MountInfo>> read_mountinfo(const std::string& path) {
  auto text = HULL_TRY(fs::read_file(path));
  return parse_mountinfo(text);
}

}  // namespace hull

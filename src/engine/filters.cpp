#include "engine/filters.hpp"

#include <algorithm>

namespace hull::engine {

Result<std::pair<std::string, std::string>> split_filter(std::string_view filter) {
  auto eq = filter.find('=');
  if (eq == std::string_view::npos)
    return failf("bad format of filter {:?} (expected name=value)", filter);
  return std::pair{std::string(filter.substr(0, eq)), std::string(filter.substr(eq + 1))};
}

Status check_filter_syntax(const std::vector<std::string>& filters) {
  for (const auto& f : filters) HULL_TRY(split_filter(f));
  return {};
}

bool label_matches(std::string_view wanted, const std::map<std::string, std::string>& labels) {
  auto eq = wanted.find('=');
  auto it = labels.find(std::string(wanted.substr(0, eq)));
  return it != labels.end() &&
         (eq == std::string_view::npos || it->second == wanted.substr(eq + 1));
}

Result<FilterArgs> FilterArgs::parse(const std::vector<std::string>& given,
                                     std::span<const Key> keys, std::string_view what) {
  FilterArgs f;
  for (const auto& arg : given) {
    auto [k, v] = HULL_TRY(split_filter(arg));
    auto key = std::find_if(keys.begin(), keys.end(), [&](const Key& x) { return x.name == k; });
    if (key == keys.end()) {
      std::string names;
      for (const auto& x : keys)
        names += fmt::format("{}{}",
                             names.empty()        ? ""
                             : &x == &keys.back() ? " and "
                                                  : ", ",
                             x.name);
      return failf("invalid filter {:?}: {} filters are {}", k, what, names);
    }
    switch (key->kind) {
      case Kind::regex:
        try {
          f.regexes_[k].emplace_back(v, std::regex::ECMAScript);
        } catch (const std::regex_error&) {
          return failf("invalid filter '{}={}': not a regular expression", k, v);
        }
        break;
      case Kind::boolean:
        if (v != "true" && v != "false" && v != "1" && v != "0")
          return failf("invalid filter '{}={}': want true or false", k, v);
        if (auto it = f.values_.find(k); it != f.values_.end()) {
          bool was = it->second.front() == "true" || it->second.front() == "1";
          if (was != (v == "true" || v == "1"))
            return failf("invalid filter {:?}: true and false both given", k);
        }
        break;
      case Kind::label:
        if (v.empty() || v.front() == '=')
          return failf("invalid filter '{}={}': no label name", k, v);
        break;
      case Kind::text:
        break;
    }
    f.values_[k].push_back(v);
  }
  return f;
}

const std::vector<std::string>& FilterArgs::values(std::string_view key) const {
  static const std::vector<std::string> none;
  auto it = values_.find(key);
  return it == values_.end() ? none : it->second;
}

bool FilterArgs::search(std::string_view key,
                        std::initializer_list<std::string_view> subjects) const {
  auto it = regexes_.find(key);
  if (it == regexes_.end()) return true;
  for (const auto& re : it->second)
    for (auto s : subjects)
      if (std::regex_search(s.begin(), s.end(), re)) return true;
  return false;
}

std::optional<bool> FilterArgs::boolean(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second.front() == "true" || it->second.front() == "1";
}

bool FilterArgs::labels_hold(const std::map<std::string, std::string>& labels) const {
  for (const auto& want : values("label"))
    if (!label_matches(want, labels)) return false;
  for (const auto& want : values("label!"))
    if (label_matches(want, labels)) return false;
  return true;
}

}  // namespace hull::engine

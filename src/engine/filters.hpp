// docker's --filter KEY=VALUE for the list and prune verbs (ps, images, image prune,
// network ls, volume ls and prune), as its filters.Args: every key given must hold; the
// values of one key are alternatives, except label=K[=V] and label!=K[=V], whose values
// must all hold.
#pragma once

#include <map>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hull::engine {

// One --filter argument, "key=value" (docker: "bad format of filter" without '=').
Result<std::pair<std::string, std::string>> split_filter(std::string_view filter);
// Every --filter argument is "key=value": the docker CLI checks that as it parses its flags
// (a usage error, 125), before the daemon judges the key and value (an error, 1).
Status check_filter_syntax(const std::vector<std::string>& filters);
// docker's label filter: "K" holds when the label is there, "K=V" when it has that value.
bool label_matches(std::string_view wanted, const std::map<std::string, std::string>& labels);

class FilterArgs {
 public:
  enum class Kind {
    text,     // any value; the verb checks it (a status name, an exit code, an image)
    regex,    // a regular expression, searched for (docker's filters.Match)
    boolean,  // true|false|1|0; all values given must agree
    label,    // K or K=V (label and label!)
  };
  struct Key {
    std::string_view name;
    Kind kind;
  };

  // `what` names the verb in the error for an unknown key ("network ls"). Errors name the
  // filter: an unknown key (with the keys there are), a value that is no regular
  // expression, a boolean that is neither true nor false or that contradicts another.
  static Result<FilterArgs> parse(const std::vector<std::string>& given, std::span<const Key> keys,
                                  std::string_view what);

  bool has(std::string_view key) const { return values_.find(key) != values_.end(); }
  // The values given for `key`, in order; empty when it was not given.
  const std::vector<std::string>& values(std::string_view key) const;

  // True when `key` was not given or `pred` holds for one of its values.
  template <class Pred>
  bool any(std::string_view key, Pred&& pred) const {
    auto it = values_.find(key);
    if (it == values_.end()) return true;
    for (const auto& v : it->second)
      if (pred(v)) return true;
    return false;
  }
  // A regex key: true when it was not given or one of its expressions is found in one of
  // `subjects`.
  bool search(std::string_view key, std::initializer_list<std::string_view> subjects) const;
  // A boolean key's value; nullopt when it was not given.
  std::optional<bool> boolean(std::string_view key) const;
  // Every label=... given holds for `labels`, and no label!=... does.
  bool labels_hold(const std::map<std::string, std::string>& labels) const;

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::map<std::string, std::vector<std::regex>, std::less<>> regexes_;
};

}  // namespace hull::engine

// docker's detach keys (`exec --detach-keys`): the key sequence that, typed on an attached
// terminal, leaves the program running and returns. The spec is moby/term's ToBytes
// grammar: comma-separated keys, each a single character or "ctrl-<v>" with <v> one of
// a-z @ [ \ ] ^ _ (ctrl-@ is 0, ctrl-a 1, ... ctrl-_ 31).
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace hull::detach_keys {

inline constexpr std::string_view kDefault = "ctrl-p,ctrl-q";

// The bytes of spec; empty spec is docker's default.
inline Result<std::string> parse(std::string_view spec) {
  if (spec.empty()) spec = kDefault;
  std::string out;
  for (size_t start = 0;;) {
    size_t comma = spec.find(',', start);
    std::string_view key =
        spec.substr(start, comma == std::string_view::npos ? spec.npos : comma - start);
    if (key.size() == 1) {
      out += key[0];
    } else if (key.size() == 6 && key.starts_with("ctrl-")) {
      char v = key[5];
      if (v >= 'a' && v <= 'z')
        out += static_cast<char>(v - 'a' + 1);
      else if (v == '@' || v == '[' || v == '\\' || v == ']' || v == '^' || v == '_')
        out += static_cast<char>(v - '@');
      else
        return failf("invalid detach keys {:?}: unknown key {:?}", spec, key);
    } else {
      return failf("invalid detach keys {:?}: unknown key {:?}", spec, key);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// Watches a terminal's input for the sequence: keys that may begin it are held back until
// it is complete (detach) or broken (then they go on as typed).
class Matcher {
 public:
  explicit Matcher(std::string keys) : keys_(std::move(keys)) {}
  // Appends to out what goes on to the program; true once the whole sequence was typed
  // (the rest of `in` is dropped, as docker's proxy drops it).
  bool feed(std::string_view in, std::string& out) {
    for (char ch : in) {
      if (keys_.empty()) {
        out += ch;
        continue;
      }
      if (ch != keys_[pos_] && pos_ > 0) {
        out.append(keys_, 0, pos_);
        pos_ = 0;
      }
      if (ch != keys_[pos_]) {
        out += ch;
        continue;
      }
      if (++pos_ == keys_.size()) {
        pos_ = 0;
        return true;
      }
    }
    return false;
  }

 private:
  std::string keys_;
  size_t pos_ = 0;
};

}  // namespace hull::detach_keys

// Typed reads from a parsed JSON document for the oci parsers (internal to src/oci).
// Every read checks the JSON type and range itself, so nothing throws, and every error
// names the field as a path such as `linux.namespaces[2].type`. The path is a chain of
// stack nodes rendered only when an error is reported: the success path builds no strings.
#pragma once

#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"

namespace hull::oci::detail {

class Path {
 public:
  Path() = default;
  explicit Path(std::string_view root) : key_(root) {}

  Path operator/(std::string_view key) const { return Path(this, key, kNoIndex); }
  Path operator[](size_t index) const { return Path(this, {}, index); }

  std::string str() const;

 private:
  static constexpr size_t kNoIndex = static_cast<size_t>(-1);
  Path(const Path* parent, std::string_view key, size_t index)
      : parent_(parent), key_(key), index_(index) {}
  void append_to(std::string& out) const;

  const Path* parent_ = nullptr;
  std::string_view key_;
  size_t index_ = kNoIndex;
};

// "path: message", or just the message at the document's root.
Error field_error(const Path& path, std::string_view message);

template <class... Args>
std::unexpected<Error> field_fail(const Path& path, fmt::format_string<Args...> f, Args&&... args) {
  return std::unexpected(field_error(path, fmt::format(f, std::forward<Args>(args)...)));
}

std::string_view json_type_name(const Json& j);

// The member, or nullptr when it is absent or null (Go's encoding/json, which wrote most
// config.json files, treats null as absent).
inline const Json* member(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status expect_object(const Json& j, const Path& path);
Status expect_array(const Json& j, const Path& path);

Result<std::string> read_string(const Json& j, const Path& path);
// A view into j: for names that are looked up in a table, not stored.
Result<std::string_view> read_string_view(const Json& j, const Path& path);
Result<bool> read_bool(const Json& j, const Path& path);
Result<std::vector<std::string>> read_strings(const Json& j, const Path& path);
Result<std::map<std::string, std::string>> read_string_map(const Json& j, const Path& path);

// Integers must be JSON integers within Int's range: no floats, no strings of digits.
Result<int64_t> read_int64(const Json& j, const Path& path, int64_t min, int64_t max);
Result<uint64_t> read_uint64(const Json& j, const Path& path, uint64_t max);

template <class Int>
Result<Int> read_int(const Json& j, const Path& path) {
  if constexpr (std::is_signed_v<Int>) {
    auto v = read_int64(j, path, std::numeric_limits<Int>::min(), std::numeric_limits<Int>::max());
    if (!v) return std::unexpected(std::move(v).error());
    return static_cast<Int>(*v);
  } else {
    auto v = read_uint64(j, path, std::numeric_limits<Int>::max());
    if (!v) return std::unexpected(std::move(v).error());
    return static_cast<Int>(*v);
  }
}

// read_value overloads: one per field type of the model.
inline Status read_value(const Json& j, const Path& path, std::string& out) {
  out = HULL_TRY(read_string(j, path));
  return {};
}
inline Status read_value(const Json& j, const Path& path, bool& out) {
  out = HULL_TRY(read_bool(j, path));
  return {};
}
inline Status read_value(const Json& j, const Path& path, std::vector<std::string>& out) {
  out = HULL_TRY(read_strings(j, path));
  return {};
}
inline Status read_value(const Json& j, const Path& path, std::map<std::string, std::string>& out) {
  out = HULL_TRY(read_string_map(j, path));
  return {};
}
template <class Int>
requires std::is_integral_v<Int> &&(!std::is_same_v<Int, bool>)Status
    read_value(const Json& j, const Path& path, Int& out) {
  out = HULL_TRY(read_int<Int>(j, path));
  return {};
}
template <class T>
Status read_value(const Json& j, const Path& path, std::optional<T>& out) {
  T value{};
  HULL_CHECK(read_value(j, path, value));
  out = std::move(value);
  return {};
}

// Reads member `key` into out when present; absent or null leaves out untouched.
template <class T>
Status read_member(const Json& obj, const Path& path, std::string_view key, T& out) {
  if (const Json* v = member(obj, key)) return read_value(*v, path / key, out);
  return {};
}

// Runs fn(element, path[i]) over an array member; absent or null is an empty array.
template <class Fn>
Status for_each_element(const Json& obj, const Path& path, std::string_view key, Fn&& fn) {
  const Json* arr = member(obj, key);
  if (!arr) return {};
  Path p = path / key;
  HULL_CHECK(expect_array(*arr, p));
  for (size_t i = 0; i < arr->size(); ++i) HULL_CHECK(fn((*arr)[i], p[i]));
  return {};
}

}  // namespace hull::oci::detail

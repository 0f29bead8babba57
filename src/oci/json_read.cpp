#include "oci/json_read.hpp"

namespace hull::oci::detail {

void Path::append_to(std::string& out) const {
  if (parent_) parent_->append_to(out);
  if (index_ != kNoIndex) {
    out += fmt::format("[{}]", index_);
  } else if (!key_.empty()) {
    if (!out.empty()) out += '.';
    out += key_;
  }
}

std::string Path::str() const {
  std::string out;
  append_to(out);
  return out;
}

Error field_error(const Path& path, std::string_view message) {
  std::string p = path.str();
  if (p.empty()) return Error{0, std::string(message)};
  return Error{0, fmt::format("{}: {}", p, message)};
}

std::string_view json_type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a fractional number";
    default:
      return "a binary value";
  }
}

Status expect_object(const Json& j, const Path& path) {
  if (!j.is_object()) return field_fail(path, "expected an object, got {}", json_type_name(j));
  return {};
}

Status expect_array(const Json& j, const Path& path) {
  if (!j.is_array()) return field_fail(path, "expected an array, got {}", json_type_name(j));
  return {};
}

Result<std::string> read_string(const Json& j, const Path& path) {
  if (!j.is_string()) return field_fail(path, "expected a string, got {}", json_type_name(j));
  return j.get_ref<const std::string&>();
}

Result<std::string_view> read_string_view(const Json& j, const Path& path) {
  if (!j.is_string()) return field_fail(path, "expected a string, got {}", json_type_name(j));
  return std::string_view(j.get_ref<const std::string&>());
}

Result<bool> read_bool(const Json& j, const Path& path) {
  if (!j.is_boolean()) return field_fail(path, "expected a boolean, got {}", json_type_name(j));
  return j.get<bool>();
}

Result<std::vector<std::string>> read_strings(const Json& j, const Path& path) {
  HULL_CHECK(expect_array(j, path));
  std::vector<std::string> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) out.push_back(HULL_TRY(read_string(j[i], path[i])));
  return out;
}

Result<std::map<std::string, std::string>> read_string_map(const Json& j, const Path& path) {
  HULL_CHECK(expect_object(j, path));
  std::map<std::string, std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it)
    out.emplace_hint(out.end(), it.key(), HULL_TRY(read_string(it.value(), path / it.key())));
  return out;
}

namespace {

// A JSON number that is not an integer (or is out of int64/uint64, which nlohmann stores as
// a double) is reported as such rather than silently truncated.
std::unexpected<Error> not_integer(const Json& j, const Path& path) {
  if (j.is_number_float())
    return field_fail(path, "expected an integer, got {} (fractional or out of range)", j.dump());
  return field_fail(path, "expected an integer, got {}", json_type_name(j));
}

}  // namespace

Result<int64_t> read_int64(const Json& j, const Path& path, int64_t min, int64_t max) {
  if (j.is_number_unsigned()) {
    uint64_t v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(max))
      return field_fail(path, "value {} out of range (maximum {})", v, max);
    return static_cast<int64_t>(v);
  }
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if (v < min || v > max)
      return field_fail(path, "value {} out of range ({} to {})", v, min, max);
    return v;
  }
  return not_integer(j, path);
}

Result<uint64_t> read_uint64(const Json& j, const Path& path, uint64_t max) {
  if (j.is_number_unsigned()) {
    uint64_t v = j.get<uint64_t>();
    if (v > max) return field_fail(path, "value {} out of range (maximum {})", v, max);
    return v;
  }
  if (j.is_number_integer())
    return field_fail(path, "value {} out of range (must not be negative)", j.get<int64_t>());
  return not_integer(j, path);
}

}  // namespace hull::oci::detail

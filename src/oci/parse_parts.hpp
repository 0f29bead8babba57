// The config.json parser's sections, one file each (internal to src/oci). Each reads an
// already parsed JSON value at `path` and validates what it can see on its own;
// cross-section rules (hostname needs a uts namespace, ...) are in spec_parse.cpp.
#pragma once

#include "oci/json_read.hpp"
#include "oci/spec.hpp"

namespace hull::oci::detail {

Result<Process> read_process(const Json& j, const Path& path);
Result<Linux> read_linux(const Json& j, const Path& path);
Result<Resources> read_resources(const Json& j, const Path& path);
Result<Seccomp> read_seccomp(const Json& j, const Path& path);

// Runs a section reader behind a catch: nlohmann may still throw on a case the readers did
// not foresee (or std::bad_alloc), and the API must not throw.
template <class Fn>
auto guarded(std::string_view source, Fn&& fn) -> decltype(fn()) {
  try {
    auto r = fn();
    if (!r && !source.empty()) return std::unexpected(std::move(r).error().wrap(source));
    return r;
  } catch (const std::exception& e) {
    if (source.empty()) return fail(e.what());
    return failf("{}: {}", source, e.what());
  }
}

// Parses a whole JSON document and reads it with read(json): the entry point of
// parse_spec, parse_process and parse_resources. Errors start with source.
template <class Reader>
auto parse_document(std::string_view text, std::string_view source, Reader&& read)
    -> decltype(read(std::declval<const Json&>())) {
  try {
    auto j = parse_json(text, source);  // its errors name the source already
    if (!j) return std::unexpected(std::move(j).error());
    auto r = read(*j);
    if (!r) return std::unexpected(std::move(r).error().wrap(source));
    return r;
  } catch (const std::exception& e) {
    return failf("{}: {}", source, e.what());
  }
}

bool is_absolute(std::string_view p);

}  // namespace hull::oci::detail

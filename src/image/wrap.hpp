// Adds context to a failed Result (GCC 12's std::expected has no transform_error).
#pragma once

#include <string_view>

#include "common/error.hpp"

namespace hull::image {

template <class T>
Result<T> with_context(Result<T> r, std::string_view context) {
  if (!r) return std::unexpected(std::move(r).error().wrap(context));
  return r;
}

}  // namespace hull::image

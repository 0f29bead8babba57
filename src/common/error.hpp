// Errors as values: every fallible library call returns Result<T>. An Error carries the
// errno (0 when the failure is not a syscall's) and a message that names the operation
// and the path, e.g. `mount "proc" on "/c/proc": operation not permitted`.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace hull {

struct Error {
  int code = 0;
  std::string message;

  // Prefixes context: `Error{EPERM, "x"}.wrap("create")` -> "create: x".
  [[nodiscard]] Error wrap(std::string_view context) const& {
    return Error{code, fmt::format("{}: {}", context, message)};
  }
  [[nodiscard]] Error wrap(std::string_view context) && {
    message = fmt::format("{}: {}", context, message);
    return std::move(*this);
  }
};

template <class T = void>
using Result = std::expected<T, Error>;
using Status = Result<void>;

// Lower-case strerror, the way runc and Go spell errno, so engines can match phrases
// such as "permission denied" or "no such file or directory".
std::string errno_string(int err);

inline std::unexpected<Error> fail(std::string message, int code = 0) {
  return std::unexpected(Error{code, std::move(message)});
}

// A failed syscall: the message gets errno's text appended.
inline std::unexpected<Error> sys_fail(std::string what, int err = errno) {
  return std::unexpected(Error{err, fmt::format("{}: {}", what, errno_string(err))});
}

template <class... Args>
std::unexpected<Error> failf(fmt::format_string<Args...> f, Args&&... args) {
  return fail(fmt::format(f, std::forward<Args>(args)...));
}

template <class... Args>
std::unexpected<Error> sys_failf(fmt::format_string<Args...> f, Args&&... args) {
  int err = errno;
  return sys_fail(fmt::format(f, std::forward<Args>(args)...), err);
}

}  // namespace hull

// Propagates an error from an expression yielding Result<T>; evaluates to the value.
#define HULL_TRY(expr)                                              \
  ({                                                                \
    auto hull_try_r_ = (expr);                                      \
    if (!hull_try_r_) return std::unexpected(std::move(hull_try_r_).error()); \
    std::move(hull_try_r_).value();                                 \
  })

// The same for Status (Result<void>).
#define HULL_CHECK(expr)                                                      \
  do {                                                                        \
    if (auto hull_check_r_ = (expr); !hull_check_r_)                          \
      return std::unexpected(std::move(hull_check_r_).error());               \
  } while (0)

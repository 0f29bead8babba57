// Runtime and engine logging. Text by default; with --log-format json each line is
// {"level":"error","msg":"...","time":"RFC3339"} as runc writes, which engines parse.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace hull::log {

enum class Level { debug, info, warn, error };
enum class Format { text, json };

// Where log lines go: a file (appended) or stderr when path is empty.
void configure(const std::string& path, Format format, bool debug);
void write(Level level, std::string_view msg);
bool debug_enabled();

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (debug_enabled()) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace hull::log

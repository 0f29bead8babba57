#include "common/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include "common/json.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"

namespace hull::log {
namespace {

struct Config {
  int fd = STDERR_FILENO;
  Format format = Format::text;
  bool debug = false;
  bool to_file = false;
};
Config g_config;

constexpr std::string_view level_name(Level l) {
  switch (l) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warning";
    case Level::error:
      return "error";
  }
  return "error";
}

}  // namespace

void configure(const std::string& path, Format format, bool debug) {
  g_config.format = format;
  g_config.debug = debug;
  if (g_config.to_file) ::close(g_config.fd);
  g_config.fd = STDERR_FILENO;
  g_config.to_file = false;
  if (!path.empty()) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd >= 0) {
      g_config.fd = fd;
      g_config.to_file = true;
    }
  }
}

bool debug_enabled() {
  return g_config.debug;
}

void write(Level level, std::string_view raw) {
  // Messages quote what came from outside (names, paths inside layers, config values):
  // no terminal escape sequence reaches the screen through them. JSON escapes its own.
  std::string escaped;
  std::string_view msg = raw;
  if (g_config.format == Format::text) msg = escaped = escape_controls(raw);
  std::string line;
  if (g_config.format == Format::json) {
    nlohmann::json j{{"level", level_name(level)}, {"msg", msg}, {"time", rfc3339_now()}};
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else if (g_config.to_file) {
    line = fmt::format("{} {}: {}\n", rfc3339_now(), level_name(level), msg);
  } else {
    line = fmt::format("{}\n", msg);
  }
  // One write per line so concurrent writers (runtime and its hooks) do not interleave.
  [[maybe_unused]] auto n = ::write(g_config.fd, line.data(), line.size());
  // runc and crun also show errors on stderr when logging to a file, as plain text in
  // either format: a person (or podman, which quotes stderr) sees why it failed, and an
  // engine reading the log file still gets them.
  if (g_config.to_file && level == Level::error) {
    if (escaped.empty()) escaped = escape_controls(raw);
    std::string plain = fmt::format("{}\n", escaped);
    n = ::write(STDERR_FILENO, plain.data(), plain.size());
  }
}

}  // namespace hull::log

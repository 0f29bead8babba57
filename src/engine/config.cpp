#include "engine/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include "common/json.hpp"
#include "common/unique_fd.hpp"
#include "image/reference.hpp"

namespace hull::engine {
namespace {

constexpr size_t kMaxConfigSize = 1 << 20;
constexpr std::array<std::string_view, 4> kKeys = {"data-root", "default-registry",
                                                   "insecure-registries", "registry-mirrors"};

Result<std::string> string_member(const Json& v, const std::string& path, std::string_view key) {
  if (!v.is_string())
    return failf("{}: {:?} must be a string, not {} {}", path, key,
                 v.is_array() || v.is_object() ? "an" : "a", v.type_name());
  return v.get<std::string>();
}

// A JSON array of strings, each through add (which names what is wrong with it).
Status each_string(const Json& v, const std::string& path, std::string_view key,
                   const std::function<Status(const std::string&)>& add) {
  if (!v.is_array())
    return failf("{}: {:?} must be an array of strings, not {} {}", path, key,
                 v.is_object() ? "an" : "a", v.type_name());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string())
      return failf("{}: {:?}[{}] must be a string, not {} {}", path, key, i,
                   v[i].is_array() || v[i].is_object() ? "an" : "a", v[i].type_name());
    if (auto st = add(v[i].get<std::string>()); !st)
      return std::unexpected(st.error().wrap(fmt::format("{}: {:?}[{}]", path, key, i)));
  }
  return {};
}

}  // namespace

std::string default_config_path(
    bool rootless, const std::function<std::optional<std::string>(const char*)>& getenv) {
  if (!rootless) return "/etc/hull/hull.json";
  // The XDG spec: a relative path is invalid and to be ignored.
  if (auto x = getenv("XDG_CONFIG_HOME"); x && x->starts_with('/')) return *x + "/hull/hull.json";
  if (auto h = getenv("HOME"); h && !h->empty()) return *h + "/.config/hull/hull.json";
  return {};
}

Result<Config> parse_config(std::string_view text, const std::string& path) {
  Config c;
  c.path = path;
  c.found = true;
  Json j = HULL_TRY(parse_json(text, path));
  if (!j.is_object())
    return failf("{}: the configuration must be a JSON object, not {} {}", path,
                 j.is_array() ? "an" : "a", j.type_name());
  for (auto& [key, v] : j.items()) {
    if (std::ranges::find(kKeys, key) == kKeys.end())
      return failf("{}: unknown key {:?} (hull knows {:?}, {:?}, {:?} and {:?})", path, key,
                   kKeys[0], kKeys[1], kKeys[2], kKeys[3]);
    if (v.is_null()) continue;  // as absent, as Go's decoder reads it
    if (key == "data-root") {
      std::string root = HULL_TRY(string_member(v, path, key));
      if (!root.starts_with('/'))
        return failf("{}: {:?} must be an absolute path, not {:?}", path, key, root);
      c.data_root = root;
    } else if (key == "default-registry") {
      std::string r = HULL_TRY(string_member(v, path, key));
      if (r.find('/') != std::string::npos)
        return failf("{}: {:?} {:?} is not host[:port] (no scheme, no path)", path, key, r);
      if (auto why = image::registry_problem(r); !why.empty())
        return failf("{}: {:?} {:?} is not host[:port]: {}", path, key, r, why);
      if (r == "index.docker.io" || r == "registry-1.docker.io") r = "docker.io";
      c.registries.default_registry = r;
    } else if (key == "insecure-registries") {
      HULL_CHECK(each_string(v, path, key,
                             [&](const std::string& e) { return c.registries.insecure.add(e); }));
    } else if (key == "registry-mirrors") {
      HULL_CHECK(each_string(v, path, key, [&](const std::string& m) -> Status {
        auto url = HULL_TRY(image::parse_mirror(m));
        if (std::ranges::find(c.registries.mirrors, url) == c.registries.mirrors.end())
          c.registries.mirrors.push_back(url);
        return {};
      }));
    }
  }
  return c;
}

Result<Config> load_config(const std::string& path, bool explicit_path) {
  Config defaults;
  defaults.path = path;
  if (path.empty()) return defaults;
  // O_NONBLOCK: a FIFO named by --config must not hang the command before fstat refuses it.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) {
    if (!explicit_path && (errno == ENOENT || errno == ENOTDIR)) return defaults;
    return sys_failf("configuration file {}", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_failf("configuration file {}: fstat", path);
  if (!S_ISREG(st.st_mode)) return failf("configuration file {} is not a regular file", path);
  if (size_t(st.st_size) > kMaxConfigSize)
    return failf("configuration file {} is {} bytes, over the {} byte limit", path, st.st_size,
                 kMaxConfigSize);
  std::string text(size_t(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_failf("configuration file {}: read", path);
    if (n == 0) break;
    got += size_t(n);
  }
  text.resize(got);
  return parse_config(text, path);
}

}  // namespace hull::engine

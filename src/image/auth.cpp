#include "image/auth.hpp"

#include <pwd.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "image/wrap.hpp"

namespace hull::image {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// docker keys Docker Hub as its v1 index URL; other registries by host[:port].
std::vector<std::string> keys_for(std::string_view registry) {
  if (registry == "docker.io" || registry == "index.docker.io" ||
      registry == "registry-1.docker.io")
    return {"https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"};
  return {std::string(registry), "https://" + std::string(registry),
          "http://" + std::string(registry)};
}

Result<Json> read_config(const std::string& path) {
  if (!fs::exists(path)) return Json::object();
  auto text = HULL_TRY(fs::read_file(path));
  if (text.empty()) return Json::object();
  auto j = HULL_TRY(parse_json(text, path));
  if (!j.is_object()) return failf("{}: not a JSON object", path);
  return j;
}

Status write_config(const std::string& path, const Json& j) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos) HULL_CHECK(fs::mkdir_p(path.substr(0, slash), 0700));
  // Through a symlink (dotfile managers link it), keeping an existing file's mode, as
  // docker's Save does; never a half-written file of credentials.
  return fs::write_output(path, j.dump(1, '\t') + "\n", 0600, /*durable=*/true);
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v =
        uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    out += kB64[v >> 18], out += kB64[(v >> 12) & 63], out += kB64[(v >> 6) & 63],
        out += kB64[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += kB64[v >> 18], out += kB64[(v >> 12) & 63], out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8;
    out += kB64[v >> 18], out += kB64[(v >> 12) & 63], out += kB64[(v >> 6) & 63], out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    const char* p = strchr(kB64, c);
    if (!p || !c) return fail("invalid base64");
    acc = (acc << 6) | uint32_t(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string auth_file_path(std::string_view file) {
  if (!file.empty()) return std::string(file);
  if (const char* d = getenv("DOCKER_CONFIG"); d && *d) return std::string(d) + "/config.json";
  const char* home = getenv("HOME");
  std::string h = home && *home ? home : "";
  if (h.empty())
    if (passwd* pw = getpwuid(getuid())) h = pw->pw_dir;
  return h + "/.docker/config.json";
}

Result<std::optional<Credentials>> find_credentials(std::string_view registry,
                                                    std::string_view file) {
  std::string path = auth_file_path(file);
  auto j = HULL_TRY(read_config(path));
  auto auths = j.find("auths");
  if (auths == j.end() || !auths->is_object()) return std::nullopt;
  for (auto& key : keys_for(registry)) {
    auto e = auths->find(key);
    if (e == auths->end() || !e->is_object()) continue;
    if (auto a = e->find("auth"); a != e->end() && a->is_string()) {
      auto dec = HULL_TRY(with_context(base64_decode(a->get<std::string>()),
                                       fmt::format("{}: auths.{}.auth", path, key)));
      auto colon = dec.find(':');
      if (colon == std::string::npos)
        return failf("{}: auths.{}.auth is not base64 of user:password", path, key);
      return Credentials{dec.substr(0, colon), dec.substr(colon + 1)};
    }
    if (e->contains("username") && e->contains("password")) {
      // Json::value throws on a member of another type: `"username": 5` aborted hull.
      if (!(*e)["username"].is_string() || !(*e)["password"].is_string())
        return failf("{}: auths.{}: username and password are not strings", path, key);
      return Credentials{json_string(*e, "username"), json_string(*e, "password")};
    }
  }
  return std::nullopt;
}

Status store_credentials(std::string_view registry, const Credentials& c, std::string_view file) {
  std::string path = auth_file_path(file);
  auto j = HULL_TRY(read_config(path));
  if (!j.contains("auths") || !j["auths"].is_object()) j["auths"] = Json::object();
  j["auths"][keys_for(registry).front()] = {{"auth", base64_encode(c.username + ":" + c.password)}};
  return write_config(path, j);
}

Result<bool> erase_credentials(std::string_view registry, std::string_view file) {
  std::string path = auth_file_path(file);
  auto j = HULL_TRY(read_config(path));
  if (!j.contains("auths") || !j["auths"].is_object()) return false;
  bool erased = false;
  for (auto& key : keys_for(registry)) erased |= j["auths"].erase(key) > 0;
  if (erased) HULL_CHECK(write_config(path, j));
  return erased;
}

}  // namespace hull::image

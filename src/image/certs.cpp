#include "image/certs.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "common/userns.hpp"

namespace hull::image {

std::vector<std::string> cert_roots(bool rootless, const EnvLookup& env) {
  std::vector<std::string> roots;
  if (rootless) {
    // The XDG spec: a relative path is invalid and to be ignored.
    if (auto x = env("XDG_CONFIG_HOME"); x && x->starts_with('/'))
      roots.push_back(*x + "/hull/certs.d");
    else if (auto h = env("HOME"); h && !h->empty())
      roots.push_back(*h + "/.config/hull/certs.d");
  }
  for (const char* d : {"/etc/hull/certs.d", "/etc/containers/certs.d", "/etc/docker/certs.d"})
    roots.emplace_back(d);
  return roots;
}

std::vector<std::string> default_cert_roots() {
  // A rootless engine runs as uid 0 of its own user namespace by the time it pulls.
  const bool rootless = ::geteuid() != 0 || userns::running_in_user_ns();
  return cert_roots(rootless, [](const char* n) {
    const char* v = ::getenv(n);
    return v ? std::optional<std::string>(v) : std::nullopt;
  });
}

Result<CertFiles> read_cert_dir(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return sys_failf("certificate directory {}", dir);
  // Sorted: the CA order and the client pair chosen do not depend on readdir's order.
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d.get())) {
    std::string_view n = e->d_name;
    if (n.ends_with(".crt") || n.ends_with(".cert") || n.ends_with(".key")) names.emplace_back(n);
  }
  std::sort(names.begin(), names.end());
  auto has = [&](const std::string& n) {
    return std::binary_search(names.begin(), names.end(), n);
  };
  CertFiles f;
  f.dir = dir;
  for (auto& n : names) {
    std::string path = dir + "/" + n;
    if (n.ends_with(".crt")) {
      f.ca_files.push_back(path);
    } else if (n.ends_with(".cert")) {
      std::string key = n.substr(0, n.size() - 5) + ".key";
      if (!has(key))
        return failf("client certificate {} has no key {} next to it (CA certificates end in .crt)",
                     path, key);
      if (f.cert.empty()) {
        f.cert = path;
        f.key = dir + "/" + key;
      }
    } else {
      std::string cert = n.substr(0, n.size() - 4) + ".cert";
      if (!has(cert)) return failf("key {} has no client certificate {} next to it", path, cert);
    }
  }
  return f;
}

Result<std::optional<CertFiles>> find_certs(std::string_view registry, const std::string& cert_dir,
                                            const std::vector<std::string>& roots) {
  if (!cert_dir.empty()) return HULL_TRY(read_cert_dir(cert_dir));
  // A registry name is host[:port]; anything that could leave the root is no directory.
  if (registry.empty() || registry == "." || registry == ".." ||
      registry.find('/') != std::string_view::npos)
    return std::nullopt;
  for (auto& root : roots) {
    std::string dir = root + "/" + std::string(registry);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return sys_failf("certificate directory {}", dir);
    }
    if (!S_ISDIR(st.st_mode)) continue;
    return HULL_TRY(read_cert_dir(dir));
  }
  return std::nullopt;
}

}  // namespace hull::image

// Per-registry TLS files in docker's certs.d layout (/etc/docker/certs.d, podman's
// /etc/containers/certs.d): a directory named after the registry as written in image
// names ("myreg:5000", "127.0.0.1:5000", "[::1]:5000") holding
//   *.crt            extra CA certificates for that registry (added to the system's)
//   NAME.cert + NAME.key   a client certificate and its key (mutual TLS)
// Other files are ignored, as docker and podman do.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hull::image {

struct CertFiles {
  std::string dir;                    // where they were found
  std::vector<std::string> ca_files;  // *.crt, full paths, sorted by name
  std::string cert, key;              // a client certificate and its key, or both empty
};

// The certs.d directories searched, first first. Root: /etc/hull/certs.d, then podman's
// /etc/containers/certs.d and docker's /etc/docker/certs.d. Rootless (as podman):
// $XDG_CONFIG_HOME/hull/certs.d (or ~/.config/hull/certs.d) before those.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;
std::vector<std::string> cert_roots(bool rootless, const EnvLookup& env);
// The same for this process (rootless: not uid 0 on the host).
std::vector<std::string> default_cert_roots();

// Reads one directory's files. A .cert without its .key (or a .key without its .cert) is
// an error naming the missing file. With several pairs, the first by name is used (curl
// takes one client certificate).
Result<CertFiles> read_cert_dir(const std::string& dir);

// The files for registry: with cert_dir (--cert-dir, as podman's: the files are directly
// in it) that directory, which must exist; otherwise <root>/<registry> of the first root
// where that directory exists (as podman: directories are not merged). nullopt: none.
Result<std::optional<CertFiles>> find_certs(std::string_view registry, const std::string& cert_dir,
                                            const std::vector<std::string>& roots);

}  // namespace hull::image

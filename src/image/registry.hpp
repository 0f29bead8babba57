// Distribution-spec v2 client (internal to image/): auth (anonymous, Basic, and the
// Bearer token flow from WWW-Authenticate), manifests, and blobs streamed to a file.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "image/auth.hpp"
#include "image/reference.hpp"
#include "image/registries.hpp"

namespace hull::image {

struct RegistryOptions {
  // Registries whose certificates are not verified; one that answers https in plain HTTP
  // is then spoken to in plain HTTP (docker's insecure-registries): hull.json's and the
  // --insecure-registry flags'.
  InsecureRegistries insecure;
  // A registry-mirrors URL ("https://host[:port]") that serves ref's docker.io repository
  // in place of docker.io; empty: the registry itself (or HULL_REGISTRY_MIRROR's).
  std::string mirror;
  std::string auth_file;
  std::optional<Credentials> credentials;  // overrides the auth file (login)
  // --tls-verify: false is `insecure` for every registry; true asks for verified https
  // even from a loopback registry. Unset: https, verified, except on loopback without a
  // certs.d entry (plain HTTP).
  std::optional<bool> tls_verify;
  std::string cert_dir;                 // --cert-dir (certs.hpp); empty: the certs.d roots
  std::vector<std::string> cert_roots;  // empty: default_cert_roots()
};

struct Manifest {
  std::string body, media_type, digest;
};

// A WWW-Authenticate header, `Bearer realm="...",service="...",scope="..."`: the scheme in
// lower case and the parameters by lower-case name. Exported for tests.
std::pair<std::string, std::map<std::string, std::string>> parse_challenge(std::string_view h);

// Every manifest kind hull understands, for Accept.
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";

class Registry {
 public:
  // Sets up a client for pulling ref's repository. No request is made: there is no /v2/
  // ping, the first request's 401 (if any) tells which auth the registry wants.
  static Result<Registry> connect(const Reference& ref, const RegistryOptions& opts);
  Registry(Registry&&) noexcept;
  ~Registry();

  Result<Manifest> manifest(std::string_view reference);
  // The repository's tags (GET /v2/<name>/tags/list, its Link pages followed), sorted.
  Result<std::vector<std::string>> tags();
  // A small blob (config) into memory, digest checked.
  Result<std::string> small_blob(const std::string& digest, int64_t max_size);
  // Streams a blob to sink, hashing it: each byte once and in order, also across
  // retries, which resume with Range (backoff on 5xx and dropped connections). The caller
  // checks the final digest. A failed sink ends the download with its error. cancel:
  // set by another download's failure.
  using BlobSink = std::function<Status(const char*, size_t)>;
  Status blob(const std::string& digest, int64_t size, const BlobSink& sink, Sha256& hash,
              const std::function<void(int64_t)>& on_bytes, const std::atomic<bool>& cancel);

  // GET /v2/ with the credentials (answering its challenge): what `hull login` checks.
  Status check();

  const std::string& base_url() const { return base_; }

 private:
  Registry() = default;
  struct Shared;
  // A GET of base_ + path for a small document (a manifest, a page of tags): retries,
  // the plain-HTTP fall-back and one answer to a 401 (pull scope; the credentials'
  // headers are taken at each attempt, extra_headers added). Body kept up to 4 MiB.
  struct Small;
  Result<Small> get_small(void* curl, const std::string& path,
                          const std::vector<std::string>& extra_headers);
  std::unique_ptr<Shared> s_;
  std::string base_;  // "http://127.0.0.1:5000"
  std::string host_;  // what base_ names: the registry, or docker.io's mirror
  Reference ref_;
};

}  // namespace hull::image

// `hull pull`: fetch an image from a registry into the Store. Blobs download in parallel,
// each streamed through sha256 into ROOT/tmp and renamed into place only when its digest
// matches; layers are then unpacked (once per diff id) and the image recorded.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "image/reference.hpp"
#include "image/store.hpp"

namespace hull::image {

struct Progress {
  enum class Phase { resolving, exists, waiting, downloading, verifying, extracting, done };
  std::string digest;  // the blob (empty for whole-image messages)
  Phase phase = Phase::waiting;
  int64_t current = 0, total = 0;
  std::string message;  // "Pulling from library/busybox", "Digest: sha256:..."
};

// How pull and login reach a registry: TLS verification and certificates (registry.hpp).
struct RegistryAccess {
  // Unverified https for these hosts, or plain HTTP if they answer in it.
  std::vector<std::string> insecure_registries;
  std::optional<bool> tls_verify;  // --tls-verify
  std::string cert_dir;            // --cert-dir: *.crt, *.cert + *.key; empty: certs.d
};

struct PullOptions {
  std::string platform;  // "os/arch[/variant]"; empty: the host's
  bool quiet = false;
  RegistryAccess access;
  std::function<void(const Progress&)> progress;
  std::string auth_file;  // docker config.json; empty: $DOCKER_CONFIG or ~/.docker
  int parallel = 4;
};

// The tags of ref's repository in its registry (`pull --all-tags`), sorted.
Result<std::vector<std::string>> list_tags(const Reference& ref, const PullOptions& opts);

// Returns the image id (config digest).
Result<std::string> pull(Store& store, std::string_view ref, const PullOptions& opts);

// The same with a store that may still be opening (a new store's SQLite index and its
// sync): the pull loads libcurl and fetches the manifest meanwhile, and calls
// store() once, when it first needs the store.
using StoreSource = std::function<Result<Store*>()>;
Result<std::string> pull(const StoreSource& store, std::string_view ref, const PullOptions& opts);

// Opens the Store at root on a thread of its own, then loads libarchive there for the
// unpacks to come; get() waits for the store only. For `hull pull`, whose network
// start-up (libcurl, the manifest) runs meanwhile.
class StoreOpener {
 public:
  explicit StoreOpener(std::string root);
  ~StoreOpener();
  StoreOpener(const StoreOpener&) = delete;
  StoreOpener& operator=(const StoreOpener&) = delete;
  Result<Store*> get();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Result<Store>> store_;  // set once, under mu_
  std::thread thread_;
};

// Checks username/password against a registry (`hull login`); does not store them.
Status check_login(std::string_view registry, const std::string& username,
                   const std::string& password, const RegistryAccess& access);

// "linux/amd64" and friends for the running host.
std::string host_platform();

// An image's platform, as indexes list them and --platform names them.
struct Platform {
  std::string os, arch, variant;
};

// "os/arch[/variant]" (--platform): a bad one is refused naming it, before any request.
Result<Platform> parse_platform(std::string_view s);

}  // namespace hull::image

// The content-addressed image store under ROOT (default /var/lib/hull):
//   ROOT/blobs/sha256/<hex>        manifests, configs and layer blobs as pulled
//   ROOT/layers/<diff hex>/diff    each layer unpacked once per diff id, shared
//   ROOT/layers/<diff hex>/link    its short name; ROOT/l/<short> -> ../layers/<hex>/diff
//   ROOT/images.db                 SQLite index: images, tags, layers, holds
// An image id is its config digest "sha256:...". Writers take an flock on ROOT/images.lock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"
#include "common/unique_fd.hpp"
#include "image/unpack.hpp"

struct sqlite3;

namespace hull::image {

// The parts of an image config a container is built from.
struct ImageConfig {
  std::vector<std::string> entrypoint, cmd, env;
  std::string working_dir, user, stop_signal;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::string os, architecture;
};

// Parses an OCI/Docker image config document.
Result<ImageConfig> parse_image_config(const Json& doc);

// One row of `hull images`.
struct ImageSummary {
  std::string id;                         // "sha256:..."
  std::vector<std::string> tags;          // "docker.io/library/busybox:latest"
  std::vector<std::string> repo_digests;  // "docker.io/library/busybox@sha256:..."
  int64_t created = 0;                    // unix seconds from the config
  int64_t size = 0;                       // bytes of unpacked layers
};

// A layer of an image as stored: the blob and the diff id of its unpacked content.
struct LayerRecord {
  std::string blob_digest;  // compressed (or not) blob as in the manifest
  std::string media_type;
  std::string diff_id;  // sha256 of the uncompressed tar
  int64_t blob_size = 0;
};

// A layer unpacked into ROOT/tmp with its diff id verified, not yet in the store:
// Store::commit_layer moves it in; dropped uncommitted, its directory is removed.
class StagedLayer {
 public:
  StagedLayer() = default;
  StagedLayer(std::string tmp, std::string diff_id, int64_t size)
      : tmp_(std::move(tmp)), diff_id_(std::move(diff_id)), size_(size) {}
  StagedLayer(StagedLayer&& o) noexcept;
  StagedLayer& operator=(StagedLayer&& o) noexcept;
  ~StagedLayer();
  const std::string& diff_id() const { return diff_id_; }

 private:
  friend class Store;
  std::string tmp_, diff_id_;
  int64_t size_ = 0;
};

// What pull, import and load hand to the store once every blob is verified and stored.
struct NewImage {
  std::string config_digest;    // the image id
  std::string manifest_digest;  // may be empty (import)
  std::string manifest_media_type;
  std::vector<LayerRecord> layers;  // bottom first
  std::vector<std::string> tags;    // full references to point at it
  std::string repo_digest;          // "registry/repo@sha256:..." or empty
};

class Store {
 public:
  static Result<Store> open(const std::string& root);
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  const std::string& root() const { return root_; }

  // Name ("busybox", "busybox:1", "reg/x@sha256:..."), full id or a short id prefix
  // (at least 4 hex digits) -> "sha256:<hex>".
  Result<std::string> resolve(std::string_view name_or_id) const;
  Result<ImageConfig> config(const std::string& id) const;
  // The image's config document as stored.
  Result<Json> config_json(const std::string& id) const;
  // docker's `image inspect` document for one image.
  Result<Json> inspect(const std::string& id) const;
  Result<std::vector<ImageSummary>> list() const;
  // Diff ids of the image, bottom layer first.
  Result<std::vector<LayerRecord>> layers(const std::string& id) const;

  // A container uses an image: rmi refuses while any hold exists (unless forced).
  Status hold(const std::string& image_id, const std::string& container_id);
  Status release(const std::string& container_id);

  // Points a full reference ("docker.io/library/x:tag") at an image.
  Status tag(const std::string& id, const std::string& full_ref);
  // Removes a tag, or the image when given an id or its last tag; returns docker's
  // "Untagged: ..." / "Deleted: ..." lines. Blobs and layers no image uses go too.
  Result<std::vector<std::string>> remove(std::string_view name_or_id, bool force);
  // Removes dangling (untagged) images, or with all every image no container holds.
  struct Pruned {
    std::vector<std::string> lines;  // docker's "untagged: ..." / "deleted: ..."
    int64_t reclaimed = 0;           // bytes of the layers and blobs removed
  };
  // want, when given, narrows the candidates further (prune --filter).
  Result<Pruned> prune(bool all, const std::function<bool(const std::string& id)>& want = {});

  // ---- content, used by pull, import, load, save ----
  std::string blob_path(std::string_view digest) const;
  bool has_blob(std::string_view digest) const;
  // A temp file in ROOT/tmp for a blob being written; commit_blob renames it in place.
  Result<std::pair<std::string, UniqueFd>> temp_file() const;
  Status commit_blob(const std::string& temp_path, std::string_view digest);
  // Writes a small blob (manifest, config) after checking its digest.
  Result<std::string> put_blob(std::string_view data);
  Result<std::string> read_blob(std::string_view digest) const;

  bool has_layer(std::string_view diff_id) const;
  // "ROOT/layers/<hex>/diff" of an unpacked layer.
  std::string layer_dir(std::string_view diff_id) const;
  // Unpacks a stored blob into a new layer dir; verifies the diff id when expected is
  // non-empty and returns the diff id. Nothing is left behind on failure.
  Result<std::string> unpack_layer(std::string_view blob_digest, std::string_view expected_diff_id);
  // Unpacks a stream (what, if not empty, names it in errors) into ROOT/tmp and verifies
  // the diff id when expected is non-empty: pull stages a layer while its blob downloads
  // and commits it only once the blob's digest has been checked too; import while it
  // copies its input into the blob.
  Result<StagedLayer> stage_layer(const ReadFn& read, std::string_view expected_diff_id,
                                  std::string_view what) const;
  // Moves a staged layer into ROOT/layers and records it; returns its diff id. A layer
  // another pull committed first is used instead.
  Result<std::string> commit_layer(StagedLayer layer);
  // Removes these blobs and layers unless an image references them: a failed pull's
  // leftovers.
  Status collect_garbage(const std::vector<std::string>& blobs,
                         const std::vector<std::string>& diff_ids);
  // Records the image and its tags in the index.
  Status add_image(const NewImage& img);
  // The exclusive writer lock (flock) for the whole store.
  Result<UniqueFd> lock() const;
  // Removes what a killed hull left in ROOT/tmp (downloads, unpacks, loads), when no
  // other process has the store open; returns how many entries went (0 when one has).
  Result<size_t> remove_stale_temp();

 private:
  Store() = default;
  std::string root_;
  sqlite3* db_ = nullptr;
  // ROOT/tmp, flock()ed shared while this store is open: every temp entry belongs to a
  // process that holds it, so when no one else does, whatever is there is stale.
  UniqueFd tmp_dir_;
};

}  // namespace hull::image

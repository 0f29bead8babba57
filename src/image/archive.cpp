// hull load / hull save: docker-archive (manifest.json) and oci-archive (index.json).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <optional>
#include <set>

#include "common/fs.hpp"
#include "common/sha256.hpp"
#include "image/import.hpp"
#include "image/pull.hpp"
#include "image/reference.hpp"
#include "image/registry.hpp"
#include "image/unpack.hpp"
#include "image/wrap.hpp"

namespace hull::image {
namespace {

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;

// Opens name beneath dirfd; a hostile archive's symlinks and ".." never lead outside.
Result<UniqueFd> open_beneath(int dirfd, const std::string& name) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = int(::syscall(SYS_openat2, dirfd, name.c_str(), &how, sizeof how));
  if (fd < 0) return sys_failf("open {} in the archive", name);
  return UniqueFd(fd);
}

Result<std::string> read_beneath(int dirfd, const std::string& name, size_t max = 64 << 20) {
  auto fd = HULL_TRY(open_beneath(dirfd, name));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_failf("read {}", name);
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > max) return failf("{} in the archive is too large", name);
  }
  return out;
}

// What a load has added to the store so far: on failure whatever no image references
// goes again (Store::collect_garbage), as after a failed pull.
struct Added {
  std::vector<std::string> blobs, layers;
};

// An archive lists at most this many images (manifest.json or index.json entries): a
// real one holds a few, and each entry costs a record in the store.
constexpr size_t kMaxImages = 10000;

// What this load has done already. An archive may list the same image many times (10000
// identical index.json entries with a 4 MiB layer took 28 s, each one hashing the blobs
// and recording the image again) and its images may share layers: each blob is hashed
// and adopted once, each image recorded once per name, each line printed once.
struct Seen {
  std::map<std::string, std::pair<std::string, int64_t>> blobs;  // archive name -> digest, size
  std::set<std::string> entries;                                 // entries recorded
  std::set<std::string> lines;                                   // lines printed

  void print(std::vector<std::string>& out, std::string line) {
    if (lines.insert(line).second) out.push_back(std::move(line));
  }
};

// A descriptor's "size", when it has one, must be the content's: the OCI image spec says
// content of another length is not to be trusted.
Status check_size(const Json& desc, int64_t got, std::string_view what) {
  if (!desc.is_object() || !desc.contains("size")) return {};
  const Json& s = desc["size"];
  if (!s.is_number_integer() || s.get<int64_t>() < 0)
    return failf("{}: the descriptor's size is not a byte count", what);
  if (s.get<int64_t>() != got)
    return failf("{} is {} bytes but its descriptor says {}", what, got, s.get<int64_t>());
  return {};
}

// Hashes the file and copies it into the store as a blob. With `expected` a file of
// another digest is refused before anything is stored.
Result<std::pair<std::string, int64_t>> adopt_blob(Store& store, int dirfd, const std::string& name,
                                                   Added& added, Seen& seen,
                                                   std::string_view expected = {}) {
  // The extracted archive is this load's own (ROOT/tmp, 0700): a name read once stays
  // what it was.
  if (auto it = seen.blobs.find(name); it != seen.blobs.end()) {
    if (!expected.empty() && it->second.first != expected)
      return failf("{} in the archive does not match its digest (it is {})", name,
                   it->second.first);
    return it->second;
  }
  auto fd = HULL_TRY(open_beneath(dirfd, name));
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode))
    return failf("{} in the archive is not a regular file", name);
  Sha256 h;
  std::vector<char> buf(1 << 17);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_failf("read {}", name);
    if (n == 0) break;
    h.update(buf.data(), size_t(n));
  }
  std::string digest = "sha256:" + h.hex_final();
  if (!expected.empty() && digest != expected)
    return failf("{} in the archive does not match its digest (it is {})", name, digest);
  if (!store.has_blob(digest)) {
    // Copy rather than rename: the name may be a hardlink the archive shares.
    auto [tmp, out] = HULL_TRY(store.temp_file());
    if (::lseek(fd.get(), 0, SEEK_SET) < 0) return sys_failf("seek {}", name);
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (::write(out.get(), buf.data(), size_t(n)) != n) {
        ::unlink(tmp.c_str());
        return sys_failf("write {}", tmp);
      }
    }
    HULL_CHECK(store.commit_blob(tmp, digest));
    added.blobs.push_back(digest);
  }
  return seen.blobs[name] = std::pair{digest, int64_t(st.st_size)};
}

Status unpack(Store& store, const std::string& digest, const std::string& diff_id, Added& added) {
  if (store.has_layer(diff_id)) return {};
  HULL_TRY(store.unpack_layer(digest, diff_id));
  added.layers.push_back(diff_id);
  return {};
}

std::string layer_media(Store& store, const std::string& digest) {
  std::string head(8, '\0');
  UniqueFd fd(::open(store.blob_path(digest).c_str(), O_RDONLY | O_CLOEXEC));
  ssize_t n = fd ? ::read(fd.get(), head.data(), head.size()) : 0;
  head.resize(size_t(std::max<ssize_t>(0, n)));
  std::string c = detect_compression(head);
  return c == "gzip"   ? "application/vnd.oci.image.layer.v1.tar+gzip"
         : c == "zstd" ? "application/vnd.oci.image.layer.v1.tar+zstd"
                       : "application/vnd.oci.image.layer.v1.tar";
}

// The config's diff ids, each a sha256 digest (as pull checks them): an empty one would
// let the layer unpack unverified and name the store's whole layers/ directory.
Result<std::vector<std::string>> diff_ids_of(const Json& cfg, std::string_view what) {
  std::vector<std::string> out;
  for (auto& d : json_array(json_object(cfg, "rootfs"), "diff_ids")) {
    std::string id = d.is_string() ? d.get<std::string>() : d.dump();
    if (!valid_digest(id)) return failf("{}: invalid diff id {:?}", what, id);
    out.push_back(std::move(id));
  }
  return out;
}

// An image of the archive as the store records it, kept for the entries that list it
// again (under another name).
struct Prepared {
  std::string manifest_digest, manifest_type, cfg_digest;
  std::string body;  // the manifest, until it is stored
  int64_t size = 0;  // of what the index entry names (a nested index's own size)
  std::vector<LayerRecord> layers;
};

Status record(Store& store, Prepared& p, std::vector<std::string> tags, Added& added) {
  if (!store.has_blob(p.manifest_digest)) {
    if (p.body.empty()) return failf("manifest {} is no longer stored", p.manifest_digest);
    HULL_TRY(store.put_blob(p.body));
    added.blobs.push_back(p.manifest_digest);
  }
  std::string().swap(p.body);  // stored: the next entry of this image needs no copy
  NewImage img;
  img.config_digest = p.cfg_digest;
  img.manifest_digest = p.manifest_digest;
  img.manifest_media_type = p.manifest_type;
  img.layers = p.layers;
  img.tags = std::move(tags);
  auto lk = HULL_TRY(store.lock());
  return store.add_image(img);
}

// A docker-archive image: its config and layers adopted, the layers unpacked, and the
// OCI manifest the store keeps for it.
Result<Prepared> prepare_docker(Store& store, int dir, const Json& e, Added& added, Seen& seen) {
  auto [cfg_digest, cfg_size] =
      HULL_TRY(adopt_blob(store, dir, e["Config"].get<std::string>(), added, seen));
  auto cfg_text = HULL_TRY(store.read_blob(cfg_digest));
  auto cfg = HULL_TRY(parse_json(cfg_text, e["Config"].get<std::string>()));
  auto diffs = HULL_TRY(diff_ids_of(cfg, e["Config"].get<std::string>()));
  if (diffs.size() != e["Layers"].size())
    return failf("manifest.json: {} layers but the config lists {} diff ids", e["Layers"].size(),
                 diffs.size());
  Prepared p;
  Json mlayers = Json::array();
  for (size_t i = 0; i < diffs.size(); ++i) {
    if (!e["Layers"][i].is_string()) return fail("manifest.json: layer path is not a string");
    auto [digest, size] =
        HULL_TRY(adopt_blob(store, dir, e["Layers"][i].get<std::string>(), added, seen));
    HULL_CHECK(unpack(store, digest, diffs[i], added));
    std::string media = layer_media(store, digest);
    p.layers.push_back({digest, media, diffs[i], size});
    mlayers.push_back({{"mediaType", media}, {"digest", digest}, {"size", size}});
  }
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", kOciManifest},
                   {"config",
                    {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                     {"digest", cfg_digest},
                     {"size", cfg_size}}},
                   {"layers", mlayers}};
  p.body = manifest.dump();
  p.manifest_digest = "sha256:" + Sha256::hex(p.body);
  p.manifest_type = kOciManifest;
  p.cfg_digest = cfg_digest;
  return p;
}

Result<std::vector<std::string>> load_docker(Store& store, int dir, Added& added) {
  auto text = HULL_TRY(read_beneath(dir, "manifest.json"));
  auto man = HULL_TRY(parse_json(text, "manifest.json"));
  if (!man.is_array()) return fail("manifest.json: not an array");
  if (man.empty()) return fail("manifest.json: no images in the archive");
  if (man.size() > kMaxImages)
    return failf("manifest.json: {} images, more than the {} an archive may hold", man.size(),
                 kMaxImages);
  std::vector<std::string> out;
  Seen seen;
  std::map<std::string, Prepared> prepared;  // by config and layer paths
  for (auto& e : man) {
    if (!e.is_object() || !e.contains("Config") || !e["Config"].is_string() ||
        !e.contains("Layers") || !e["Layers"].is_array())
      return fail("manifest.json: entry without Config or Layers");
    // Names first, before anything is stored: a bad one fails the load, as docker's.
    std::vector<std::string> tags, shown;
    if (e.contains("RepoTags") && !e["RepoTags"].is_null()) {
      if (!e["RepoTags"].is_array()) return fail("manifest.json: RepoTags is not an array");
      for (auto& t : e["RepoTags"]) {
        if (!t.is_string()) return fail("manifest.json: a RepoTags entry is not a string");
        // docker's RepoTags: a short name is docker.io's whatever hull's default registry.
        auto r = parse_reference(t.get<std::string>(), "docker.io");
        if (!r)
          return std::unexpected(
              r.error().wrap(fmt::format("manifest.json: RepoTags {:?}", t.get<std::string>())));
        if (!r->digest.empty())
          return failf("manifest.json: RepoTags {:?}: a digest is not a tag", t.get<std::string>());
        tags.push_back(r->str());
        shown.push_back(t.get<std::string>());
      }
    }
    std::string key = e["Config"].get<std::string>() + '\n' + e["Layers"].dump();
    if (!seen.entries.insert(key + '\n' + Json(tags).dump()).second) continue;  // done already
    auto it = prepared.find(key);
    if (it == prepared.end())
      it = prepared.emplace(key, HULL_TRY(prepare_docker(store, dir, e, added, seen))).first;
    HULL_CHECK(record(store, it->second, tags, added));
    if (tags.empty()) seen.print(out, "Loaded image ID: " + it->second.cfg_digest);
    for (auto& t : shown) seen.print(out, "Loaded image: " + t);
  }
  return out;
}

// An oci-archive image from its index.json entry m: the manifest (of this host's platform
// when m names an index) verified, its config and layers adopted, the layers unpacked.
Result<Prepared> prepare_oci(Store& store, int dir, const Json& m, Added& added, Seen& seen) {
  auto blob_name = [](const std::string& d) { return "blobs/sha256/" + d.substr(7); };
  std::string digest = json_string(m, "digest"), media = json_string(m, "mediaType");
  // A manifest or index the descriptor desc names, its digest and size checked.
  auto read_manifest = [&](const Json& desc, const std::string& d,
                           std::string_view what) -> Result<std::string> {
    auto text = HULL_TRY(read_beneath(dir, blob_name(d), 8 << 20));
    if ("sha256:" + Sha256::hex(text) != d)
      return failf("{}manifest {} does not match its digest", what, d);
    HULL_CHECK(check_size(desc, int64_t(text.size()), fmt::format("{}manifest {}", what, d)));
    return text;
  };
  auto body = HULL_TRY(read_manifest(m, digest, "index.json: "));
  Prepared p;
  p.size = int64_t(body.size());
  auto mj = HULL_TRY(parse_json(body, digest));
  if (media == kOciIndex || media == kDockerList || mj.contains("manifests")) {
    // A nested index: take this host's platform.
    std::string want = host_platform();
    const Json* found = nullptr;
    for (auto& sub : json_array(mj, "manifests")) {
      const Json& pl = json_object(sub, "platform");
      if (json_string(pl, "os") + "/" + json_string(pl, "architecture") ==
          want.substr(0, want.find('/', 6)))
        found = &sub;
    }
    if (!found || !valid_digest(json_string(*found, "digest")))
      return failf("index.json: no manifest for {} in {}", want, digest);
    const Json sub = *found;
    digest = json_string(sub, "digest");
    body = HULL_TRY(read_manifest(sub, digest, ""));
    mj = HULL_TRY(parse_json(body, digest));
  }
  if (!mj.is_object() || !mj.contains("config") || !mj.contains("layers") ||
      !mj["layers"].is_array())
    return failf("manifest {}: no config or layers", digest);
  std::string cfg_digest = json_string(json_object(mj, "config"), "digest");
  if (!valid_digest(cfg_digest)) return failf("manifest {}: invalid config digest", digest);
  auto [got_cfg, cfg_size] =
      HULL_TRY(adopt_blob(store, dir, blob_name(cfg_digest), added, seen, cfg_digest));
  HULL_CHECK(check_size(json_object(mj, "config"), cfg_size, "config " + cfg_digest));
  auto cfg = HULL_TRY(parse_json(HULL_TRY(store.read_blob(cfg_digest)), cfg_digest));
  auto diffs = HULL_TRY(diff_ids_of(cfg, "config " + cfg_digest));
  if (diffs.size() != mj["layers"].size())
    return failf("manifest {}: {} layers but {} diff ids", digest, mj["layers"].size(),
                 diffs.size());
  for (size_t i = 0; i < diffs.size(); ++i) {
    std::string ld = json_string(mj["layers"][i], "digest");
    if (!valid_digest(ld)) return failf("manifest {}: invalid layer digest", digest);
    auto [got, size] = HULL_TRY(adopt_blob(store, dir, blob_name(ld), added, seen, ld));
    HULL_CHECK(check_size(mj["layers"][i], size, "layer " + ld));
    HULL_CHECK(unpack(store, ld, diffs[i], added));
    p.layers.push_back(
        {ld, json_string(mj["layers"][i], "mediaType", layer_media(store, ld)), diffs[i], size});
  }
  p.manifest_type = json_string(mj, "mediaType", kOciManifest);
  p.manifest_digest = digest;
  p.cfg_digest = cfg_digest;
  p.body = std::move(body);
  return p;
}

Result<std::vector<std::string>> load_oci(Store& store, int dir, Added& added) {
  auto text = HULL_TRY(read_beneath(dir, "index.json"));
  auto index = HULL_TRY(parse_json(text, "index.json"));
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array() ||
      index["manifests"].empty())
    return fail("index.json: no manifests");
  if (index["manifests"].size() > kMaxImages)
    return failf("index.json: {} manifests, more than the {} an archive may hold",
                 index["manifests"].size(), kMaxImages);
  std::vector<std::string> out;
  Seen seen;
  std::map<std::string, Prepared> prepared;  // by the entry's digest and media type
  for (auto& m : index["manifests"]) {
    if (!m.is_object()) return fail("index.json: a manifests entry is not an object");
    std::string digest = json_string(m, "digest"), media = json_string(m, "mediaType");
    if (!valid_digest(digest)) return failf("index.json: invalid digest {:?}", digest);
    // The name first, before anything of the entry is stored.
    std::vector<std::string> tags;
    const Json& ann = json_object(m, "annotations");
    std::string name = json_string(ann, "io.containerd.image.name");
    std::string refname = json_string(ann, "org.opencontainers.image.ref.name");
    if (name.empty() && !refname.empty())
      name = refname.find(':') == std::string::npos && refname.find('/') == std::string::npos
                 ? "localhost/image:" + refname
                 : refname;
    if (!name.empty()) {
      auto r = parse_reference(name, "docker.io");
      if (!r) return std::unexpected(r.error().wrap(fmt::format("index.json: name {:?}", name)));
      if (!r->digest.empty()) return failf("index.json: name {:?}: a digest is not a tag", name);
      tags.push_back(r->str());
    }
    std::string key = digest + '\n' + media;
    auto it = prepared.find(key);
    if (it == prepared.end())
      it = prepared.emplace(key, HULL_TRY(prepare_oci(store, dir, m, added, seen))).first;
    else
      HULL_CHECK(check_size(m, it->second.size, "index.json: manifest " + digest));
    // The same image under the same name again: recorded already.
    if (!seen.entries.insert(key + '\n' + name).second) continue;
    HULL_CHECK(record(store, it->second, tags, added));
    seen.print(
        out, tags.empty() ? "Loaded image ID: " + it->second.cfg_digest : "Loaded image: " + name);
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> load_archive(Store& store, const std::string& path) {
  UniqueFd owned;
  int in = STDIN_FILENO;
  if (path != "-") {
    owned.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned) return sys_failf("open {}", path);
    in = owned.get();
  }
  auto [marker, mfd] = HULL_TRY(store.temp_file());
  ::unlink(marker.c_str());
  std::string tmpdir = marker + ".load";
  if (::mkdir(tmpdir.c_str(), 0700) < 0) return sys_failf("mkdir {}", tmpdir);
  Added added;
  auto result = [&]() -> Result<std::vector<std::string>> {
    auto dir = HULL_TRY(fs::open_dir(tmpdir));
    HULL_TRY(with_context(unpack_tar(in, dir.get()), fmt::format("load {}", path)));
    struct stat st {};
    if (::fstatat(dir.get(), "manifest.json", &st, AT_SYMLINK_NOFOLLOW) == 0)
      return load_docker(store, dir.get(), added);
    if (::fstatat(dir.get(), "index.json", &st, AT_SYMLINK_NOFOLLOW) == 0)
      return load_oci(store, dir.get(), added);
    return failf("load {}: neither manifest.json (docker-archive) nor index.json (oci-archive)",
                 path);
  }();
  (void)fs::remove_all(tmpdir);
  // Images recorded before a failure keep theirs; the rest goes.
  if (!result) (void)store.collect_garbage(added.blobs, added.layers);
  return result;
}

namespace {

Status add_entry(struct archive* a, const std::string& name, int64_t size) {
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_size(e, size);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_mtime(e, 0, 0);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK) return failf("write {}: {}", name, archive_error_string(a));
  return {};
}

Status add_bytes(struct archive* a, const std::string& name, std::string_view data) {
  HULL_CHECK(add_entry(a, name, int64_t(data.size())));
  if (archive_write_data(a, data.data(), data.size()) != la_ssize_t(data.size()))
    return failf("write {}: {}", name, archive_error_string(a));
  return {};
}

Status add_file(struct archive* a, const std::string& name, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return sys_failf("stat {}", path);
  HULL_CHECK(add_entry(a, name, st.st_size));
  std::vector<char> buf(1 << 17);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_failf("read {}", path);
    if (n == 0) break;
    if (archive_write_data(a, buf.data(), size_t(n)) != n)
      return failf("write {}: {}", name, archive_error_string(a));
  }
  return {};
}

// The uncompressed tar of a stored layer blob, in a temp file (docker-archive wants tar).
Result<std::string> decompressed(Store& store, const LayerRecord& l) {
  ArchivePtr r(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(r.get());
  archive_read_support_format_raw(r.get());
  std::string blob = store.blob_path(l.blob_digest);
  if (archive_read_open_filename(r.get(), blob.c_str(), 1 << 17) != ARCHIVE_OK)
    return failf("open {}: {}", blob, archive_error_string(r.get()));
  struct archive_entry* e;
  if (archive_read_next_header(r.get(), &e) != ARCHIVE_OK)
    return failf("read {}: {}", blob, archive_error_string(r.get()));
  auto [tmp, fd] = HULL_TRY(store.temp_file());
  std::vector<char> buf(1 << 17);
  Sha256 h;
  for (;;) {
    la_ssize_t n = archive_read_data(r.get(), buf.data(), buf.size());
    if (n < 0) {
      ::unlink(tmp.c_str());
      return failf("decompress {}: {}", blob, archive_error_string(r.get()));
    }
    if (n == 0) break;
    h.update(buf.data(), size_t(n));
    if (::write(fd.get(), buf.data(), size_t(n)) != n) {
      ::unlink(tmp.c_str());
      return sys_failf("write {}", tmp);
    }
  }
  if ("sha256:" + h.hex_final() != l.diff_id) {
    ::unlink(tmp.c_str());
    return failf("layer blob {} does not decompress to its diff id {}", l.blob_digest, l.diff_id);
  }
  return tmp;
}

}  // namespace

Status save_archive(Store& store, const std::vector<std::string>& names, const std::string& path,
                    ArchiveFormat format) {
  if (names.empty()) return fail("save: no images named");
  // Declared first, so the archive (which writes to its fd) is freed before it closes.
  std::optional<fs::OutputFile> out;
  if (path != "-") {
    auto o = fs::OutputFile::create(path);
    if (!o) return std::unexpected(std::move(o).error().wrap("save"));
    out.emplace(std::move(*o));
  }
  ArchivePtr a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_fd(a.get(), out ? out->fd() : STDOUT_FILENO) != ARCHIVE_OK)
    return failf("save to {}: {}", path, archive_error_string(a.get()));
  auto body = [&]() -> Status {
    std::set<std::string> written;
    Json docker_manifest = Json::array();
    Json index = {{"schemaVersion", 2}, {"manifests", Json::array()}};
    for (auto& n : names) {
      std::string id = HULL_TRY(store.resolve(n));
      auto layers = HULL_TRY(store.layers(id));
      auto insp = HULL_TRY(store.inspect(id));
      std::string hex = id.substr(7);
      if (written.insert(id).second)
        HULL_CHECK(add_file(a.get(), "blobs/sha256/" + hex, store.blob_path(id)));
      std::vector<std::string> tags;
      auto ref = parse_reference(n);
      bool by_name = ref && ref->digest.empty() && !n.starts_with("sha256:") &&
                     !(n.size() >= 4 && id.substr(7).starts_with(n));
      if (by_name) tags.push_back(ref->str());
      if (format == ArchiveFormat::docker) {
        Json lpaths = Json::array();
        for (auto& l : layers) {
          std::string lname = "blobs/sha256/" + l.diff_id.substr(7);
          if (written.insert(l.diff_id).second) {
            auto tmp = HULL_TRY(decompressed(store, l));
            auto st = add_file(a.get(), lname, tmp);
            ::unlink(tmp.c_str());
            HULL_CHECK(st);
          }
          lpaths.push_back(lname);
        }
        Json repo_tags = Json::array();
        for (auto& t : tags) {
          auto rr = parse_reference(t, "docker.io");
          repo_tags.push_back(rr->familiar_name() + ":" + rr->tag);
        }
        docker_manifest.push_back(
            {{"Config", "blobs/sha256/" + hex}, {"RepoTags", repo_tags}, {"Layers", lpaths}});
      } else {
        std::string mdigest = json_string(json_object(insp, "Metadata"), "ManifestDigest");
        if (!store.has_blob(mdigest)) return failf("save {}: its manifest is not stored", n);
        auto mbody = HULL_TRY(store.read_blob(mdigest));
        if (written.insert(mdigest).second)
          HULL_CHECK(add_bytes(a.get(), "blobs/sha256/" + mdigest.substr(7), mbody));
        for (auto& l : layers) {
          if (!store.has_blob(l.blob_digest))
            return failf("save {}: layer blob {} is not stored", n, l.blob_digest);
          if (written.insert(l.blob_digest).second)
            HULL_CHECK(add_file(a.get(), "blobs/sha256/" + l.blob_digest.substr(7),
                                store.blob_path(l.blob_digest)));
        }
        auto mj = HULL_TRY(parse_json(mbody, mdigest));
        Json desc = {{"mediaType", json_string(mj, "mediaType", kOciManifest)},
                     {"digest", mdigest},
                     {"size", mbody.size()}};
        if (!tags.empty())
          desc["annotations"] = {
              {"io.containerd.image.name", tags[0]},
              {"org.opencontainers.image.ref.name", parse_reference(tags[0], "docker.io")->tag}};
        index["manifests"].push_back(desc);
      }
    }
    if (format == ArchiveFormat::docker) {
      HULL_CHECK(add_bytes(a.get(), "manifest.json", docker_manifest.dump()));
    } else {
      HULL_CHECK(add_bytes(a.get(), "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
      HULL_CHECK(add_bytes(a.get(), "index.json", index.dump()));
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK)
      return failf("save to {}: {}", path, archive_error_string(a.get()));
    return {};
  }();
  if (!body) return body;  // the temp file goes with `out`
  if (out) return with_context(out->commit(), "save");
  return {};
}

}  // namespace hull::image

#include "image/import.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include "common/sha256.hpp"
#include "image/pull.hpp"
#include "image/reference.hpp"
#include "image/unpack.hpp"

namespace hull::image {
namespace {

std::string now_rfc3339() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  std::tm tm{};
  ::gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09d}Z", buf, ts.tv_nsec);
}

}  // namespace

Result<std::string> import_rootfs(Store& store, const std::string& path, std::string_view ref_str) {
  auto ref = HULL_TRY(parse_reference(ref_str));
  if (!ref.digest.empty()) return failf("import: cannot tag with a digest: {}", ref_str);
  UniqueFd owned;
  int in = STDIN_FILENO;
  if (path != "-") {
    owned.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned) return sys_failf("open {}", path);
    in = owned.get();
  }
  // Copy the stream into a blob, hashing as it goes: the tarball may be a pipe.
  auto [tmp, fd] = HULL_TRY(store.temp_file());
  Sha256 h;
  std::vector<char> buf(1 << 17);
  std::string head;
  int64_t total = 0;
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return sys_fail(fmt::format("read {}", path), err);
    }
    if (n == 0) break;
    if (head.size() < 8) head.append(buf.data(), std::min<size_t>(size_t(n), 8 - head.size()));
    h.update(buf.data(), size_t(n));
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(fd.get(), buf.data() + off, size_t(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return sys_fail(fmt::format("write {}", tmp), err);
      }
      off += w;
    }
    total += n;
  }
  if (total == 0) {
    ::unlink(tmp.c_str());
    return failf("import {}: empty input", path);
  }
  std::string blob = "sha256:" + h.hex_final();
  if (store.has_blob(blob))
    ::unlink(tmp.c_str());
  else
    HULL_CHECK(store.commit_blob(tmp, blob));
  std::string comp = detect_compression(head);
  std::string media = comp == "gzip"   ? "application/vnd.oci.image.layer.v1.tar+gzip"
                      : comp == "zstd" ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                       : "application/vnd.oci.image.layer.v1.tar";
  auto diff_id = store.unpack_layer(blob, comp.empty() ? blob : std::string());
  if (!diff_id) {
    if (!store.has_layer(blob)) ::unlink(store.blob_path(blob).c_str());
    return std::unexpected(std::move(diff_id).error().wrap(fmt::format("import {}", path)));
  }
  std::string plat = host_platform();
  std::string os = plat.substr(0, plat.find('/'));
  std::string rest = plat.substr(plat.find('/') + 1);
  std::string arch = rest.substr(0, rest.find('/'));
  std::string created = now_rfc3339();
  Json cfg = {
      {"architecture", arch},
      {"os", os},
      {"created", created},
      {"config", Json::object()},
      {"rootfs", {{"type", "layers"}, {"diff_ids", Json::array({*diff_id})}}},
      {"history",
       Json::array({{{"created", created}, {"comment", fmt::format("Imported from {}", path)}}})},
  };
  std::string cfg_text = cfg.dump();
  std::string cfg_digest = HULL_TRY(store.put_blob(cfg_text));
  Json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", cfg_digest},
        {"size", cfg_text.size()}}},
      {"layers", Json::array({{{"mediaType", media}, {"digest", blob}, {"size", total}}})},
  };
  std::string man_digest = HULL_TRY(store.put_blob(manifest.dump()));
  NewImage img;
  img.config_digest = cfg_digest;
  img.manifest_digest = man_digest;
  img.manifest_media_type = "application/vnd.oci.image.manifest.v1+json";
  img.layers.push_back({blob, media, *diff_id, total});
  img.tags.push_back(ref.str());
  auto lk = HULL_TRY(store.lock());
  HULL_CHECK(store.add_image(img));
  return cfg_digest;
}

}  // namespace hull::image

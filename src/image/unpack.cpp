#include "image/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "common/sha256.hpp"
#include "common/unique_fd.hpp"

namespace hull::image {
namespace {

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;

// The outer archive decompresses ("raw" format, any filter); the inner one parses tar
// from the outer's output. The bytes pass through sha256 in between: that is the diff id.
struct Chain {
  struct archive* outer = nullptr;
  Sha256 hash;
  std::vector<char> buf = std::vector<char>(1 << 17);
  std::string error;
  bool eof = false;
};

la_ssize_t chain_read(struct archive* inner, void* data, const void** out) {
  auto* c = static_cast<Chain*>(data);
  if (c->eof) return 0;
  la_ssize_t n = archive_read_data(c->outer, c->buf.data(), c->buf.size());
  if (n < 0) {
    c->error = archive_error_string(c->outer) ? archive_error_string(c->outer) : "read error";
    archive_set_error(inner, EIO, "%s", c->error.c_str());
    return -1;
  }
  if (n == 0) c->eof = true;
  c->hash.update(c->buf.data(), size_t(n));
  *out = c->buf.data();
  return n;
}

bool is_root() {
  return ::geteuid() == 0;
}

Status remove_at(int dirfd, const char* name) {
  if (::unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR) return sys_failf("unlink {}", name);
  UniqueFd d(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d) return sys_failf("open {}", name);
  DIR* dir = ::fdopendir(::dup(d.get()));
  if (!dir) return sys_failf("opendir {}", name);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
  ::closedir(dir);
  for (auto& n : names) HULL_CHECK(remove_at(d.get(), n.c_str()));
  if (::unlinkat(dirfd, name, AT_REMOVEDIR) < 0) return sys_failf("rmdir {}", name);
  return {};
}

// Splits an entry name into its components; refuses absolute names and "..".
Result<std::vector<std::string>> components(const char* raw, const char* what) {
  if (!raw) return failf("{} with no name", what);
  std::string_view p(raw);
  if (p.starts_with('/')) return failf("refusing absolute {} name {:?}", what, p);
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view c = p.substr(start, end - start);
    if (c == "..") return failf("refusing {} name with \"..\": {:?}", what, p);
    if (!c.empty() && c != ".") out.emplace_back(c);
    start = end + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& c, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? "/" : "") + c[i];
  return s;
}

class Extractor {
 public:
  explicit Extractor(int root) : root_(root) {}

  Status entry(struct archive* a, struct archive_entry* e) {
    auto comps = HULL_TRY(components(archive_entry_pathname(e), "entry"));
    if (comps.empty()) return {};  // "./" itself: the layer root keeps its own metadata
    std::string path = joined(comps, comps.size());
    const std::string& base = comps.back();
    int parent = HULL_TRY(open_parent(comps, true));

    if (base.starts_with(".wh.")) {
      if (base == ".wh..wh..opq") {
        if (::fsetxattr(parent, "trusted.overlay.opaque", "y", 1, 0) < 0 && is_root())
          return sys_failf("setxattr trusted.overlay.opaque on {}",
                           joined(comps, comps.size() - 1));
        return {};
      }
      if (base.starts_with(".wh..wh.")) return {};  // aufs metadata (plnk, aufs): not content
      std::string victim = base.substr(4);
      if (victim.empty() || victim == "." || victim == "..")
        return failf("refusing whiteout {:?}", path);
      HULL_CHECK(remove_at(parent, victim.c_str()));
      if (::mknodat(parent, victim.c_str(), S_IFCHR | 0, ::makedev(0, 0)) < 0)
        return sys_failf("mknod whiteout {}", path);
      return {};
    }

    mode_t type = archive_entry_filetype(e);
    mode_t perm = archive_entry_perm(e) & 07777;
    uid_t uid = uid_t(archive_entry_uid(e));
    gid_t gid = gid_t(archive_entry_gid(e));

    struct stat st {};
    bool exists = ::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    const char* hardlink = archive_entry_hardlink(e);
    if (exists && !(S_ISDIR(st.st_mode) && type == AE_IFDIR && !hardlink))
      HULL_CHECK(remove_at(parent, base.c_str()));

    if (hardlink) {
      auto src = HULL_TRY(components(hardlink, "hardlink target"));
      if (src.empty()) return failf("refusing hardlink {:?} to the layer root", path);
      int sp = HULL_TRY(open_parent_uncached(src));
      UniqueFd holder(sp);
      struct stat sst {};
      if (::fstatat(sp, src.back().c_str(), &sst, AT_SYMLINK_NOFOLLOW) < 0)
        return sys_failf("hardlink {} to {}", path, hardlink);
      if (S_ISDIR(sst.st_mode)) return failf("refusing hardlink {:?} to a directory", path);
      if (::linkat(sp, src.back().c_str(), parent, base.c_str(), 0) < 0)
        return sys_failf("link {} to {}", path, hardlink);
      return {};
    }

    switch (type) {
      case AE_IFDIR: {
        if (!exists && ::mkdirat(parent, base.c_str(), 0700) < 0)
          return sys_failf("mkdir {}", path);
        UniqueFd fd(
            ::openat(parent, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return sys_failf("open {}", path);
        HULL_CHECK(metadata(fd.get(), e, path, uid, gid, perm));
        timespec ts[2];
        times(e, ts);
        dirs_.push_back({comps, {ts[0], ts[1]}});
        return {};
      }
      case AE_IFREG: {
        UniqueFd fd(::openat(parent, base.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) return sys_failf("create {}", path);
        const void* buf;
        size_t size;
        la_int64_t offset;
        for (;;) {
          int r = archive_read_data_block(a, &buf, &size, &offset);
          if (r == ARCHIVE_EOF) break;
          if (r < ARCHIVE_WARN) return failf("read {}: {}", path, archive_error_string(a));
          const char* p = static_cast<const char*>(buf);
          while (size > 0) {
            ssize_t n = ::pwrite(fd.get(), p, size, offset);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return sys_failf("write {}", path);
            p += n, size -= size_t(n), offset += n;
          }
        }
        if (archive_entry_size_is_set(e)) {
          int64_t sz = archive_entry_size(e);
          if (::ftruncate(fd.get(), sz) < 0) return sys_failf("truncate {}", path);
          size_ += sz;
        }
        HULL_CHECK(metadata(fd.get(), e, path, uid, gid, perm));
        timespec ts[2];
        times(e, ts);
        if (::futimens(fd.get(), ts) < 0) return sys_failf("utimens {}", path);
        return {};
      }
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (!target) return failf("symlink {:?} has no target", path);
        // The target is stored as is: nothing here ever follows it, and inside the
        // container it resolves against the container's root.
        if (::symlinkat(target, parent, base.c_str()) < 0) return sys_failf("symlink {}", path);
        if (::fchownat(parent, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && is_root())
          return sys_failf("chown {}", path);
        timespec ts[2];
        times(e, ts);
        ::utimensat(parent, base.c_str(), ts, AT_SYMLINK_NOFOLLOW);
        return {};
      }
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO: {
        dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
        if (::mknodat(parent, base.c_str(), type | perm, dev) < 0)
          return sys_failf("mknod {}", path);
        UniqueFd fd(::openat(parent, base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return sys_failf("open {}", path);
        if (::fchownat(fd.get(), "", uid, gid, AT_EMPTY_PATH) < 0 && is_root())
          return sys_failf("chown {}", path);
        std::string proc = fmt::format("/proc/self/fd/{}", fd.get());
        if (::chmod(proc.c_str(), perm) < 0) return sys_failf("chmod {}", path);
        timespec ts[2];
        times(e, ts);
        ::utimensat(parent, base.c_str(), ts, AT_SYMLINK_NOFOLLOW);
        return {};
      }
      case AE_IFSOCK:
        return {};  // sockets are not content; docker skips them too
      default:
        return failf("entry {:?}: unsupported file type {:o}", path, unsigned(type));
    }
  }

  // Directory times last: writing their children changed them.
  Status finish() {
    cached_fd_.reset();
    cached_path_.clear();
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      int parent = HULL_TRY(open_parent_uncached(it->comps));
      UniqueFd holder(parent);
      ::utimensat(parent, it->comps.back().c_str(), it->ts.data(), AT_SYMLINK_NOFOLLOW);
    }
    return {};
  }

  int64_t size() const { return size_; }

 private:
  struct DirTime {
    std::vector<std::string> comps;
    std::array<timespec, 2> ts;
  };

  static void times(struct archive_entry* e, timespec ts[2]) {
    ts[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    ts[0] = archive_entry_atime_is_set(e)
                ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                : ts[1];
  }

  Status metadata(int fd, struct archive_entry* e, const std::string& path, uid_t uid, gid_t gid,
                  mode_t perm) {
    if (::fchown(fd, uid, gid) < 0 && is_root()) return sys_failf("chown {}", path);
    // After chown: it clears set-id bits.
    if (::fchmod(fd, perm) < 0) return sys_failf("chmod {}", path);
    archive_entry_xattr_reset(e);
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      // overlay's own attributes from a layer could redirect lookups: never take them.
      if (!name || std::string_view(name).starts_with("trusted.overlay.")) continue;
      if (::fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP && is_root())
        return sys_failf("setxattr {} on {}", name, path);
    }
    return {};
  }

  // Opens the directory holding comps.back(), creating missing directories, never
  // following a symlink: a layer that writes through one is refused.
  Result<int> open_parent(const std::vector<std::string>& comps, bool create) {
    std::string key = joined(comps, comps.size() - 1);
    if (create && cached_fd_ && key == cached_path_) return cached_fd_.get();
    UniqueFd cur(::fcntl(root_, F_DUPFD_CLOEXEC, 0));
    if (!cur) return sys_fail("dup layer root");
    for (size_t i = 0; i + 1 < comps.size(); ++i) {
      const char* c = comps[i].c_str();
      int fd = ::openat(cur.get(), c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT && create) {
        if (::mkdirat(cur.get(), c, 0755) < 0 && errno != EEXIST)
          return sys_failf("mkdir {}", joined(comps, i + 1));
        fd = ::openat(cur.get(), c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      }
      if (fd < 0) {
        int err = errno;
        struct stat st {};
        if (::fstatat(cur.get(), c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
          return failf("refusing to write {:?} through the symlink {:?}",
                       joined(comps, comps.size()), joined(comps, i + 1));
        return sys_fail(fmt::format("open {}", joined(comps, i + 1)), err);
      }
      cur.reset(fd);
    }
    if (!create) return cur.release();
    cached_fd_ = std::move(cur);
    cached_path_ = key;
    return cached_fd_.get();
  }
  // An owned fd the caller closes.
  Result<int> open_parent_uncached(const std::vector<std::string>& comps) {
    return open_parent(comps, false);
  }

  int root_;
  UniqueFd cached_fd_;
  std::string cached_path_;
  std::vector<DirTime> dirs_;
  int64_t size_ = 0;
};

}  // namespace

std::string detect_compression(std::string_view head) {
  if (head.size() >= 2 && uint8_t(head[0]) == 0x1f && uint8_t(head[1]) == 0x8b) return "gzip";
  if (head.size() >= 4 && uint8_t(head[0]) == 0x28 && uint8_t(head[1]) == 0xb5 &&
      uint8_t(head[2]) == 0x2f && uint8_t(head[3]) == 0xfd)
    return "zstd";
  return "";
}

Result<UnpackResult> unpack_tar(int fd, int target_dirfd) {
  ArchivePtr outer(archive_read_new(), archive_read_free);
  ArchivePtr inner(archive_read_new(), archive_read_free);
  if (!outer || !inner) return fail("archive_read_new: out of memory", ENOMEM);
  archive_read_support_filter_gzip(outer.get());
  archive_read_support_filter_zstd(outer.get());
  archive_read_support_format_raw(outer.get());
  if (archive_read_open_fd(outer.get(), fd, 1 << 17) != ARCHIVE_OK)
    return failf("open layer: {}", archive_error_string(outer.get()));
  struct archive_entry* raw;
  int r = archive_read_next_header(outer.get(), &raw);
  if (r == ARCHIVE_EOF) return fail("layer is empty");
  if (r != ARCHIVE_OK) return failf("read layer: {}", archive_error_string(outer.get()));

  Chain chain;
  chain.outer = outer.get();
  archive_read_support_format_tar(inner.get());
  archive_read_support_filter_none(inner.get());
  if (archive_read_open(inner.get(), &chain, nullptr, chain_read, nullptr) != ARCHIVE_OK)
    return failf("read layer tar: {}",
                 chain.error.empty() ? archive_error_string(inner.get()) : chain.error);
  Extractor x(target_dirfd);
  for (;;) {
    struct archive_entry* e;
    r = archive_read_next_header(inner.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN)
      return failf("read layer tar: {}",
                   chain.error.empty() ? archive_error_string(inner.get()) : chain.error);
    HULL_CHECK(x.entry(inner.get(), e));
  }
  HULL_CHECK(x.finish());
  // The tar ends before the stream does (padding): the diff id covers every byte.
  const void* p;
  while (chain_read(inner.get(), &chain, &p) > 0) {
  }
  if (!chain.error.empty()) return failf("read layer: {}", chain.error);
  return UnpackResult{"sha256:" + chain.hash.hex_final(), x.size()};
}

}  // namespace hull::image

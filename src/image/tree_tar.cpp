#include "image/tree_tar.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace hull::image {
namespace {

// Deeper trees are refused: each level holds a directory fd.
constexpr int kMaxDepth = 256;

Result<uint64_t> mount_id(int fd) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
    return sys_fail("statx");
  return uint64_t(stx.stx_mnt_id);
}

// The attributes copied_xattr() keeps of an open regular file or directory. A file
// without any (or on a filesystem without them) has none; one removed while it is read
// is left out.
Result<std::vector<Xattr>> read_xattrs(int fd, const std::string& shown) {
  std::vector<Xattr> out;
  std::string names(64 << 10, '\0');  // XATTR_LIST_MAX: the kernel's bound on the list
  ssize_t n = ::flistxattr(fd, names.data(), names.size());
  if (n < 0) {
    if (errno == ENOTSUP || errno == ENODATA) return out;
    return sys_failf("listxattr {}", shown);
  }
  names.resize(size_t(n));
  size_t total = 0;
  std::string value(kMaxXattrValue, '\0');
  for (size_t at = 0; at < names.size();) {
    std::string name = names.c_str() + at;
    at += name.size() + 1;
    if (name.empty() || name.size() > kMaxXattrName || !copied_xattr(name, false)) continue;
    ssize_t v = ::fgetxattr(fd, name.c_str(), value.data(), value.size());
    if (v < 0) {
      if (errno == ENODATA) continue;  // removed since the listing
      return sys_failf("getxattr {} of {}", name, shown);
    }
    if (total + size_t(v) > kMaxXattrBytes) {
      log::warn("{:?}: extended attribute {} left out (more than {} KiB of them)", shown, name,
                kMaxXattrBytes >> 10);
      continue;
    }
    total += size_t(v);
    out.push_back({std::move(name), value.substr(0, size_t(v))});
  }
  return out;
}

}  // namespace

bool copied_xattr(std::string_view name, bool to_host) {
  if (name.starts_with("user.")) return !name.starts_with("user.overlay.");
  return name == "security.capability" && !to_host;
}

Result<TreeTar> TreeTar::open(int out_fd, const TreeTarOptions& opts) {
  TreeTar t;
  t.a_ = archive_write_new();
  if (!t.a_) return fail("archive_write_new: out of memory", ENOMEM);
  t.opts_ = opts;
  archive_write_set_format_pax_restricted(t.a_);
  // Ends after its end-of-archive blocks, as Go's tar writer (docker's): no padding to a
  // 10 KiB record, so cp's "transferred" size is docker's.
  archive_write_set_bytes_in_last_block(t.a_, 1);
  if (archive_write_open_fd(t.a_, out_fd) != ARCHIVE_OK)
    return failf("open tar output: {}", archive_error_string(t.a_));
  return t;
}

TreeTar::TreeTar(TreeTar&& o) noexcept
    : a_(std::exchange(o.a_, nullptr)), opts_(o.opts_), links_(std::move(o.links_)) {}

TreeTar::~TreeTar() {
  if (a_) archive_write_free(a_);
}

Status TreeTar::close() {
  if (archive_write_close(a_) != ARCHIVE_OK)
    return failf("write tar: {}", archive_error_string(a_));
  return {};
}

Status TreeTar::add(int obj, const std::string& name) {
  struct stat st {};
  if (::fstatat(obj, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return sys_failf("stat {}", name);
  uint64_t mnt = HULL_TRY(mount_id(obj));
  return add_at(obj, st, name, 0, mnt);
}

Status TreeTar::header(const struct stat& st, const std::string& name, const std::string& link,
                       bool hardlink, const std::vector<Xattr>& xattrs) {
  struct archive_entry* e = archive_entry_new();
  if (!e) return fail("archive_entry_new: out of memory", ENOMEM);
  std::string path = S_ISDIR(st.st_mode) ? name + "/" : name;
  archive_entry_set_pathname(e, path.c_str());
  archive_entry_set_uid(e, st.st_uid);
  archive_entry_set_gid(e, st.st_gid);
  archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  archive_entry_set_perm(e, st.st_mode & 07777);
  if (hardlink) {
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_hardlink(e, link.c_str());
    archive_entry_set_size(e, 0);
  } else {
    archive_entry_set_filetype(e, st.st_mode & S_IFMT);
    if (S_ISREG(st.st_mode)) archive_entry_set_size(e, st.st_size);
    if (S_ISLNK(st.st_mode)) archive_entry_set_symlink(e, link.c_str());
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) archive_entry_set_rdev(e, st.st_rdev);
  }
  for (const auto& x : xattrs)
    archive_entry_xattr_add_entry(e, x.name.c_str(), x.value.data(), x.value.size());
  int r = archive_write_header(a_, e);
  archive_entry_free(e);
  if (r < ARCHIVE_WARN) return failf("write tar entry {:?}: {}", name, archive_error_string(a_));
  return {};
}

namespace {

// A regular file reopened for reading through its O_PATH fd: the name could have been
// swapped since. O_NONBLOCK: if it is a FIFO by now, the open does not wait for a writer.
Result<UniqueFd> reopen_file(int obj, const struct stat& st, const std::string& name) {
  UniqueFd fd(::open(fmt::format("/proc/self/fd/{}", obj).c_str(),
                     O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", name);
  struct stat now {};
  if (::fstat(fd.get(), &now) < 0) return sys_failf("stat {}", name);
  if (!S_ISREG(now.st_mode) || now.st_ino != st.st_ino || now.st_dev != st.st_dev)
    return failf("{:?} changed while it was copied", name);
  return fd;
}

}  // namespace

Status TreeTar::content(int fd, const struct stat& st, const std::string& name) {
  std::vector<char> buf(1 << 17);
  int64_t left = st.st_size;
  while (left > 0) {
    ssize_t n = ::read(fd, buf.data(), size_t(std::min<int64_t>(left, int64_t(buf.size()))));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_failf("read {}", name);
    if (n == 0) {  // shorter than it was: zeros to the size in the header
      std::fill(buf.begin(), buf.end(), 0);
      n = ssize_t(std::min<int64_t>(left, int64_t(buf.size())));
    }
    if (archive_write_data(a_, buf.data(), size_t(n)) != n)
      return failf("write tar entry {:?}: {}", name, archive_error_string(a_));
    left -= n;
  }
  return {};
}

Status TreeTar::add_at(int obj, const struct stat& st, const std::string& name, int depth,
                       uint64_t mnt_id) {
  if (depth > kMaxDepth) return failf("{:?}: more than {} directory levels", name, kMaxDepth);
  if (S_ISSOCK(st.st_mode)) return {};  // not content (docker leaves them out too)
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, name);
    if (!first) return header(st, name, it->second, true);
  }
  if (S_ISLNK(st.st_mode)) {
    std::vector<char> target(size_t(std::max<off_t>(st.st_size, 255)) + 2);
    ssize_t n = ::readlinkat(obj, "", target.data(), target.size() - 1);
    if (n < 0) return sys_failf("readlink {}", name);
    return header(st, name, std::string(target.data(), size_t(n)), false);
  }
  if (S_ISREG(st.st_mode)) {
    auto fd = HULL_TRY(reopen_file(obj, st, name));
    HULL_CHECK(header(st, name, {}, false, HULL_TRY(read_xattrs(fd.get(), name))));
    return content(fd.get(), st, name);
  }
  if (!S_ISDIR(st.st_mode)) return header(st, name, {}, false);  // FIFO, device

  UniqueFd dir(::openat(obj, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return sys_failf("open {}", name);
  if (name != ".") HULL_CHECK(header(st, name, {}, false, HULL_TRY(read_xattrs(dir.get(), name))));
  if (fs::on_kernel_fs(dir.get())) return {};
  if (opts_.one_mount && HULL_TRY(mount_id(dir.get())) != mnt_id) return {};
  for (const auto& child : HULL_TRY(fs::dir_names(dir.get(), name))) {
    std::string cname = name == "." ? child : name + "/" + child;
    UniqueFd c(::openat(dir.get(), child.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!c) {
      if (errno == ENOENT) continue;  // removed since the listing
      return sys_failf("open {}", cname);
    }
    struct stat cst {};
    if (::fstatat(c.get(), "", &cst, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
      return sys_failf("stat {}", cname);
    HULL_CHECK(add_at(c.get(), cst, cname, depth + 1, mnt_id));
  }
  return {};
}

}  // namespace hull::image

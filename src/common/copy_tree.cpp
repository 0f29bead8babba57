#include "common/copy_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <map>
#include <string_view>
#include <vector>

#include "common/unique_fd.hpp"

namespace hull::fs {
namespace {

// An image deeper than this is refused rather than copied with unbounded recursion.
constexpr int kMaxDepth = 256;
// Open fds kept for hardlinked files whose other links are still to come.
constexpr size_t kMaxLinkFds = 256;

// Owner (EINVAL: an owner this user namespace does not map, the copy keeps ours), mode
// (after the chown, which clears set-user-ID) and times, on an fd of the copy itself.
Status fd_metadata(int fd, const struct stat& st, const std::string& shown) {
  if (::fchown(fd, st.st_uid, st.st_gid) < 0 && errno != EINVAL)
    return sys_failf("chown {}", shown);
  if (::fchmod(fd, st.st_mode & 07777) < 0) return sys_failf("chmod {}", shown);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(fd, times) < 0) return sys_failf("set the times of {}", shown);
  return {};
}

// The same for an entry that cannot be opened for that (a symlink, a device node, a
// FIFO), by name and never followed: a symlink keeps its mode, a node's mode is set
// through glibc's O_PATH fd (fchmodat's AT_SYMLINK_NOFOLLOW).
Status name_metadata(int dir, const char* name, const struct stat& st, const std::string& shown) {
  if (::fchownat(dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
    return sys_failf("chown {}", shown);
  if (!S_ISLNK(st.st_mode) && ::fchmodat(dir, name, st.st_mode & 07777, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_failf("chmod {}", shown);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_failf("set the times of {}", shown);
  return {};
}

// Extended attributes of `in` onto `out` (both fds of regular files or directories): file
// capabilities (security.capability), user.*, ACLs (system.*), trusted.* where allowed.
// An attribute the destination cannot hold (ENOTSUP) or this namespace may not set
// (EPERM: trusted.* without CAP_SYS_ADMIN) is left out; security.selinux is the host's
// business, not the image's.
Status copy_xattrs(int in, int out, const std::string& shown) {
  std::vector<char> names(1024);
  ssize_t len;
  while ((len = ::flistxattr(in, names.data(), names.size())) < 0 && errno == ERANGE) {
    ssize_t need = ::flistxattr(in, nullptr, 0);
    if (need < 0) break;
    names.resize(static_cast<size_t>(need) + 1);
  }
  if (len < 0) {
    if (errno == ENOTSUP) return {};
    return sys_failf("list the extended attributes of {}", shown);
  }
  std::vector<char> value(256);
  for (const char* n = names.data(); n < names.data() + len; n += std::strlen(n) + 1) {
    if (std::string_view(n) == "security.selinux") continue;
    ssize_t vlen;
    while ((vlen = ::fgetxattr(in, n, value.data(), value.size())) < 0 && errno == ERANGE) {
      ssize_t need = ::fgetxattr(in, n, nullptr, 0);
      if (need < 0) break;
      value.resize(static_cast<size_t>(need) + 1);
    }
    if (vlen < 0) {
      if (errno == ENODATA) continue;  // removed meanwhile
      return sys_failf("read extended attribute {} of {}", n, shown);
    }
    if (::fsetxattr(out, n, value.data(), static_cast<size_t>(vlen), 0) < 0 && errno != ENOTSUP &&
        errno != EPERM)
      return sys_failf("set extended attribute {} of {}", n, shown);
  }
  return {};
}

// Files with more than one link: the first copy of each (source device and inode), kept
// as an O_PATH fd until all its links in the tree are made.
struct Links {
  struct Copy {
    UniqueFd fd;
    nlink_t left;
  };
  std::map<std::pair<dev_t, ino_t>, Copy> copies;
};

Status copy_file(int from, int to, const char* name, const struct stat& st,
                 const std::string& shown, Links& links) {
  const auto key = std::pair{st.st_dev, st.st_ino};
  if (st.st_nlink > 1) {
    if (auto it = links.copies.find(key); it != links.copies.end()) {
      // A link to the copy made earlier, through its fd: nothing here is looked up by a
      // path a container could have changed. (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH in
      // the initial namespace; /proc/self/fd does not.)
      std::string fd_path = fmt::format("/proc/self/fd/{}", it->second.fd.get());
      if (::linkat(AT_FDCWD, fd_path.c_str(), to, name, AT_SYMLINK_FOLLOW) < 0)
        return sys_failf("link {}", shown);
      if (--it->second.left == 0) links.copies.erase(it);
      return {};
    }
  }

  UniqueFd in(::openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return sys_failf("open {}", shown);
  UniqueFd out(::openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return sys_failf("create {}", shown);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_failf("read {}", shown);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return sys_failf("write {}", shown);
      done += w;
    }
  }
  // After the chown, which drops file capabilities.
  HULL_CHECK(fd_metadata(out.get(), st, shown));
  HULL_CHECK(copy_xattrs(in.get(), out.get(), shown));
  // Past kMaxLinkFds files waiting for their other links, later links become copies.
  if (st.st_nlink > 1 && links.copies.size() < kMaxLinkFds)
    links.copies[key] = {std::move(out), st.st_nlink - 1};
  return {};
}

Status copy_level(int from, int to, const std::string& shown, int depth, Links& links) {
  if (depth > kMaxDepth) return failf("{}: deeper than {} directories", shown, kMaxDepth);
  UniqueFd list_fd(::openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!list_fd) return sys_failf("open {}", shown);
  DIR* d = ::fdopendir(list_fd.release());
  if (!d) return sys_failf("read {}", shown);
  struct Closer {
    DIR* d;
    ~Closer() { ::closedir(d); }
  } closer{d};
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    std::string path = shown + "/" + e->d_name;
    struct stat st {};
    if (::fstatat(from, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) return sys_failf("stat {}", path);
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(to, e->d_name, 0700) < 0) return sys_failf("mkdir {}", path);
      const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      UniqueFd sub_from(::openat(from, e->d_name, flags));
      UniqueFd sub_to(::openat(to, e->d_name, flags));
      if (!sub_from || !sub_to) return sys_failf("open {}", path);
      HULL_CHECK(copy_level(sub_from.get(), sub_to.get(), path, depth + 1, links));
      HULL_CHECK(fd_metadata(sub_to.get(), st, path));
      HULL_CHECK(copy_xattrs(sub_from.get(), sub_to.get(), path));  // after its content: the times
    } else if (S_ISREG(st.st_mode)) {
      HULL_CHECK(copy_file(from, to, e->d_name, st, path, links));
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t len = ::readlinkat(from, e->d_name, target, sizeof target - 1);
      if (len < 0) return sys_failf("readlink {}", path);
      target[len] = '\0';
      if (::symlinkat(target, to, e->d_name) < 0) return sys_failf("symlink {}", path);
      HULL_CHECK(name_metadata(to, e->d_name, st, path));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      if (::mknodat(to, e->d_name, st.st_mode & S_IFMT, st.st_rdev) < 0) {
        if (errno == EPERM && !S_ISFIFO(st.st_mode)) continue;  // a device node, rootless
        return sys_failf("mknod {}", path);
      }
      HULL_CHECK(name_metadata(to, e->d_name, st, path));
    }
    // Sockets are not copied: they mean nothing without their process.
  }
  return {};
}

}  // namespace

Status copy_tree(int from, int to, const std::string& shown) {
  Links links;
  return copy_level(from, to, shown, 0, links);
}

Status copy_dir_metadata(int dir, const struct stat& st, const std::string& shown) {
  UniqueFd fd(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", shown);
  return fd_metadata(fd.get(), st, shown);
}

}  // namespace hull::fs

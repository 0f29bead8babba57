#include "engine/volumes.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <string_view>

#include "common/unique_fd.hpp"

namespace hull::engine {
namespace {

// An image deeper than this is refused rather than copied with unbounded recursion.
constexpr int kMaxDepth = 256;

// Owner, mode and times of `st` on the entry `name` of `dir` ("" for dir itself).
Status copy_metadata(int dir, const char* name, const struct stat& st, const std::string& shown) {
  int flags = *name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;
  // EINVAL: an owner this (rootless) user namespace does not map; the copy keeps ours.
  if (::fchownat(dir, name, st.st_uid, st.st_gid, flags) < 0 && errno != EINVAL)
    return sys_failf("chown {}", shown);
  // AT_SYMLINK_NOFOLLOW (glibc: through an O_PATH fd): a volume may be shared with a
  // running container, which could swap the entry for a symlink to a host path.
  if (!S_ISLNK(st.st_mode) &&
      ::fchmodat(dir, *name ? name : ".", st.st_mode & 07777, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_failf("chmod {}", shown);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dir, *name ? name : ".", times, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_failf("set the times of {}", shown);
  return {};
}

Status copy_file(int from, int to, const char* name, const struct stat& st,
                 const std::string& shown) {
  UniqueFd in(::openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return sys_failf("open {}", shown);
  UniqueFd out(::openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return sys_failf("create {}", shown);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0) return sys_failf("read {}", shown);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n - done));
      if (w < 0) return sys_failf("write {}", shown);
      done += w;
    }
  }
  return copy_metadata(to, name, st, shown);
}

// Copies the entries of directory `from` into the empty directory `to`, through fds only:
// nothing is followed in either tree (a symlink is copied as one).
Status copy_tree(int from, int to, const std::string& shown, int depth) {
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
      UniqueFd sub_from(::openat(from, e->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd sub_to(::openat(to, e->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub_from || !sub_to) return sys_failf("open {}", path);
      HULL_CHECK(copy_tree(sub_from.get(), sub_to.get(), path, depth + 1));
      HULL_CHECK(copy_metadata(to, e->d_name, st, path));
    } else if (S_ISREG(st.st_mode)) {
      HULL_CHECK(copy_file(from, to, e->d_name, st, path));
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t len = ::readlinkat(from, e->d_name, target, sizeof target - 1);
      if (len < 0) return sys_failf("readlink {}", path);
      target[len] = '\0';
      if (::symlinkat(target, to, e->d_name) < 0) return sys_failf("symlink {}", path);
      HULL_CHECK(copy_metadata(to, e->d_name, st, path));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      if (::mknodat(to, e->d_name, st.st_mode, st.st_rdev) < 0) {
        if (errno == EPERM && !S_ISFIFO(st.st_mode)) continue;  // a device node, rootless
        return sys_failf("mknod {}", path);
      }
      HULL_CHECK(copy_metadata(to, e->d_name, st, path));
    }
    // Sockets are not copied: they mean nothing without their process.
  }
  return {};
}

bool is_empty_dir(int dir) {
  UniqueFd fd(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return false;
  DIR* d = ::fdopendir(fd.release());
  if (!d) return false;
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

}  // namespace

Status populate_volumes(const ContainerConfig& c, const std::string& rootfs) {
  UniqueFd root;
  for (const auto& m : c.mounts) {
    if (m.type != "volume" || !m.copy) continue;
    UniqueFd to(::open(m.source.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!to) return sys_failf("open volume {}", m.source);
    if (!is_empty_dir(to.get())) continue;
    if (!root) {
      root.reset(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!root) return sys_failf("open {}", rootfs);
    }
    // The destination as the container will see it: resolved inside the rootfs.
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    UniqueFd from(static_cast<int>(
        ::syscall(SYS_openat2, root.get(), m.destination.c_str(), &how, sizeof how)));
    if (!from) {
      if (errno == ENOENT || errno == ENOTDIR) continue;  // nothing there to copy
      return sys_failf("open {} in the rootfs", m.destination);
    }
    std::string shown = fmt::format("volume {} ({})", m.name, m.destination);
    HULL_CHECK(copy_tree(from.get(), to.get(), shown, 0));
    struct stat st {};
    if (::fstat(from.get(), &st) < 0) return sys_failf("stat {} in the rootfs", m.destination);
    HULL_CHECK(copy_metadata(to.get(), "", st, shown));
  }
  return {};
}

}  // namespace hull::engine

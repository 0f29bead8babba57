// tmpcopyup: the content a tmpfs mount hides, copied into it (runc and crun, for a
// tmpfs over an image's non-empty directory such as /etc or /var/lib/x).
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include "runtime/rootfs.hpp"

namespace hull::runtime {
namespace {

Status copy_data(int src_dir, int dst_dir, const char* name) {
  UniqueFd in(::openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return sys_failf("open {}", name);
  UniqueFd out(::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return sys_failf("create {}", name);
  for (;;) {
    ssize_t n = ::sendfile(out.get(), in.get(), nullptr, size_t{1} << 30);
    if (n == 0) return {};
    if (n < 0 && errno != EINTR) return sys_failf("copy {}", name);
  }
}

// Owner, then mode (a chown clears set-user-ID), then times (after a directory's content).
Status copy_meta(int dst_dir, const char* name, const struct stat& st) {
  if (::fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_failf("chown {}", name);
  if (!S_ISLNK(st.st_mode) && ::fchmodat(dst_dir, name, st.st_mode & 07777, 0) < 0)
    return sys_failf("chmod {}", name);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dst_dir, name, times, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_failf("set the times of {}", name);
  return {};
}

Status copy_entry(int src_dir, int dst_dir, const char* name, int depth);

Status copy_dir(int src_dir, int dst_dir, int depth) {
  if (depth > 256) return fail("too deeply nested", ELOOP);
  DIR* d = ::fdopendir(::dup(src_dir));
  if (!d) return sys_fail("opendir");
  Status r;
  while (dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n == "." || n == "..") continue;
    r = copy_entry(::dirfd(d), dst_dir, e->d_name, depth);
    if (!r) break;
  }
  ::closedir(d);
  return r;
}

Status copy_entry(int src_dir, int dst_dir, const char* name, int depth) {
  struct stat st {};
  if (::fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return sys_failf("stat {}", name);
  switch (st.st_mode & S_IFMT) {
    case S_IFREG:
      HULL_CHECK(copy_data(src_dir, dst_dir, name));
      break;
    case S_IFDIR: {
      if (::mkdirat(dst_dir, name, 0700) < 0) return sys_failf("mkdir {}", name);
      const int dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      UniqueFd from(::openat(src_dir, name, dir_flags));
      UniqueFd to(::openat(dst_dir, name, dir_flags));
      if (!from || !to) return sys_failf("open {}", name);
      if (auto r = copy_dir(from.get(), to.get(), depth + 1); !r)
        return std::unexpected(r.error().wrap(name));
      break;
    }
    case S_IFLNK: {
      char target[4096];
      ssize_t n = ::readlinkat(src_dir, name, target, sizeof target - 1);
      if (n < 0) return sys_failf("readlink {}", name);
      target[n] = '\0';
      if (::symlinkat(target, dst_dir, name) < 0) return sys_failf("symlink {}", name);
      break;
    }
    default:  // devices, fifos, sockets
      if (::mknodat(dst_dir, name, st.st_mode & S_IFMT, st.st_rdev) < 0)
        return sys_failf("mknod {}", name);
  }
  return copy_meta(dst_dir, name, st);
}

}  // namespace

Status copy_tree(int src_dir, int dst_dir) {
  return copy_dir(src_dir, dst_dir, 0);
}

}  // namespace hull::runtime

#include "common/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace hull::fs {
namespace {

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_failf("write {}", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status remove_tree_at(int parent, const char* name, dev_t dev) {
  int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOTDIR || errno == ELOOP) {
      if (::unlinkat(parent, name, 0) < 0 && errno != ENOENT) return sys_failf("unlink {}", name);
      return {};
    }
    if (errno == ENOENT) return {};
    return sys_failf("open {}", name);
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_dev != dev) {
    ::close(fd);
    return failf("remove {}: refusing to cross a mount point", name);
  }
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return sys_failf("opendir {}", name);
  }
  Status result;
  while (dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n == "." || n == "..") continue;
    if (auto r = remove_tree_at(::dirfd(d), e->d_name, dev); !r && result) result = r;
  }
  ::closedir(d);
  if (::unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && result)
    return sys_failf("rmdir {}", name);
  return result;
}

}  // namespace

Result<std::string> read_fd(int fd, const std::string& path) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_failf("read {}", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxReadFile)
      return failf("read {}: more than {} MiB (not a file of this kind?)", path,
                   kMaxReadFile >> 20);
  }
  return out;
}

Result<std::string> read_file(const std::string& path) {
  return read_file_at(AT_FDCWD, path);
}

Result<std::string> read_file_at(int dirfd, const std::string& path) {
  UniqueFd fd(::openat(dirfd, path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", path);
  return read_fd(fd.get(), path);
}

Status write_file(const std::string& path, std::string_view data, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return sys_failf("open {}", path);
  return write_all(fd.get(), data, path);
}

Status write_existing(const std::string& path, std::string_view data) {
  return write_existing_at(AT_FDCWD, path, data);
}

Status write_existing_at(int dirfd, const std::string& name, std::string_view data) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", name);
  // Control files take one value per write(2); a short write is an error there.
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n < 0) return sys_failf("write {} to {}", data, name);
  return {};
}

Status write_atomic_at(int dirfd, const std::string& name, std::string_view data, mode_t mode) {
  std::string tmp = name + ".tmp";
  UniqueFd fd(::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return sys_failf("open {}", tmp);
  Status st = write_all(fd.get(), data, tmp);
  if (st && ::fsync(fd.get()) < 0) st = sys_failf("fsync {}", tmp);
  if (st && ::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) < 0)
    st = sys_failf("rename {} to {}", tmp, name);
  // A failed write leaves no half-written temporary behind.
  if (!st) ::unlinkat(dirfd, tmp.c_str(), 0);
  return st;
}

Status mkdir_p(const std::string& path, mode_t mode) {
  if (path.empty()) return {};
  // Mostly the directory exists (every hull command checks its stores): one syscall.
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return {};
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST) return sys_failf("mkdir {}", cur);
  }
  return {};
}

Result<UniqueFd> open_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", path);
  return fd;
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

Result<OutputFile> OutputFile::create(const std::string& path, mode_t mode, bool durable) {
  if (path.empty()) return fail("no output file named");
  OutputFile out;
  out.path_ = path;
  out.durable_ = durable;
  struct stat st {};
  const bool found = ::stat(path.c_str(), &st) == 0;
  if (!found && errno != ENOENT) return sys_failf("open {}", path);
  struct stat lst {};
  const bool dangling = !found && ::lstat(path.c_str(), &lst) == 0;
  if ((found && !S_ISREG(st.st_mode)) || dangling) {
    // A device or FIFO is written, never replaced; a dangling symlink creates its target,
    // as docker's os.Create does.
    if (found && S_ISDIR(st.st_mode)) return failf("open {}: is a directory", path);
    out.fd_.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, mode));
    if (!out.fd_) return sys_failf("open {}", path);
    return out;
  }
  if (found) {
    char* real = ::realpath(path.c_str(), nullptr);
    if (!real) return sys_failf("resolve {}", path);
    out.path_ = real;
    ::free(real);
  }
  // ".NAME.hull-RANDOM" in NAME's directory: the rename stays on one filesystem.
  const size_t slash = out.path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : out.path_.substr(0, slash + 1);
  const std::string base = out.path_.substr(slash == std::string::npos ? 0 : slash + 1);
  for (int tries = 0; !out.fd_; ++tries) {
    unsigned char rnd[6];
    if (::getrandom(rnd, sizeof rnd, 0) != sizeof rnd) return sys_fail("getrandom");
    std::string suffix;
    for (unsigned char c : rnd) suffix += fmt::format("{:02x}", c);
    out.tmp_ = dir + "." + base + ".hull-" + suffix;
    // O_EXCL: no existing name is followed or reused; the umask applies to a new file.
    out.fd_.reset(::open(out.tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!out.fd_ && (errno != EEXIST || tries == 8)) {
      int err = errno;
      out.tmp_.clear();
      return sys_fail(fmt::format("open {}", path), err);
    }
  }
  if (found && ::fchmod(out.fd_.get(), st.st_mode & 07777) < 0)
    return sys_failf("chmod {}", out.tmp_);
  return out;
}

OutputFile::OutputFile(OutputFile&& o) noexcept
    : fd_(std::move(o.fd_)),
      path_(std::move(o.path_)),
      tmp_(std::exchange(o.tmp_, {})),
      durable_(o.durable_) {}

OutputFile::~OutputFile() {
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Status write_output(const std::string& path, std::string_view data, mode_t mode, bool durable) {
  auto out = HULL_TRY(OutputFile::create(path, mode, durable));
  HULL_CHECK(write_all(out.fd(), data, path));
  return out.commit();
}

Status OutputFile::commit() {
  if (durable_ && !tmp_.empty() && ::fsync(fd_.get()) < 0) return sys_failf("fsync {}", tmp_);
  if (fd_ && ::close(fd_.release()) < 0) return sys_failf("write {}", path_);
  if (tmp_.empty()) return {};
  if (::rename(tmp_.c_str(), path_.c_str()) < 0) return sys_failf("rename to {}", path_);
  tmp_.clear();
  return {};
}

Status remove_all(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return {};
    return sys_failf("stat {}", path);
  }
  return remove_tree_at(AT_FDCWD, path.c_str(), st.st_dev);
}

Result<UniqueFd> open_in_root(int root, const std::string& path, int flags) {
  size_t first = path.find_first_not_of('/');
  const std::string rel = first == std::string::npos ? "." : path.substr(first);
  open_how how{};
  how.flags = uint64_t(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    int fd = int(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
    if (fd >= 0) return UniqueFd(fd);
    // EAGAIN: a rename elsewhere in the tree raced the lookup (the kernel's own check).
    if (errno == EAGAIN) continue;
    if (errno == ENOSYS) return fail("openat2 is not supported by this kernel (needs 5.6)", ENOSYS);
    return sys_failf("open {}", path);
  }
}

Result<std::vector<std::string>> dir_names(int dir, const std::string& shown) {
  int copy = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) return sys_failf("open {}", shown);
  DIR* d = ::fdopendir(copy);
  if (!d) {
    ::close(copy);
    return sys_failf("opendir {}", shown);
  }
  std::vector<std::string> out;
  int err = 0;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (!e) {
      err = errno;
      break;
    }
    std::string_view n = e->d_name;
    if (n != "." && n != "..") out.emplace_back(n);
  }
  ::closedir(d);
  if (err) return sys_fail(fmt::format("readdir {}", shown), err);
  std::sort(out.begin(), out.end());
  return out;
}

bool on_kernel_fs(int fd) {
  struct statfs sf {};
  if (::fstatfs(fd, &sf) < 0) return true;  // unknown: treated as the unsafe kind
  switch (static_cast<unsigned long>(sf.f_type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case SECURITYFS_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case BPF_FS_MAGIC:
    case SELINUX_MAGIC:
    case SMACK_MAGIC:
    case EFIVARFS_MAGIC:
    case PSTOREFS_MAGIC:
    case BINFMTFS_MAGIC:
    case NSFS_MAGIC:
    case 0x19800202:  // mqueue
    case 0x65735543:  // fusectl
    case 0x62656570:  // configfs
      return true;
    default:
      return false;
  }
}

}  // namespace hull::fs

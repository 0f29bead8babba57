#include "runtime/rootfs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/copy_tree.hpp"
#include "common/fs.hpp"
#include "common/mountinfo.hpp"
#include "common/strings.hpp"

namespace hull::runtime {
namespace {

std::string_view relative(std::string_view p) {
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  return p.empty() ? std::string_view(".") : p;
}

// Flags a remount must keep: inside a user namespace the kernel refuses to clear
// nosuid/nodev/noexec/atime flags that the mount was created with (they are locked).
unsigned long locked_flags(const char* path) {
  struct statvfs sv {};
  if (::statvfs(path, &sv) < 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  return f;
}

constexpr unsigned long kRemountable =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
    MS_STRICTATIME | MS_SYNCHRONOUS | MS_DIRSYNC | MS_MANDLOCK | MS_LAZYTIME | MS_NOSYMFOLLOW;

Status bind_remount(const std::string& target, unsigned long flags, unsigned long clear,
                    std::string_view what) {
  unsigned long keep = locked_flags(target.c_str()) & ~clear & ~MS_RDONLY;
  unsigned long f = MS_BIND | MS_REMOUNT | (flags & kRemountable) | keep;
  if (::mount(nullptr, target.c_str(), nullptr, f, nullptr) < 0)
    return sys_failf("remount {} with its options", what);
  return {};
}

std::string host_source(const RootfsPlan& plan, const std::string& source) {
  if (!source.empty() && source.front() == '/') return source;
  return plan.bundle + "/" + source;
}

// mount_setattr(2) (5.12), spelled out: <linux/mount.h> clashes with <sys/mount.h>.
struct MountAttr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
constexpr uint64_t kAttrRdonly = 0x1, kAttrNosuid = 0x2, kAttrNodev = 0x4, kAttrNoexec = 0x8;
constexpr unsigned kAtRecursive = 0x8000;

// Makes the mount at path read-only and keeps its other options: mount_setattr (5.12)
// changes the one attribute, where a remount must first read the others (a statfs per
// path). Falls back to the remount where mount_setattr is missing or refuses.
Status make_readonly(const std::string& path, std::string_view what) {
  MountAttr attr{kAttrRdonly, 0, 0, 0};
  if (::syscall(SYS_mount_setattr, AT_FDCWD, path.c_str(), 0, &attr, sizeof attr) == 0) return {};
  return bind_remount(path, MS_RDONLY, 0, what);
}

// Files under /proc a bind mount may cover, as runc allows them (lxcfs and the like).
constexpr std::string_view kProcBindable[] = {"/proc/cpuinfo", "/proc/diskstats",
                                              "/proc/meminfo", "/proc/stat",
                                              "/proc/swaps",   "/proc/uptime",
                                              "/proc/loadavg", "/proc/slabinfo",
                                              "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"};

// The target of mount m, created if missing, and refused where the mount would hide or
// redirect what the runtime later relies on in procfs (CVE-2019-16884, CVE-2025-52881): a
// proc or sysfs mount through a symlink, or any other mount that lands in a procfs, by
// its path or through a symlink of the image or of a volume.
Result<UniqueFd> mount_target(int rootfd, const oci::Mount& m, bool dir) {
  if (m.type != "proc") {
    std::string lexical;
    for (auto part : split(m.destination, '/'))
      if (!part.empty() && part != ".") lexical += "/" + std::string(part);
    if (lexical == "/proc")
      return failf("{} cannot be mounted on /proc: only a proc mount may be there", m.type);
  }
  if (m.type == "proc" || m.type == "sysfs") {
    // Reached without a symlink, or refused; made first when missing (one openat2 when the
    // directory is there, as it mostly is).
    auto direct = [&]() -> Result<UniqueFd> {
      open_how how{};
      how.flags = O_PATH | O_CLOEXEC;
      how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS;
      std::string rel(relative(m.destination));
      UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof how)));
      if (fd) return fd;
      if (errno == ELOOP)
        return failf(
            "mount {} on {}: the destination is a symlink: {} must be mounted on an "
            "ordinary directory",
            m.type, m.destination, m.type);
      return sys_failf("open {} in the rootfs", m.destination);
    };
    auto fd = direct();
    if (fd || fd.error().code != ENOENT) return fd;
    HULL_TRY(ensure_target(rootfd, m.destination, dir));
    return direct();
  }
  // What this creates cannot be in a procfs (it allows no new files): no statfs then.
  bool created = false;
  auto target = HULL_TRY(ensure_target(rootfd, m.destination, dir, &created));
  if (created) return target;
  struct statfs sf {};
  if (::fstatfs(target.get(), &sf) < 0) return sys_failf("statfs {}", m.destination);
  if (sf.f_type == PROC_SUPER_MAGIC) {
    bool allowed = false;
    if (m.bind || m.type == "bind")
      for (auto p : kProcBindable)
        if (m.destination == p) allowed = true;
    if (!allowed) return failf("{} cannot be mounted because it is inside /proc", m.destination);
  }
  return target;
}

// Binds the container's own cgroup of every hierarchy under dest: a tmpfs with one bind
// per v1 hierarchy (and the hybrid unified tree), or the one cgroup2 dir on v2 hosts.
Status mount_cgroups(int rootfd, const oci::Mount& m) {
  auto mounts = HULL_TRY(read_mountinfo());
  auto self = HULL_TRY(fs::read_file("/proc/self/cgroup"));
  // "hierarchy-id:controllers:path" -> path by controller list ("" for cgroup2).
  auto own_path = [&](std::string_view controllers) -> std::string {
    for (auto line : split(self, '\n')) {
      auto f = split(line, ':');
      if (f.size() < 3) continue;
      if (f[1] == controllers) return std::string(line.substr(f[0].size() + f[1].size() + 2));
    }
    return {};
  };
  auto v1_controllers = [](const MountInfo& mi) {
    std::string out;
    for (auto o : split(mi.super_options, ',')) {
      if (o == "rw" || o == "ro" || o == "xattr" || o == "clone_children" ||
          o.starts_with("release_agent="))
        continue;
      if (o == "noprefix" || o == "cpuset_v2_mode") continue;
      if (!out.empty()) out += ',';
      out += o;
    }
    return out;
  };
  const unsigned long ro = m.flags & MS_RDONLY;
  const unsigned long bind_flags = (m.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)) | ro;
  auto source_of = [&](const MountInfo& mi, std::string_view ctl) -> std::string {
    std::string path = own_path(ctl);
    if (path.empty()) return {};
    // The mount may show a subtree (nested containers): strip its root.
    if (mi.root != "/" && path.starts_with(mi.root)) path = path.substr(mi.root.size());
    return mi.mount_point + (path == "/" ? "" : path);
  };

  for (const auto& mi : mounts) {
    if (mi.fstype == "cgroup2" && mi.mount_point == "/sys/fs/cgroup") {
      std::string src = source_of(mi, "");
      if (src.empty()) return {};
      auto target = HULL_TRY(mount_target(rootfd, m, true));
      if (::mount(src.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND | MS_REC, nullptr) <
          0)
        return sys_failf("bind cgroup {} on {}", src, m.destination);
      auto top = HULL_TRY(open_in_root(rootfd, m.destination));
      return bind_remount(fd_path(top.get()), bind_flags, 0, m.destination);
    }
  }
  {
    auto target = HULL_TRY(mount_target(rootfd, m, true));
    std::string t = fd_path(target.get());
    if (::mount("tmpfs", t.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
      return sys_failf("mount tmpfs on {}", m.destination);
  }
  // The tmpfs was made just now and no process of the container runs yet: nothing in it
  // can be a planted symlink, so its subdirectories are made and mounted on by name.
  auto top = HULL_TRY(open_in_root(rootfd, m.destination));
  const std::string top_path = fd_path(top.get());
  std::vector<std::string> binds;
  for (const auto& mi : mounts) {
    if (!mi.mount_point.starts_with("/sys/fs/cgroup/")) continue;
    std::string_view sub = std::string_view(mi.mount_point).substr(strlen("/sys/fs/cgroup/"));
    if (sub.empty() || sub.find('/') != std::string_view::npos) continue;  // top level only
    std::string src;
    if (mi.fstype == "cgroup")
      src = source_of(mi, v1_controllers(mi));
    else if (mi.fstype == "cgroup2")
      src = source_of(mi, "");
    if (src.empty()) continue;
    std::string name(sub);
    if (::mkdirat(top.get(), name.c_str(), 0755) < 0 && errno != EEXIST)
      return sys_failf("create {}/{}", m.destination, name);
    std::string t = top_path + "/" + name;
    if (::mount(src.c_str(), t.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
      return sys_failf("bind cgroup {} on {}/{}", src, m.destination, name);
    binds.push_back(std::move(t));
  }
  // One recursive mount_setattr gives every bind (and, if read-only, the tmpfs) the
  // mount's flags; it only adds flags, so locked ones (user namespaces) stay as they are.
  MountAttr attr{};
  if (bind_flags & MS_RDONLY) attr.attr_set |= kAttrRdonly;
  if (bind_flags & MS_NOSUID) attr.attr_set |= kAttrNosuid;
  if (bind_flags & MS_NODEV) attr.attr_set |= kAttrNodev;
  if (bind_flags & MS_NOEXEC) attr.attr_set |= kAttrNoexec;
  if (attr.attr_set == 0) return {};
  if (::syscall(SYS_mount_setattr, top.get(), "", AT_EMPTY_PATH | kAtRecursive, &attr,
                sizeof attr) == 0)
    return {};
  if (errno != ENOSYS) return sys_failf("set the flags of {} (mount_setattr)", m.destination);
  // Before 5.12: remount each bind, then the tmpfs.
  for (const auto& t : binds) HULL_CHECK(bind_remount(t, bind_flags, 0, m.destination));
  if (ro && ::mount(nullptr, top_path.c_str(), nullptr,
                    MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
    return sys_failf("remount {} read-only", m.destination);
  return {};
}

Status mount_bind(const RootfsPlan& plan, int rootfd, const oci::Mount& m) {
  std::string src = host_source(plan, m.source);
  struct stat st {};
  if (::stat(src.c_str(), &st) < 0) return sys_failf("mount source {} for {}", src, m.destination);
  auto target = HULL_TRY(mount_target(rootfd, m, S_ISDIR(st.st_mode)));
  std::string t = fd_path(target.get());
  unsigned long f = MS_BIND | (m.recursive ? MS_REC : 0);
  if (::mount(src.c_str(), t.c_str(), nullptr, f, nullptr) < 0)
    return sys_failf("bind {} on {}", src, m.destination);
  if ((m.flags & kRemountable) != 0 || (m.clear_flags & kRemountable) != 0) {
    // The fd still names the directory under the new mount: reopen to reach the mount.
    auto top = HULL_TRY(open_in_root(rootfd, m.destination));
    HULL_CHECK(bind_remount(fd_path(top.get()), m.flags, m.clear_flags, m.destination));
  }
  return {};
}

Status mount_fs(const RootfsPlan& plan, int rootfd, const oci::Mount& m) {
  auto target = HULL_TRY(mount_target(rootfd, m, true));
  struct stat st {};
  if (::fstat(target.get(), &st) < 0) return sys_failf("stat {}", m.destination);
  if (!S_ISDIR(st.st_mode))
    return failf("mount {} on {}: destination is not a directory", m.type, m.destination);
  std::string t = fd_path(target.get());
  unsigned long flags = m.flags & ~(MS_BIND | MS_REC);
  const char* data = m.data.empty() ? nullptr : m.data.c_str();
  if (m.copy_up && m.type == "tmpfs") {
    // The directory the tmpfs is about to hide, copied into it; written before a
    // read-only remount.
    auto hidden = HULL_TRY(open_in_root(rootfd, m.destination, O_RDONLY | O_DIRECTORY));
    if (::mount(m.source.c_str(), t.c_str(), m.type.c_str(), flags & ~MS_RDONLY, data) < 0)
      return sys_fail(fmt::format("mount {} on {} ({})", m.source, m.destination, m.type));
    auto tmpfs = HULL_TRY(open_in_root(rootfd, m.destination, O_RDONLY | O_DIRECTORY));
    HULL_CHECK(fs::copy_tree(hidden.get(), tmpfs.get(), "tmpcopyup " + m.destination));
    if (flags & MS_RDONLY) HULL_CHECK(bind_remount(fd_path(tmpfs.get()), flags, 0, m.destination));
    return {};
  }
  if (::mount(m.source.c_str(), t.c_str(), m.type.c_str(), flags, data) == 0) return {};
  int err = errno;
  if (plan.in_user_ns && err == EPERM && (m.type == "sysfs" || m.type == "mqueue")) {
    // Without its own network (sysfs) or ipc (mqueue) namespace a user namespace may not
    // mount these: bind the host's instead, as runc does.
    oci::Mount b = m;
    b.source = m.type == "sysfs" ? "/sys" : "/dev/mqueue";
    b.recursive = true;
    b.flags = m.flags & kRemountable;
    b.clear_flags = 0;
    return mount_bind(plan, rootfd, b);
  }
  if (plan.in_user_ns && err == EINVAL && m.type == "devpts" &&
      m.data.find("gid=") != std::string::npos) {
    // gid=5 is not mapped in this user namespace: mount without it.
    std::string d;
    for (auto o : split(m.data, ',')) {
      if (o.starts_with("gid=")) continue;
      if (!d.empty()) d += ',';
      d += o;
    }
    if (::mount(m.source.c_str(), t.c_str(), m.type.c_str(), flags, d.c_str()) == 0) return {};
    err = errno;
  }
  return sys_fail(fmt::format("mount {} on {} ({})", m.source, m.destination, m.type), err);
}

}  // namespace

std::string fd_path(int fd) {
  return fmt::format("/proc/self/fd/{}", fd);
}

Result<UniqueFd> open_in_root(int rootfd, std::string_view path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>((flags ? flags : O_PATH) | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel(relative(path));
  long fd = ::syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof how);
  if (fd < 0) {
    if (errno == ENOSYS) return fail("openat2 is not supported by this kernel (needs 5.6)", ENOSYS);
    return sys_failf("open {} in the rootfs", path);
  }
  return UniqueFd(static_cast<int>(fd));
}

namespace {

// Creates what is missing of path, resolving every component inside rootfd. A component
// that is a dangling symlink is followed (inside the root) and its target created, as
// the kernel would resolve it for the mount. depth bounds symlink loops.
Result<UniqueFd> ensure_target_at(int rootfd, std::string_view path, bool dir, int depth,
                                  bool* created = nullptr) {
  if (depth > 40) return failf("create {} in the rootfs: too many levels of symbolic links", path);
  auto fd = open_in_root(rootfd, path);
  if (fd || fd.error().code != ENOENT) return fd;
  if (created) *created = true;
  std::string_view rel = relative(path);
  size_t slash = rel.rfind('/');
  std::string parent(slash == std::string_view::npos ? "." : rel.substr(0, slash));
  std::string name(slash == std::string_view::npos ? rel : rel.substr(slash + 1));
  auto pfd = HULL_TRY(ensure_target_at(rootfd, parent, true, depth + 1));
  int r = dir ? ::mkdirat(pfd.get(), name.c_str(), 0755)
              : ::openat(pfd.get(), name.c_str(),
                         O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (r < 0 && errno != EEXIST) return sys_failf("create {} in the rootfs", path);
  if (r >= 0 && !dir) ::close(r);
  if (r < 0) {
    // It exists but did not resolve: a dangling symlink. Create its target instead.
    char link[4096];
    ssize_t n = ::readlinkat(pfd.get(), name.c_str(), link, sizeof link - 1);
    if (n < 0) return sys_failf("open {} in the rootfs", path);
    std::string target(link, static_cast<size_t>(n));
    if (target.front() != '/') target = parent + "/" + target;
    HULL_TRY(ensure_target_at(rootfd, target, dir, depth + 1));
  }
  return open_in_root(rootfd, path);
}

}  // namespace

Result<UniqueFd> ensure_target(int rootfd, std::string_view path, bool dir, bool* created) {
  return ensure_target_at(rootfd, path, dir, 0, created);
}

Result<UniqueFd> prepare_rootfs(const RootfsPlan& plan) {
  const std::string& prop = plan.spec->linux.rootfs_propagation;
  unsigned long root_flag = MS_SLAVE | MS_REC;
  if (prop == "private" || prop == "rprivate")
    root_flag = MS_PRIVATE | MS_REC;
  else if (prop == "unbindable" || prop == "runbindable")
    root_flag = MS_UNBINDABLE | MS_REC;
  // shared is applied after pivot_root, which refuses a shared parent.
  if (::mount(nullptr, "/", nullptr, root_flag, nullptr) < 0) return sys_fail("make / rslave");
  if (::mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return sys_failf("bind rootfs {} on itself", plan.rootfs);
  UniqueFd fd(::open(plan.rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_failf("open rootfs {}", plan.rootfs);
  return fd;
}

Status mount_all(const RootfsPlan& plan, int rootfd) {
  const auto& mounts = plan.spec->mounts;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const auto& m = mounts[i];
    Status r;
    if (m.type == "cgroup" || m.type == "cgroup2") {
      if (plan.await_join) HULL_CHECK((*plan.await_join)());
      r = mount_cgroups(rootfd, m);
    } else if (m.bind || m.type == "bind") {
      r = mount_bind(plan, rootfd, m);
    } else {
      r = mount_fs(plan, rootfd, m);
    }
    if (!r) return std::unexpected(r.error().wrap(fmt::format("mounts[{}]", i)));
    if (m.rec_attr_set != 0 || m.rec_attr_clr != 0) {
      // "rro", "rnosuid", ...: the whole tree of the mount, submounts included.
      auto top = HULL_TRY(open_in_root(rootfd, m.destination));
      MountAttr attr{m.rec_attr_set, m.rec_attr_clr, 0, 0};
      if (::syscall(SYS_mount_setattr, top.get(), "", AT_EMPTY_PATH | kAtRecursive, &attr,
                    sizeof attr) < 0) {
        if (errno == ENOSYS)
          return failf("mounts[{}]: recursive mount options need mount_setattr (Linux 5.12)", i);
        return sys_failf("mounts[{}]: set the recursive options of {} (mount_setattr)", i,
                         m.destination);
      }
    }
    if (m.propagation) {
      auto top = HULL_TRY(open_in_root(rootfd, m.destination));
      if (::mount(nullptr, fd_path(top.get()).c_str(), nullptr, m.propagation, nullptr) < 0)
        return sys_failf("mounts[{}]: set propagation of {}", i, m.destination);
    }
  }
  return create_devices(plan, rootfd);
}

Status mount_console(int rootfd, int slave_fd) {
  auto target = HULL_TRY(ensure_target(rootfd, "/dev/console", false));
  if (::mount(fd_path(slave_fd).c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) <
      0)
    return sys_fail("bind the console pty on /dev/console");
  return {};
}

Status enter_rootfs(const RootfsPlan& plan, int rootfd, bool no_pivot) {
  if (::fchdir(rootfd) < 0) return sys_failf("chdir {}", plan.rootfs);
  if (no_pivot) {
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) return sys_fail("move rootfs to /");
    if (::chroot(".") < 0) return sys_fail("chroot");
  } else {
    UniqueFd oldroot(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!oldroot) return sys_fail("open /");
    if (::fchdir(rootfd) < 0) return sys_failf("chdir {}", plan.rootfs);
    // pivot_root(".", ".") stacks the old root on top of the new one; unmount it lazily
    // after making it a slave so the unmount does not propagate to the host.
    if (::syscall(SYS_pivot_root, ".", ".") < 0) return sys_fail("pivot_root");
    if (::fchdir(oldroot.get()) < 0) return sys_fail("chdir old root");
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
      return sys_fail("make old root rslave");
    if (::umount2(".", MNT_DETACH) < 0) return sys_fail("unmount old root");
  }
  if (::chdir("/") < 0) return sys_fail("chdir /");
  const std::string& prop = plan.spec->linux.rootfs_propagation;
  if (prop == "shared" || prop == "rshared") {
    if (::mount(nullptr, "/", nullptr, MS_SHARED | MS_REC, nullptr) < 0)
      return sys_fail("make / rshared");
  }
  return {};
}

Status finalize_rootfs(const RootfsPlan& plan) {
  const auto& lx = plan.spec->linux;
  if (!lx.sysctl.empty()) {
    // Written as the host's root: only into a procfs (CVE-2025-52881).
    struct statfs sf {};
    if (::statfs("/proc/sys", &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
      return fail("sysctl: /proc/sys in the container is not a procfs", EPERM);
  }
  for (const auto& [key, value] : lx.sysctl) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    if (auto r = fs::write_existing(path, value); !r)
      return std::unexpected(r.error().wrap(fmt::format("sysctl {}", key)));
  }
  for (const auto& p : lx.readonly_paths) {
    if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;
      return sys_failf("readonly path {}", p);
    }
    HULL_CHECK(make_readonly(p, p));
  }
  // CVE-2025-31133: the container's /dev/null may be a symlink or another file (a /dev that
  // is a volume another container writes to): bound as it is, it would put what it names,
  // say /proc/timer_list, over the masked path. Only the null device itself is bound,
  // through the fd that was checked.
  UniqueFd null_dev;
  auto open_null = [&]() -> Status {
    if (null_dev) return {};
    null_dev.reset(::open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!null_dev || ::fstat(null_dev.get(), &st) < 0)
      return sys_fail("mask paths: open /dev/null");
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
      return fail("mask paths: /dev/null is not the null device (1:3)", EPERM);
    return {};
  };
  for (const auto& p : lx.masked_paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) < 0) {
      if (errno == ENOENT) continue;
      return sys_failf("masked path {}", p);
    }
    int r = 0;
    if (S_ISDIR(st.st_mode)) {
      r = ::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  nullptr);
    } else {
      HULL_CHECK(open_null());
      r = ::mount(fd_path(null_dev.get()).c_str(), p.c_str(), nullptr, MS_BIND, nullptr);
    }
    if (r < 0) return sys_failf("mask {}", p);
  }
  if (plan.spec->root.readonly) HULL_CHECK(make_readonly("/", "/"));
  return {};
}

}  // namespace hull::runtime

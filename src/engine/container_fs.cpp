#include "engine/container_fs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <set>
#include <thread>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/userns.hpp"
#include "image/rootfs.hpp"
#include "image/store.hpp"
#include "image/tree_tar.hpp"
#include "image/unpack.hpp"
#include "runtime/state.hpp"

namespace hull::engine {
namespace {

constexpr int kMaxDepth = 256;

bool is_live(const Container& c) {
  return c.state.status == ContainerStatus::running || c.state.status == ContainerStatus::paused;
}

// The root that paths resolve beneath: a directory, or a detached overlay mount that
// goes with the fd.
struct Tree {
  UniqueFd root;
  bool detached = false;  // a mount of its own, attached to no path
};

bool missing(const Error& e) {
  return e.code == ENOENT || e.code == ENOTDIR;
}

Result<uint64_t> mount_id(int fd) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
    return sys_fail("statx");
  return uint64_t(stx.stx_mnt_id);
}

// A mount point that a never-started container's rootfs lacks, made as its runtime would
// make it at start (a directory, or an empty file for a file's bind): each component
// resolved beneath the root, so a symlink in the rootfs cannot lead the mkdir out of it.
Result<UniqueFd> make_mount_point(int root, const std::string& dest, bool dir) {
  std::string at;
  size_t start = 1;
  while (start <= dest.size()) {
    size_t end = dest.find('/', start);
    if (end == std::string::npos) end = dest.size();
    std::string name = dest.substr(start, end - start);
    start = end + 1;
    if (name.empty()) continue;
    auto parent = HULL_TRY(fs::open_in_root(root, at.empty() ? "/" : at, O_PATH | O_DIRECTORY));
    at += "/" + name;
    const bool last = end == dest.size();
    if (last && !dir) {
      UniqueFd f(::openat(parent.get(), name.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
      if (!f && errno != EEXIST) return sys_failf("create the mount point {}", at);
    } else if (::mkdirat(parent.get(), name.c_str(), 0755) < 0 && errno != EEXIST) {
      return sys_failf("create the mount point {}", at);
    }
  }
  return fs::open_in_root(root, dest, O_PATH);
}

// docker cp of a stopped container sees its volumes and bind mounts, as its processes
// would: each source is cloned (open_tree, recursive like the rbind of its start) and
// attached at its destination inside the detached tree (move_mount onto a mount that is
// attached to no path: Linux 6.15), parents first, read-only for `:ro`. The destination
// resolves beneath the tree's root, through the volumes attached before it, as the
// runtime resolves it; the whole goes away with the tree's fd. write: a missing mount
// point (a container never started) is made; to read, such a volume is left out.
Status attach_mounts(Tree& t, const Container& c, bool write) {
  std::vector<const MountRecord*> ms;
  for (const auto& m : c.config.mounts)
    if (m.type == "bind" || m.type == "volume") ms.push_back(&m);
  if (ms.empty()) return {};
  std::stable_sort(ms.begin(), ms.end(), [](const MountRecord* a, const MountRecord* b) {
    return std::count(a->destination.begin(), a->destination.end(), '/') <
           std::count(b->destination.begin(), b->destination.end(), '/');
  });
  if (!t.detached) {  // --rootfs: a detached clone of the directory to attach them to
    UniqueFd clone(
        int(::syscall(SYS_open_tree, t.root.get(), "",
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH)));
    if (!clone) return sys_failf("open_tree {}", c.config.rootfs_dir);
    t.root = std::move(clone);
    t.detached = true;
  }
  for (const MountRecord* m : ms) {
    const std::string what = m->type == "volume"
                                 ? fmt::format("volume {} at {}", m->name, m->destination)
                                 : fmt::format("bind mount {} at {}", m->source, m->destination);
    UniqueFd src(int(::syscall(SYS_open_tree, AT_FDCWD, m->source.c_str(),
                               OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)));
    if (!src)
      return sys_failf("container {}: open_tree {} of the {}", c.config.name, m->source, what);
    if (!m->rw) {
      mount_attr attr{};
      attr.attr_set = MOUNT_ATTR_RDONLY;
      if (::syscall(SYS_mount_setattr, src.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                    sizeof attr) < 0)
        return sys_failf("container {}: make the {} read-only (mount_setattr)", c.config.name,
                         what);
    }
    auto target = fs::open_in_root(t.root.get(), m->destination, O_PATH);
    if (!target && missing(target.error())) {
      if (!write) continue;  // no mount point: the container never started
      struct stat st {};
      if (::fstat(src.get(), &st) < 0) return sys_failf("stat {}", m->source);
      target = make_mount_point(t.root.get(), m->destination, S_ISDIR(st.st_mode));
    }
    if (!target)
      return std::unexpected(
          target.error().wrap(fmt::format("container {}: {}", c.config.name, what)));
    if (::syscall(SYS_move_mount, src.get(), "", target->get(), "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
      if (errno == EINVAL && m == ms.front()) {
        // Before 6.15 nothing can be mounted on a detached mount: the copy goes on
        // without the volumes, as it did.
        log::warn(
            "container {}: its volumes and bind mounts are left out of the copy (mounting "
            "them on its detached root filesystem needs Linux 6.15)",
            c.config.name);
        return {};
      }
      return sys_failf("container {}: attach the {} (move_mount)", c.config.name, what);
    }
  }
  return {};
}

// A running container's tree as its processes see it: its init's root, through a pidfd
// so that a pid reused since the record was read is never taken for it.
Result<Tree> live_tree(Engine& e, const Container& c) {
  // The runtime's state gives the pid with its start time: the record's pid alone could
  // be another process's by now.
  auto rs = e.store().load(c.config.id);
  if (!rs) return std::unexpected(rs.error().wrap(fmt::format("container {}", c.config.name)));
  const pid_t pid = rs->pid;
  if (pid <= 0) return failf("container {} has no process", c.config.name);
  UniqueFd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd || !runtime::process_alive(pid, rs->pid_start_time))
    return failf("container {} is not running (its process {} is gone)", c.config.name, pid);
  UniqueFd root(
      ::open(fmt::format("/proc/{}/root", pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_failf("open the root of container {} (/proc/{}/root)", c.config.name, pid);
  // Still the same process after the open: the root is the container's.
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) < 0)
    return failf("container {} stopped while its root was opened", c.config.name);
  return Tree{std::move(root)};
}

// write: the tree is written to (a stopped container's overlay then has its upper dir).
// image_only: its root filesystem without its mounts (export), even while it runs.
Result<Tree> open_tree(Engine& e, const Container& c, bool write, bool image_only) {
  if (is_live(c) && !image_only) return live_tree(e, c);
  if (!c.config.rootfs_dir.empty()) {
    UniqueFd root(::open(c.config.rootfs_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_failf("open rootfs {}", c.config.rootfs_dir);
    Tree t{std::move(root)};
    if (!image_only) HULL_CHECK(attach_mounts(t, c, write));
    return t;
  }
  const std::string dir = e.container_dir(c.config.id);
  if (is_live(c)) {
    // Its overlay, mounted on the host while it runs; the container's own mounts are in
    // its mount namespace, not on this one.
    std::string merged = dir + "/merged";
    UniqueFd root(::open(merged.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct statfs sf {};
    if (!root || ::fstatfs(root.get(), &sf) < 0 || sf.f_type != OVERLAYFS_SUPER_MAGIC)
      return failf("container {}: its root filesystem is not mounted on {}", c.config.name, merged);
    return Tree{std::move(root)};
  }
  auto store = HULL_TRY(image::Store::open(e.root()));
  auto m = image::mount_rootfs_detached(store, c.config.image_id, dir, write);
  if (!m) return std::unexpected(m.error().wrap(fmt::format("container {}", c.config.name)));
  Tree t{std::move(*m), true};
  if (!image_only) HULL_CHECK(attach_mounts(t, c, write));
  return t;
}

// A path as docker's cp reads it: "/." at the end copies a directory's content, a "/" at
// the end wants a directory.
struct PathSpec {
  std::string shown;      // as given
  std::string clean;      // without the trailing "/" or "/."; "/" for the root
  std::string dir, base;  // base empty: the root itself
  bool slash = false, dot = false;
};

// Container paths are absolute (a relative one is taken from "/", as docker's), cleaned
// lexically: ".." cannot climb above the root anyway. Host paths are kept as given.
PathSpec parse_path(const std::string& p, bool in_container) {
  PathSpec s;
  s.shown = p;
  s.dot = p == "." || p.ends_with("/.");
  s.slash = s.dot || p.ends_with('/');
  std::string path = p;
  if (in_container) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
      size_t end = path.find('/', start);
      if (end == std::string::npos) end = path.size();
      std::string c = path.substr(start, end - start);
      if (c == "..") {
        if (!parts.empty()) parts.pop_back();
      } else if (!c.empty() && c != ".") {
        parts.push_back(c);
      }
      start = end + 1;
    }
    if (parts.empty()) {
      s.clean = "/";
      s.dir = "/";
      return s;
    }
    for (auto& c : parts) s.clean += "/" + c;
    s.base = parts.back();
    s.dir = s.clean.substr(0, s.clean.size() - s.base.size());
    return s;
  }
  while (path.size() > 1 && (path.ends_with("/.") || path.ends_with('/')))
    path.erase(path.size() - (path.ends_with('/') ? 1 : 2));
  if (path.empty()) path = ".";
  s.clean = path;
  if (path == "/") {
    s.dir = "/";
    return s;
  }
  size_t slash = path.rfind('/');
  s.base = slash == std::string::npos ? path : path.substr(slash + 1);
  s.dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  return s;
}

// Opens path in the container's tree (root >= 0, resolved beneath it) or on the host.
Result<UniqueFd> open_at(int root, const std::string& path, int flags) {
  if (root >= 0) return fs::open_in_root(root, path, flags);
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", path);
  return fd;
}

struct Source {
  UniqueFd obj;  // O_PATH
  struct stat st {};
  std::string name;  // its name in the tar: its base name, "." for a directory's content
};

// where: "in container NAME" for a container's path (root >= 0).
Result<Source> open_source(int root, const PathSpec& p, bool follow, const std::string& where) {
  auto not_found = [&] {
    return root >= 0 ? failf("Could not find the file {} {}", p.shown, where)
                     : failf("{}: no such file or directory", p.shown);
  };
  Result<UniqueFd> obj = std::unexpected(Error{});
  // The last component is followed with -L, or when a "/" asks for a directory (a symlink
  // to one); in the container only beneath its root.
  bool host_dots = root < 0 && (p.base == "." || p.base == "..");
  if (p.base.empty() || follow || p.slash || host_dots) {
    obj = open_at(root, p.clean, O_PATH);
  } else {
    auto parent = open_at(root, p.dir, O_PATH | O_DIRECTORY);
    if (!parent) return missing(parent.error()) ? not_found() : std::unexpected(parent.error());
    obj = UniqueFd(::openat(parent->get(), p.base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!obj->valid()) obj = sys_failf("open {}", p.shown);
  }
  if (!obj) return missing(obj.error()) ? not_found() : std::unexpected(obj.error());
  Source s;
  s.obj = std::move(*obj);
  if (::fstatat(s.obj.get(), "", &s.st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return sys_failf("stat {}", p.shown);
  if (p.slash && !S_ISDIR(s.st.st_mode)) return failf("{}: not a directory", p.shown);
  if (root >= 0 && fs::on_kernel_fs(s.obj.get()))
    return failf("refusing to copy {}: it is on a kernel filesystem (proc, sysfs...)", p.shown);
  if (S_ISDIR(s.st.st_mode) && (p.dot || p.base.empty()))
    s.name = ".";
  else if (host_dots) {
    char buf[4096];
    ssize_t n = ::readlink(fmt::format("/proc/self/fd/{}", s.obj.get()).c_str(), buf, sizeof buf);
    std::string real = n > 0 ? std::string(buf, size_t(n)) : "";
    s.name = real.substr(real.rfind('/') + 1);
    if (s.name.empty()) s.name = ".";
  } else {
    s.name = p.base;
  }
  return s;
}

struct Dest {
  UniqueFd dir;    // the directory the tar is written into
  std::string as;  // the source's name there
};

// docker cp's destination rules: into an existing directory (a directory's content with
// SRC/.), over an existing file, or as a new name in an existing directory.
Result<Dest> resolve_dest(int root, const PathSpec& d, const Source& s, const std::string& where) {
  const bool src_dir = S_ISDIR(s.st.st_mode);
  auto not_found = [&](const std::string& what) {
    return root >= 0 ? failf("Could not find the file {} {}", what, where)
                     : failf("{}: no such file or directory", what);
  };
  auto existing = open_at(root, d.clean, O_PATH);
  if (existing) {
    struct stat st {};
    if (::fstat(existing->get(), &st) < 0) return sys_failf("stat {}", d.shown);
    if (S_ISDIR(st.st_mode)) return Dest{std::move(*existing), s.name};
    if (src_dir) return failf("cannot copy a directory onto the file {}", d.shown);
    if (d.slash) return failf("{}: not a directory", d.shown);
  } else if (!missing(existing.error())) {
    return std::unexpected(existing.error());
  } else if (d.slash && !src_dir) {
    return failf("{}: no such directory (a destination ending in / must exist)", d.shown);
  }
  auto parent = open_at(root, d.dir, O_PATH | O_DIRECTORY);
  if (!parent) return missing(parent.error()) ? not_found(d.dir) : std::unexpected(parent.error());
  return Dest{std::move(*parent), d.base};
}

// fd read to its end, the bytes counted into n (the "transferred" of cp's line).
image::ReadFn counting_reader(int fd, int64_t& n) {
  return [fd, &n](char* buf, size_t len) -> Result<size_t> {
    for (;;) {
      ssize_t got = ::read(fd, buf, len);
      if (got >= 0) {
        n += got;
        return size_t(got);
      }
      if (errno != EINTR) return sys_fail("read the tar");
    }
  };
}

// The source's tar written by a thread into a pipe that unpack_tar reads: the one
// hostile-safe extractor writes every copy. A failed unpack closes the pipe, which ends
// the writer (EPIPE; the verb ignores SIGPIPE).
Result<CopyReport> pipe_copy(int obj, const std::string& as, int dest_dir,
                             const image::UnpackOptions& uo) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return sys_fail("pipe2");
  UniqueFd rd(p[0]), wr(p[1]);
  Status written;
  // Which side failed first: the writer's EPIPE after a failed unpack is not the cause.
  std::atomic<bool> unpack_done = false, writer_first = false;
  std::thread writer([&] {
    written = [&]() -> Status {
      auto tar = HULL_TRY(image::TreeTar::open(wr.get()));
      HULL_CHECK(tar.add(obj, as));
      return tar.close();
    }();
    if (!written && !unpack_done) writer_first = true;
    wr.reset();
  });
  int64_t transferred = 0;
  auto unpacked = image::unpack_stream(counting_reader(rd.get(), transferred), dest_dir, uo);
  unpack_done = true;
  rd.reset();
  writer.join();
  if (!written && (writer_first || unpacked)) return std::unexpected(written.error());
  if (!unpacked) return std::unexpected(unpacked.error());
  return CopyReport{unpacked->size, transferred};
}

// docker's refusal to write into a read-only volume or root filesystem, before anything
// is written: dir is where the copy goes. ro_rootfs: a stopped --read-only container's
// (its detached overlay is mounted writable all the same).
Status check_writable(int root, int dir, bool ro_rootfs) {
  struct statvfs sv {};
  if (::fstatvfs(dir, &sv) < 0) return sys_fail("statvfs the destination");
  const bool in_root = HULL_TRY(mount_id(dir)) == HULL_TRY(mount_id(root));
  if (in_root && ro_rootfs) return fail("container rootfs is marked read-only", EROFS);
  if (!(sv.f_flag & ST_RDONLY)) return {};
  if (in_root) return fail("container rootfs is marked read-only", EROFS);
  return fail("mounted volume is marked read-only", EROFS);
}

Status write_tar(int obj, const std::string& name, int out_fd, bool one_mount) {
  auto tar = HULL_TRY(image::TreeTar::open(out_fd, {.one_mount = one_mount}));
  HULL_CHECK(tar.add(obj, name));
  return tar.close();
}

}  // namespace

Result<CopyReport> copy_from_container(Engine& e, const std::string& ref, const std::string& src,
                                       const std::string& dest, const CopyOptions& o, int out_fd) {
  auto c = HULL_TRY(e.find(ref));
  auto tree = HULL_TRY(open_tree(e, c, false, false));
  const std::string where = "in container " + ref;
  auto s = HULL_TRY(open_source(tree.root.get(), parse_path(src, true), o.follow, where));
  if (dest == "-") {
    HULL_CHECK(write_tar(s.obj.get(), s.name, out_fd, false));
    return CopyReport{};
  }
  auto d = HULL_TRY(resolve_dest(-1, parse_path(dest, false), s, where));
  // Onto the host: owned by the caller (docker's cp does not chown there), without the
  // container's device nodes, set-id bits or whiteout names acting as such.
  image::UnpackOptions uo;
  uo.layer = false;
  uo.no_overwrite_dir_nondir = true;
  uo.owner = std::pair{::geteuid(), ::getegid()};
  uo.to_host = true;
  auto r = HULL_TRY(pipe_copy(s.obj.get(), d.as, d.dir.get(), uo));
  // docker's figure: a file's size, a directory's tar.
  if (!S_ISDIR(s.st.st_mode))
    r.content = S_ISREG(s.st.st_mode) ? s.st.st_size : 0;
  else
    r.content = r.transferred;
  return r;
}

Result<CopyReport> copy_to_container(Engine& e, const std::string& src, const std::string& ref,
                                     const std::string& dest, const CopyOptions& o, int in_fd) {
  auto c = HULL_TRY(e.find(ref));
  std::optional<Source> s;
  if (src != "-") s = HULL_TRY(open_source(-1, parse_path(src, false), o.follow, ""));
  auto tree = HULL_TRY(open_tree(e, c, true, false));
  const std::string where = "in container " + ref;
  bool ro_rootfs = false;
  if (!is_live(c))
    if (auto spec = e.load_spec(c.config.id)) ro_rootfs = spec->root.readonly;
  // Into the container: its root's (hull shares its user namespace, so 0:0 is the
  // container's root, rootless too) unless -a keeps the source's ids.
  image::UnpackOptions uo;
  uo.layer = false;
  uo.no_overwrite_dir_nondir = true;
  if (!o.archive) uo.owner = std::pair{uid_t(0), gid_t(0)};
  uo.refuse_kernel_fs = true;
  PathSpec d = parse_path(dest, true);
  if (!s) {
    auto dir = fs::open_in_root(tree.root.get(), d.clean, O_PATH);
    if (!dir && missing(dir.error())) return failf("Could not find the file {} {}", dest, where);
    if (!dir) return std::unexpected(dir.error());
    struct stat st {};
    if (::fstat(dir->get(), &st) < 0) return sys_failf("stat {}", dest);
    if (!S_ISDIR(st.st_mode))
      return failf("destination {} must be a directory to copy a tar stream into", dest);
    HULL_CHECK(check_writable(tree.root.get(), dir->get(), ro_rootfs));
    int64_t transferred = 0;
    auto r = image::unpack_stream(counting_reader(in_fd, transferred), dir->get(), uo);
    if (!r) return std::unexpected(r.error().wrap("copy the tar from stdin"));
    return CopyReport{r->size, transferred};
  }
  auto dd = HULL_TRY(resolve_dest(tree.root.get(), d, *s, where));
  HULL_CHECK(check_writable(tree.root.get(), dd.dir.get(), ro_rootfs));
  return pipe_copy(s->obj.get(), dd.as, dd.dir.get(), uo);
}

Status export_container(Engine& e, const std::string& ref, int out_fd) {
  auto c = HULL_TRY(e.find(ref));
  auto tree = HULL_TRY(open_tree(e, c, false, true));
  return write_tar(tree.root.get(), ".", out_fd, true);
}

namespace {

// moby's overlay change walk (pkg/archive/changes.go, OverlayChanges) over the upper dir,
// with the image's layers (top first) as the lowers: a whiteout is D, an opaque directory
// that hides a lower one is D (its new content A beneath it), a name a lower has is C
// (not for a directory of the same size, mode and time), anything else A; the parent of
// an A or D is C once, unless reported already. Names in each directory bytewise, as
// filepath.Walk.
class ChangeWalk {
 public:
  explicit ChangeWalk(std::vector<UniqueFd> lowers) : lowers_(std::move(lowers)) {}

  Status walk(int dir, const std::string& path, int depth) {
    if (depth > kMaxDepth) return failf("{}: more than {} directory levels", path, kMaxDepth);
    for (const auto& name : HULL_TRY(fs::dir_names(dir, path.empty() ? "/" : path))) {
      std::string p = path + "/" + name;
      struct stat st {};
      if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) continue;
        return sys_failf("stat {}", p);
      }
      UniqueFd child;
      if (S_ISDIR(st.st_mode)) {
        child.reset(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!child) return sys_failf("open {}", p);
      }
      char kind = 'A';
      bool skip = false;
      if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
        kind = 'D';
      } else if (child && opaque(child.get()) && hides_lower(p)) {
        kind = 'D';
      } else {
        for (auto& l : lowers_) {
          struct stat ls {};
          if (!stat_in(l.get(), p, ls)) continue;
          if (S_ISDIR(ls.st_mode) && S_ISDIR(st.st_mode) && ls.st_size == st.st_size &&
              ls.st_mode == st.st_mode && same_time(ls.st_mtim, st.st_mtim))
            skip = true;
          kind = 'C';
          break;
        }
      }
      if (!skip) {
        if (S_ISDIR(st.st_mode)) changed_dirs_.insert(p);
        if (kind != 'C') {
          std::string parent = p.substr(0, p.rfind('/'));
          if (!parent.empty() && changed_dirs_.insert(parent).second) out_.push_back("C " + parent);
        }
        out_.push_back(fmt::format("{} {}", kind, p));
      }
      if (child) HULL_CHECK(walk(child.get(), p, depth + 1));
    }
    return {};
  }

  std::vector<std::string> take() { return std::move(out_); }

 private:
  static bool opaque(int dir) {
    const char* name =
        userns::running_in_user_ns() ? "user.overlay.opaque" : "trusted.overlay.opaque";
    char v[2];
    return ::fgetxattr(dir, name, v, sizeof v) == 1 && v[0] == 'y';
  }
  // Docker's os.Stat(layer/path), resolved inside the layer.
  static bool stat_in(int layer, const std::string& p, struct stat& st) {
    auto fd = fs::open_in_root(layer, p, O_PATH);
    return fd && ::fstat(fd->get(), &st) == 0;
  }
  bool hides_lower(const std::string& p) {
    for (auto& l : lowers_) {
      struct stat ls {};
      if (stat_in(l.get(), p, ls)) return !(S_ISCHR(ls.st_mode) && ls.st_rdev == 0);
    }
    return false;
  }
  // Go's sameFsTime: equal, or equal seconds where one side has no nanoseconds.
  static bool same_time(const timespec& a, const timespec& b) {
    return a.tv_sec == b.tv_sec && (a.tv_nsec == b.tv_nsec || a.tv_nsec == 0 || b.tv_nsec == 0);
  }

  std::vector<UniqueFd> lowers_;
  std::set<std::string> changed_dirs_;
  std::vector<std::string> out_;
};

}  // namespace

Result<std::vector<std::string>> container_changes(Engine& e, const std::string& ref) {
  auto c = HULL_TRY(e.find(ref));
  if (!c.config.rootfs_dir.empty())
    return failf(
        "container {} runs on the directory {} (--rootfs): it has no layer of its own "
        "to compare",
        ref, c.config.rootfs_dir);
  std::string upper = e.container_dir(c.config.id) + "/upper";
  UniqueFd up(::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!up) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return sys_failf("open {}", upper);
  }
  auto store = HULL_TRY(image::Store::open(e.root()));
  auto layers = HULL_TRY(store.layers(c.config.image_id));
  std::vector<UniqueFd> lowers;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    std::string dir = store.layer_dir(it->diff_id);
    UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return sys_failf("open layer {}", dir);
    lowers.push_back(std::move(fd));
  }
  ChangeWalk w(std::move(lowers));
  HULL_CHECK(w.walk(up.get(), "", 0));
  return w.take();
}

}  // namespace hull::engine

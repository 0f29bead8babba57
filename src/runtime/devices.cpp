// Device nodes in the container's /dev.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/rootfs.hpp"

namespace hull::runtime {
namespace {

struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};

constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

constexpr std::pair<const char*, const char*> kDevLinks[] = {
    {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

bool dev_is_bind(const oci::Spec& spec) {
  for (const auto& m : spec.mounts)
    if (m.destination == "/dev" && (m.bind || m.type == "bind")) return true;
  return false;
}

mode_t type_bits(char t) {
  switch (t) {
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    default:
      return S_IFCHR;
  }
}

// The directory fd of "/dev" is opened once and reused for the nodes directly in it.
Status make_node(const RootfsPlan& plan, int rootfd, int devdir, const std::string& path, char type,
                 dev_t dev, mode_t mode, uid_t uid, gid_t gid, bool chown) {
  if (plan.in_user_ns) {
    // mknod needs CAP_MKNOD in the initial user namespace: bind the host's node instead.
    auto target = HULL_TRY(ensure_target(rootfd, path, false));
    if (::mount(path.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) < 0)
      return sys_failf("bind device {}", path);
    return {};
  }
  std::string_view p(path);
  size_t slash = p.rfind('/');
  UniqueFd own;
  int parent = devdir;
  if (p.substr(0, slash) != "/dev") {
    own = HULL_TRY(ensure_target(rootfd, p.substr(0, slash), true));
    parent = own.get();
  }
  std::string name(p.substr(slash + 1));
  // The umask is 0 here (create_devices), so mknod sets the mode exactly. Never a setuid or
  // setgid node: runc and crun chown every node they make, which clears those bits.
  if (::mknodat(parent, name.c_str(), type_bits(type) | (mode & 01777), dev) < 0) {
    if (errno != EEXIST) return sys_failf("mknod {}", path);
    return {};  // a node the rootfs already has is left as it is
  }
  if (chown && ::fchownat(parent, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_failf("chown {}", path);
  return {};
}

}  // namespace

Status create_devices(const RootfsPlan& plan, int rootfd) {
  const oci::Spec& spec = *plan.spec;
  if (dev_is_bind(spec)) return {};
  auto devdir = HULL_TRY(ensure_target(rootfd, "/dev", true));
  struct UmaskZero {
    mode_t old = ::umask(0);
    ~UmaskZero() { ::umask(old); }
  } umask_zero;
  // A linux.devices entry at a default device's path replaces it, as in runc and crun.
  auto configured = [&](std::string_view path) {
    for (const auto& d : spec.linux.devices)
      if (d.path == path) return true;
    return false;
  };
  for (const auto& d : kDefaultDevices) {
    if (configured(d.path)) continue;
    HULL_CHECK(make_node(plan, rootfd, devdir.get(), d.path, 'c', makedev(d.major, d.minor), 0666,
                         0, 0, false));
  }
  for (const auto& d : spec.linux.devices) {
    dev_t dev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
    HULL_CHECK(make_node(plan, rootfd, devdir.get(), d.path, d.type, dev,
                         d.file_mode.value_or(0666), d.uid.value_or(0), d.gid.value_or(0),
                         d.uid || d.gid));
  }
  for (const auto& [name, target] : kDevLinks) {
    if (::symlinkat(target, devdir.get(), name) < 0 && errno != EEXIST)
      return sys_failf("symlink /dev/{}", name);
  }
  if (::access("/proc/kcore", F_OK) == 0 && ::symlinkat("/proc/kcore", devdir.get(), "core") < 0 &&
      errno != EEXIST)
    return sys_fail("symlink /dev/core");
  return {};
}

}  // namespace hull::runtime

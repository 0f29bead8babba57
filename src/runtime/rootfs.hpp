// Root filesystem set-up inside the container's mount namespace: propagation, the mounts
// of config.json, devices, pivot_root and the final masked/read-only paths. Every target
// is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT) and mounted through its
// /proc/self/fd path, so a symlink planted in the rootfs (or swapped in during set-up,
// CVE-2021-30465) cannot redirect a mount outside it.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "oci/spec.hpp"

namespace hull::runtime {

struct RootfsPlan {
  const oci::Spec* spec = nullptr;
  std::string rootfs;
  std::string bundle;
  bool in_user_ns = false;
  // Called before a cgroup mount, which binds the cgroups this process is in: returns
  // once the parent has joined it to the container's (nullptr: already there).
  const std::function<Status()>* await_join = nullptr;
};

// Opens path (relative to, and confined in, rootfd) with O_PATH unless flags say otherwise.
Result<UniqueFd> open_in_root(int rootfd, std::string_view path, int flags = 0);
// The magic link that names an open fd, for mount(2) targets.
std::string fd_path(int fd);

// Sets "/" propagation and makes the rootfs a mount point. Returns an fd of the rootfs.
Result<UniqueFd> prepare_rootfs(const RootfsPlan& plan);
// Mounts config.json's mounts in order, then the default devices and linux.devices.
Status mount_all(const RootfsPlan& plan, int rootfd);
// The default devices (null, zero, full, random, urandom, tty), linux.devices and the
// /dev symlinks; mknod, or a bind of the host's node inside a user namespace.
Status create_devices(const RootfsPlan& plan, int rootfd);
// Creates a missing mount target (directory, or empty file when !dir) inside rootfd.
Result<UniqueFd> ensure_target(int rootfd, std::string_view path, bool dir,
                               bool* created = nullptr);
// Binds the pty slave over /dev/console.
Status mount_console(int rootfd, int slave_fd);
// pivot_root into the rootfs (or MS_MOVE + chroot with no_pivot); cwd is "/" after.
Status enter_rootfs(const RootfsPlan& plan, int rootfd, bool no_pivot);
// After the switch: sysctls, read-only and masked paths, read-only root.
Status finalize_rootfs(const RootfsPlan& plan);

}  // namespace hull::runtime

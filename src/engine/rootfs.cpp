#include "engine/rootfs.hpp"

#include <sys/mount.h>

#include "common/fs.hpp"
#include "common/mountinfo.hpp"

namespace hull::engine {

Status prepare_rootfs(const ContainerConfig& c, const std::string&, const std::string&) {
  if (!c.rootfs_dir.empty()) return {};
  return failf("image {}: no image store in this build: use --rootfs DIR", c.image);
}

Status release_rootfs(const ContainerConfig& c, const std::string&,
                      const std::string& container_dir) {
  if (!c.rootfs_dir.empty()) return {};
  std::string target = container_dir + "/merged";
  if (::umount2(target.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return sys_failf("umount {}", target);
  return {};
}

Status remove_rootfs(const ContainerConfig& c, const std::string& root,
                     const std::string& container_dir) {
  return release_rootfs(c, root, container_dir);
}

}  // namespace hull::engine

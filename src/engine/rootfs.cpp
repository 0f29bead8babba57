// Image rootfs through src/image: an overlay of the image's layers with the container's
// own upper dir, mounted on <container_dir>/merged while the container runs.
#include "engine/rootfs.hpp"

#include <sys/mount.h>

#include "common/fs.hpp"
#include "image/rootfs.hpp"
#include "image/store.hpp"

namespace hull::engine {

Status prepare_rootfs(const ContainerConfig& c, const std::string& root,
                      const std::string& container_dir) {
  if (!c.rootfs_dir.empty()) return {};
  auto store = HULL_TRY(image::Store::open(root));
  auto m = image::mount_rootfs(store, c.image_id, container_dir, c.auto_remove);
  if (!m) return std::unexpected(m.error().wrap(fmt::format("rootfs of image {}", c.image)));
  return {};
}

Status release_rootfs(const ContainerConfig& c, const std::string&,
                      const std::string& container_dir) {
  if (!c.rootfs_dir.empty()) return {};
  return image::unmount_rootfs(container_dir);
}

Status remove_rootfs(const ContainerConfig& c, const std::string& root,
                     const std::string& container_dir) {
  HULL_CHECK(release_rootfs(c, root, container_dir));
  return release_image(c, root);
}

Status release_image(const ContainerConfig& c, const std::string& root) {
  if (c.rootfs_dir.empty()) {
    auto store = image::Store::open(root);
    if (store) HULL_CHECK(store->release(c.id));
  }
  return {};
}

}  // namespace hull::engine

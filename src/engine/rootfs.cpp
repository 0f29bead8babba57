// Image rootfs through src/image: an overlay of the image's layers with the container's
// own upper dir, mounted on <container_dir>/merged while the container runs.
#include "engine/rootfs.hpp"

#include <sys/mount.h>

#include <optional>

#include "common/fs.hpp"
#include "engine/volumes.hpp"
#include "image/rootfs.hpp"
#include "image/store.hpp"

namespace hull::engine {

namespace {

// The caller's store, or one opened here (kept in `opened`).
Result<image::Store*> store_of(image::Store* images, const std::string& root,
                               std::optional<image::Store>& opened) {
  if (images) return images;
  opened.emplace(HULL_TRY(image::Store::open(root)));
  return &*opened;
}

}  // namespace

Status prepare_rootfs(const ContainerConfig& c, const std::string& root,
                      const std::string& container_dir, image::Store* images) {
  if (!c.rootfs_dir.empty()) return populate_volumes(c, c.rootfs_dir);
  std::optional<image::Store> opened;
  image::Store* store = HULL_TRY(store_of(images, root, opened));
  auto m = image::mount_rootfs(*store, c.image_id, container_dir, c.auto_remove);
  if (!m) return std::unexpected(m.error().wrap(fmt::format("rootfs of image {}", c.image)));
  if (auto r = populate_volumes(c, m->merged); !r) {
    (void)image::unmount_rootfs(container_dir);
    return r;
  }
  return {};
}

Status release_rootfs(const ContainerConfig& c, const std::string&,
                      const std::string& container_dir) {
  if (!c.rootfs_dir.empty()) return {};
  return image::unmount_rootfs(container_dir);
}

Status remove_rootfs(const ContainerConfig& c, const std::string& root,
                     const std::string& container_dir, image::Store* images) {
  HULL_CHECK(release_rootfs(c, root, container_dir));
  return release_image(c, root, images);
}

Status release_image(const ContainerConfig& c, const std::string& root, image::Store* images) {
  if (!c.rootfs_dir.empty()) return {};
  std::optional<image::Store> opened;
  auto store = store_of(images, root, opened);
  if (store) HULL_CHECK((*store)->release(c.id));
  return {};
}

}  // namespace hull::engine

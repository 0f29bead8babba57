// Image rootfs through src/image: an overlay of the image's layers with the container's
// own upper dir, mounted on <container_dir>/merged while the container runs.
#include "engine/rootfs.hpp"

#include <ftw.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <set>
#include <utility>

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

// nftw's callback has no argument for its caller's state: the walk in progress.
thread_local struct SizeWalk {
  int64_t bytes = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
} size_walk;

int add_size(const char*, const struct stat* st, int type, FTW*) {
  if (type != FTW_F && type != FTW_SL) return 0;  // directories, unreadable entries
  if (st->st_size <= 0) return 0;
  if (st->st_nlink > 1 && !size_walk.seen.emplace(st->st_dev, st->st_ino).second) return 0;
  size_walk.bytes += st->st_size;
  return 0;
}

}  // namespace

int64_t files_size(const std::string& dir) {
  size_walk = {};
  (void)::nftw(dir.c_str(), add_size, 64, FTW_PHYS | FTW_MOUNT);
  return std::exchange(size_walk, {}).bytes;
}

ContainerSize container_size(const ContainerConfig& c, const std::string& container_dir,
                             int64_t image_size) {
  if (!c.rootfs_dir.empty()) return {0, files_size(c.rootfs_dir)};
  int64_t rw = files_size(container_dir + "/upper");
  return {rw, rw + image_size};
}

std::map<std::string, int64_t> image_sizes(const image::Store& images) {
  std::map<std::string, int64_t> sizes;
  if (auto list = images.list())
    for (const auto& img : *list) sizes[img.id] = img.size;
  return sizes;
}

ContainerSize container_size(const ContainerConfig& c, const std::string& container_dir,
                             const std::map<std::string, int64_t>& image_sizes) {
  auto it = image_sizes.find(c.image_id);
  return container_size(c, container_dir, it == image_sizes.end() ? 0 : it->second);
}

namespace {

// --ipc shareable: /dev/shm is a tmpfs of the host's at <container_dir>/shm (docker's
// mounts/shm), so that a container:NAME joiner binds the same one. Made at each start,
// gone at each stop, with the rootfs.
Status mount_shm(const ContainerConfig& c, const std::string& container_dir) {
  if (c.ipc_mode != "shareable") return {};
  const std::string shm = container_dir + "/shm";
  if (::mkdir(shm.c_str(), 0700) < 0 && errno != EEXIST) return sys_failf("mkdir {}", shm);
  (void)::umount2(shm.c_str(), MNT_DETACH);  // left by a killed monitor
  const std::string data = fmt::format("mode=1777,size={}", c.shm_size);
  if (::mount("shm", shm.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data.c_str()) < 0)
    return sys_failf("mount tmpfs on {}", shm);
  return {};
}

// Idempotent, whatever the config says (`hull __exited --removed` has none).
void unmount_shm(const std::string& container_dir) {
  const std::string shm = container_dir + "/shm";
  if (::umount2(shm.c_str(), MNT_DETACH) == 0 || errno == EINVAL) (void)::rmdir(shm.c_str());
}

Status prepare_image_rootfs(const ContainerConfig& c, const std::string& root,
                            const std::string& container_dir, image::Store* images);

}  // namespace

Status prepare_rootfs(const ContainerConfig& c, const std::string& root,
                      const std::string& container_dir, image::Store* images) {
  HULL_CHECK(mount_shm(c, container_dir));
  auto r = prepare_image_rootfs(c, root, container_dir, images);
  if (!r) unmount_shm(container_dir);
  return r;
}

namespace {

Status prepare_image_rootfs(const ContainerConfig& c, const std::string& root,
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

}  // namespace

Status release_rootfs(const ContainerConfig& c, const std::string&,
                      const std::string& container_dir) {
  unmount_shm(container_dir);
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

// The container's root filesystem: the image's layers mounted (overlay with a writable
// upper of the container's own) at <container_dir>/rootfs while it runs, or the
// directory given with --rootfs, used as is.
#pragma once

#include <string>

#include "common/error.hpp"
#include "engine/record.hpp"

namespace hull::image {
class Store;
}

namespace hull::engine {

// `images`: the caller's open image store (one connection per process), or null to open
// one at root.
Status prepare_rootfs(const ContainerConfig& c, const std::string& root,
                      const std::string& container_dir, image::Store* images = nullptr);
// Idempotent: nothing to do when not mounted.
Status release_rootfs(const ContainerConfig& c, const std::string& root,
                      const std::string& container_dir);
// Drops the hold on its image only.
Status release_image(const ContainerConfig& c, const std::string& root,
                     image::Store* images = nullptr);
// Drops the container's writable layer and the hold on its image (at rm).
Status remove_rootfs(const ContainerConfig& c, const std::string& root,
                     const std::string& container_dir, image::Store* images = nullptr);

}  // namespace hull::engine

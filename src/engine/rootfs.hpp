// The container's root filesystem: the image's layers mounted (overlay with a writable
// upper of the container's own) at <container_dir>/rootfs while it runs, or the
// directory given with --rootfs, used as is.
#pragma once

#include <cstdint>
#include <map>
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

// docker's SizeRw and SizeRootFs (`ps -s`): the bytes of the files the container wrote
// (its upper dir; none with --rootfs, which is written in place), and those plus its
// image's layers (the --rootfs directory's files).
struct ContainerSize {
  int64_t rw = 0, root_fs = 0;
};
// image_size: the container's image's size, as the image store lists it.
ContainerSize container_size(const ContainerConfig& c, const std::string& container_dir,
                             int64_t image_size);
// Each image's size by id, as the image store lists them (for container_size); empty
// when the list cannot be read.
std::map<std::string, int64_t> image_sizes(const image::Store& images);
// container_size with the image's size from such a map (0 for an image not in it).
ContainerSize container_size(const ContainerConfig& c, const std::string& container_dir,
                             const std::map<std::string, int64_t>& image_sizes);
// moby's directory.Size: the sizes of everything under dir but directories, a hard-linked
// file once, symlinks not followed, other filesystems not entered; 0 if dir is missing.
int64_t files_size(const std::string& dir);

}  // namespace hull::engine

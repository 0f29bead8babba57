// A container's root filesystem: an overlay of the image's layer stack plus an upper and
// work dir of its own. The layers go in with fsconfig "lowerdir+" (Linux 6.8), one call
// per layer, so no option string limits their number; older kernels get mount(2) with
// short relative link names from inside ROOT/l.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "image/store.hpp"

namespace hull::image {

struct RootfsMount {
  std::string merged, upper, work;
};

// Creates container_dir/{upper,work,merged} and mounts the overlay on merged.
// volatile_upper: overlay's "volatile" (no syncs, so the unmount does not flush the upper
// dir) for a container whose upper dir is thrown away when it exits (--rm); such an upper
// dir can never be mounted again after a crash, which --rm never needs.
Result<RootfsMount> mount_rootfs(Store& store, const std::string& image_id,
                                 const std::string& container_dir, bool volatile_upper = false);
// The container's root filesystem as an overlay mount attached to no path (fsmount), for
// hull cp, export and diff of a container that is not running: closing the fd is the
// unmount, so nothing stays mounted whatever happens. writable: with the container's
// upper and work dirs (the container must not be running); else read-only, its upper dir
// as the top lower layer.
Result<UniqueFd> mount_rootfs_detached(Store& store, const std::string& image_id,
                                       const std::string& container_dir, bool writable);
// Unmounts container_dir/merged (detached if busy); leaves upper for the caller to remove.
Status unmount_rootfs(const std::string& container_dir);

}  // namespace hull::image

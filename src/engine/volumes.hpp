// Named and anonymous volumes filled from the image, as docker fills them: the first time
// a container mounts an empty volume, what the image has at the mount's destination is
// copied into it (owner, mode, times, symlinks, device nodes), unless `:nocopy` /
// `volume-nocopy`. Bind mounts are never touched.
#pragma once

#include <string>

#include "common/error.hpp"
#include "engine/record.hpp"

namespace hull::engine {

// `rootfs`: the container's root filesystem, mounted (its content is the image's and is
// untrusted: the destination resolves inside it, nothing in it is followed).
Status populate_volumes(const ContainerConfig& c, const std::string& rootfs);

}  // namespace hull::engine

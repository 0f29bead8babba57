// Layer unpack (internal to image/): a tar stream, gzip, zstd or plain, written beneath a
// directory with OCI whiteouts turned into overlay whiteouts. Layers are hostile: no entry
// may write outside the target, so paths are walked one component at a time with
// O_NOFOLLOW and a symlink anywhere but the last component is refused.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace hull::image {

struct UnpackResult {
  std::string diff_id;  // "sha256:" of the uncompressed tar
  int64_t size = 0;     // bytes of regular file content
};

// Reads the archive from fd (to its end) and writes it beneath target_dirfd.
Result<UnpackResult> unpack_tar(int fd, int target_dirfd);

// "gzip", "zstd" or "" (plain) from the first bytes of a blob.
std::string detect_compression(std::string_view head);

}  // namespace hull::image

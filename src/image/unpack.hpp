// Layer unpack (internal to image/): a tar stream, gzip, zstd or plain, written beneath a
// directory with OCI whiteouts turned into overlay whiteouts. Layers are hostile: no entry
// may write outside the target, so paths are walked one component at a time with
// O_NOFOLLOW and a symlink anywhere but the last component is refused.
#pragma once

#include <sys/types.h>
#include <cstddef>
#include <cstdint>

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "common/error.hpp"

namespace hull::image {

struct UnpackResult {
  std::string diff_id;  // "sha256:" of the uncompressed tar
  int64_t size = 0;     // bytes of regular file content
};

// Where a layer's bytes come from: fills up to len bytes of buf, returns how many, 0 at
// the end. pull hands one that follows a blob while it downloads.
using ReadFn = std::function<Result<size_t>(char* buf, size_t len)>;

// What may follow a tar's end-of-archive marker (padding, read for the diff id): tar
// writers pad to a record, 10 KiB by default. More than this is refused: a stream of
// zeros would otherwise be read for ever.
constexpr int64_t kMaxTrailingBytes = int64_t(16) << 20;

// How a tar is written. The defaults are an image layer's; hull cp's tars are plain
// files (its tar from stdin is as hostile as a layer: the same walk refuses "..",
// absolute names and writes through symlinks).
struct UnpackOptions {
  // OCI whiteouts (".wh.NAME", ".wh..wh..opq") become overlay whiteouts; false: such names
  // are ordinary files (a container's file named .wh.x deletes nothing on the host).
  bool layer = true;
  // Every entry owned by this uid:gid instead of the tar's (hull cp without -a).
  std::optional<std::pair<uid_t, gid_t>> owner;
  // A container's files written onto the host: no device nodes (left out, with a
  // warning) and no set-uid/set-gid bits, so a hostile container cannot plant either in
  // a host directory through an innocent copy.
  bool to_host = false;
  // docker's NoOverwriteDirNonDir: an existing directory is not replaced by a file (nor
  // removed with its content), an existing file or symlink not by a directory; an error.
  bool no_overwrite_dir_nondir = false;
  // Refuse to write into a directory on a kernel filesystem (proc, sysfs, cgroupfs...):
  // a container's /proc reached through its root is the host's kernel.
  bool refuse_kernel_fs = false;
};

// Reads the archive (to its end, at most kMaxTrailingBytes past the tar's) and writes it
// beneath target_dirfd. gzip is inflated
// with ISA-L (about twice zlib's speed), zstd through libarchive, anything else is
// taken as a plain tar.
Result<UnpackResult> unpack_stream(const ReadFn& read, int target_dirfd,
                                   const UnpackOptions& opts = {});

// The same from an fd, read to its end.
Result<UnpackResult> unpack_tar(int fd, int target_dirfd, const UnpackOptions& opts = {});

// Loads libarchive (dlopen()ed on its first use, ~2.5 ms with its dependencies) ahead
// of the first unpack, from a thread that would otherwise wait.
void preload_unpacker();

// "gzip", "zstd" or "" (plain) from the first bytes of a blob.
std::string detect_compression(std::string_view head);

}  // namespace hull::image

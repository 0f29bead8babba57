// A directory tree (or one file) written as a tar stream: `hull cp` out of a container or
// from the host, `hull export`. The tree may be a hostile container's: nothing in it is
// followed. Every entry is opened relative to its parent's fd with O_NOFOLLOW, a symlink
// is stored as a symlink, a FIFO or device as a header (never opened), a regular file is
// opened O_NONBLOCK and checked to still be one, and a file that changes size while it is
// read is cut or zero-padded to the size in its header. The tar is read back by
// image::unpack_tar (the hostile-safe extractor). Regular files and directories carry
// the extended attributes that copied_xattr() keeps.
#pragma once

#include <sys/stat.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

struct archive;

namespace hull::image {

// The extended attributes hull cp and hull export carry (docker's tar carries them all as
// SCHILY.xattr records): user.* and security.capability (file capabilities), and no
// others. trusted.* and the rest of security.* (selinux, ima, evm...) are the host's
// policy, meaningless or hostile elsewhere; overlay's own (trusted.overlay.*, and
// user.overlay.* in a user namespace) would forge whiteouts, opaque directories and
// redirects in an upper dir. to_host: security.capability too is left out, as set-id
// bits are (a hostile container's file must not give a host user capabilities).
bool copied_xattr(std::string_view name, bool to_host);
// A hostile file's attributes are bounded: a name of at most 255 bytes (XATTR_NAME_MAX),
// a value of at most 64 KiB (XATTR_SIZE_MAX), at most 1 MiB of values per file.
constexpr size_t kMaxXattrName = 255;
constexpr size_t kMaxXattrValue = 64 << 10;
constexpr size_t kMaxXattrBytes = 1 << 20;

struct Xattr {
  std::string name, value;
};

struct TreeTarOptions {
  // Do not enter other mounts below the top (docker export: the root filesystem alone,
  // not the volumes or /proc): their mount points are written as empty directories.
  bool one_mount = false;
};

class TreeTar {
 public:
  // Writes to out_fd (not owned; a pipe, stdout or a file). pax format, as hull save.
  static Result<TreeTar> open(int out_fd, const TreeTarOptions& opts = {});
  TreeTar(TreeTar&&) noexcept;
  TreeTar& operator=(TreeTar&&) = delete;
  ~TreeTar();

  // Adds the file `obj` (an fd of any type, O_PATH | O_NOFOLLOW is enough) as `name`
  // ("a", "a/b"; "." adds a directory's children without itself), a directory with
  // everything beneath it. Directories on a kernel filesystem (proc, sysfs...) are
  // written without their content.
  Status add(int obj, const std::string& name);
  // Ends the archive (its end-of-archive blocks).
  Status close();

 private:
  TreeTar() = default;
  Status add_at(int obj, const struct stat& st, const std::string& name, int depth,
                uint64_t mnt_id);
  Status header(const struct stat& st, const std::string& name, const std::string& link,
                bool hardlink, const std::vector<Xattr>& xattrs = {});
  Status content(int fd, const struct stat& st, const std::string& name);
  struct archive* a_ = nullptr;
  TreeTarOptions opts_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // first name of each hardlinked file
};

}  // namespace hull::image

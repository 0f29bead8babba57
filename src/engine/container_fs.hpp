// A container's files from the host: `hull cp`, `hull diff` and `hull export`.
//
// The container's filesystem is hostile: it may hold symlinks to "/" or "../../..", swap a
// directory for a symlink while a copy runs, or offer a FIFO where a file was. Every path
// inside it is resolved with its root as "/" (openat2 RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS) to an fd, and everything below that fd is opened one component
// at a time with O_NOFOLLOW (image::TreeTar to read, image::unpack_tar to write), so no
// read or write leaves the container's tree (the CVE-2018-15664 and CVE-2019-14271
// classes). hull cp runs no program of the container's, and loads nothing from it.
//
// Which tree: a running (or paused) container's as its processes see it, through
// /proc/PID/root of its init: the volumes, bind mounts and tmpfs mounts included (as
// docker's cp). A created or stopped one's is its overlay (the image's layers and its
// upper dir) mounted attached to no path (fsmount), with its volumes and bind mounts
// attached inside it (open_tree + move_mount, read-only for `:ro`): closing the fd
// unmounts it all, so nothing is left mounted even if hull dies. Kernel filesystems
// (/proc, /sys, cgroupfs...) are never read or written.
//
// Extended attributes: user.* and security.capability are carried (image::copied_xattr),
// not onto the host's files security.capability; nothing else (trusted.overlay.* could
// forge whiteouts in an upper dir).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/engine.hpp"

namespace hull::engine {

struct CopyOptions {
  bool archive = false;  // -a: keep the source's uid/gid (else 0:0, the container's root)
  bool follow = false;   // -L: follow a symlink that SRC names
};

// What a copy moved, for docker's "Successfully copied" line.
struct CopyReport {
  int64_t content = 0;      // a file's size, a directory's tar, the content written into one
  int64_t transferred = 0;  // bytes of the tar between the two sides
};

// hull cp CONTAINER:SRC DEST ("-": a tar on out_fd, and an empty report).
Result<CopyReport> copy_from_container(Engine& e, const std::string& ref, const std::string& src,
                                       const std::string& dest, const CopyOptions& o, int out_fd);
// hull cp SRC CONTAINER:DEST ("-": a tar read from in_fd, hostile like a layer). A write
// into a read-only volume is refused before anything is written ("mounted volume is
// marked read-only"), as into a read-only root filesystem.
Result<CopyReport> copy_to_container(Engine& e, const std::string& src, const std::string& ref,
                                     const std::string& dest, const CopyOptions& o, int in_fd);

// hull diff: docker's "A /path", "C /path", "D /path" lines of the writable layer.
Result<std::vector<std::string>> container_changes(Engine& e, const std::string& ref);

// hull export: the container's root filesystem (its own mounts left out) as a tar.
Status export_container(Engine& e, const std::string& ref, int out_fd);

}  // namespace hull::engine

// Copying an untrusted directory tree (an image's) through fds only: docker's volume fill
// (engine/volumes.cpp) and the runtime's tmpcopyup (runtime/rootfs.cpp).
#pragma once

#include <sys/stat.h>

#include <string>

#include "common/error.hpp"

namespace hull::fs {

// Copies the entries of directory `from` into the empty directory `to`. Nothing in either
// tree is followed: every entry is opened relative to its parent's fd with O_NOFOLLOW
// and a symlink is copied as a symlink, so neither the source nor a concurrent writer
// of the destination can make it read or write outside them. Owner, mode and times are
// kept (a chown the user namespace cannot map keeps the caller's owner); a device node
// that may not be made here (EPERM: a user namespace) is left out, as are sockets.
// Hardlinks within the tree stay hardlinks (made through the first copy's fd); extended
// attributes of files and directories are copied (file capabilities, user.*, ACLs;
// trusted.* where this namespace may). At most 256 levels deep.
// `shown` names `from` in errors.
Status copy_tree(int from, int to, const std::string& shown);

// Owner, mode and times of `st` on the directory `dir` itself.
Status copy_dir_metadata(int dir, const struct stat& st, const std::string& shown);

}  // namespace hull::fs

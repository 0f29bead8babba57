// Small file helpers used across modules.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace hull::fs {

Result<std::string> read_file(const std::string& path);
Result<std::string> read_file_at(int dirfd, const std::string& path);
// Writes the whole buffer to an existing or new file (O_TRUNC).
Status write_file(const std::string& path, std::string_view data, mode_t mode = 0644);
// Writes without O_CREAT/O_TRUNC: for procfs, sysfs and cgroupfs control files.
Status write_existing(const std::string& path, std::string_view data);
Status write_existing_at(int dirfd, const std::string& name, std::string_view data);
// Write to "<path>.tmp", fsync, rename over path: readers never see a partial file.
Status write_atomic_at(int dirfd, const std::string& name, std::string_view data,
                       mode_t mode = 0600);
Status mkdir_p(const std::string& path, mode_t mode = 0755);
Result<UniqueFd> open_dir(const std::string& path);
bool exists(const std::string& path);
// Removes a directory tree, not crossing into other mounts.
Status remove_all(const std::string& path);

}  // namespace hull::fs

// /proc/PID/mountinfo, parsed (proc(5)): one entry per mount, octal escapes decoded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hull {

struct MountInfo {
  int id = 0;
  int parent = 0;
  std::string root;         // root of the mount within its filesystem
  std::string mount_point;  // relative to the reader's root
  std::string options;      // per-mount options
  std::string fstype;
  std::string source;
  std::string super_options;  // per-superblock options (e.g. "rw,memory" for cgroup v1)
};

std::vector<MountInfo> parse_mountinfo(std::string_view text);
Result<std::vector<MountInfo>> read_mountinfo(const std::string& path = "/proc/self/mountinfo");

}  // namespace hull

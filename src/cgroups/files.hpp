// Control-file access shared by the v1 and v2 backends: one value per write(2) on the
// real cgroupfs, or a line appended to a plain file on a test's fake tree.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hull::cgroups::detail {

struct Files {
  bool fake = false;

  Status write(const std::string& dir, std::string_view file, std::string_view value) const;
  // Several values in order, each one write(2), opening each file once per run of
  // consecutive writes to it (v1 devices.allow/deny take one rule per write).
  struct Line {
    std::string file, value;
  };
  Status write_lines(const std::string& dir, const std::vector<Line>& lines) const;
  Result<std::string> read(const std::string& dir, std::string_view file) const;
  bool has(const std::string& dir, std::string_view file) const;
  // A numeric control file ("max" reads as UINT64_MAX); 0 when absent or unparsable.
  uint64_t read_u64(const std::string& dir, std::string_view file) const;
  // "key value" lines (memory.stat, cpu.stat, memory.events): the value of key, or 0.
  uint64_t read_keyed(const std::string& dir, std::string_view file, std::string_view key) const;

  // Makes dir and any missing parents; returns the ones it made, outermost first. When
  // parents are missing, before_parents gets the directories about to be made (outermost
  // first, dir last) before any is: its error stops it.
  Result<std::vector<std::string>> make_dirs(
      const std::string& dir,
      const std::function<Status(const std::vector<std::string>&)>& before_parents = {}) const;
  // cgroup.procs of dir and every cgroup below it (a container may make sub-cgroups).
  Result<std::vector<pid_t>> procs_recursive(const std::string& dir) const;
  // Removes dir and the cgroups below it, deepest first. A cgroup still busy with dying
  // processes is retried, and any process left in it is sent SIGKILL, for up to
  // timeout_ms. A missing dir is not an error.
  Status remove_tree(const std::string& dir, int timeout_ms = 5000) const;
  // Removes the parents it made (created, outermost first) once they are empty;
  // leaves any that another container still uses.
  void remove_created(const std::vector<std::string>& created, const std::string& leaf) const;
};

// Whether path is a directory (a cgroup), following symlinks.
bool is_dir(const std::string& path);

// "a/b/../c" components check and join: "/" + parts.
std::string join_path(std::string_view base, std::string_view rel);

}  // namespace hull::cgroups::detail

// Small file helpers used across modules.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace hull::fs {

// Whole small files: configs, env files, profiles, state, /proc and /sys entries. More
// than kMaxReadFile is an error, so `--env-file /dev/zero` (or a FIFO that never ends,
// or a hostile 1 GB config) is refused instead of read until memory runs out.
inline constexpr size_t kMaxReadFile = size_t(64) << 20;
Result<std::string> read_file(const std::string& path);
Result<std::string> read_file_at(int dirfd, const std::string& path);
// The rest of an open fd (a pipe from a helper process) until EOF, with the same limit;
// `path` names it in errors.
Result<std::string> read_fd(int fd, const std::string& path);
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

// A file a person names for output (`save -o PATH`). A regular file, new or existing
// (through symlinks, as docker follows them), is written as a hidden temp file beside it
// and renamed over it by commit(), keeping an existing file's mode: a failed write
// leaves the old content, never half a new one, and no other name is touched. Anything
// else that exists (a device such as /dev/null, a FIFO) is written in place, never
// replaced. Not committed, the temp file goes with the object.
class OutputFile {
 public:
  // mode: a new file's (less the umask); durable: commit() fsyncs before the rename.
  static Result<OutputFile> create(const std::string& path, mode_t mode = 0666,
                                   bool durable = false);
  OutputFile(OutputFile&& o) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  ~OutputFile();
  int fd() const { return fd_.get(); }
  Status commit();

 private:
  OutputFile() = default;
  UniqueFd fd_;
  std::string path_, tmp_;  // tmp_ empty: written in place
  bool durable_ = false;
};
// The whole of data through an OutputFile (--pid-file, docker's config.json).
Status write_output(const std::string& path, std::string_view data, mode_t mode = 0666,
                    bool durable = false);
// Removes a directory tree, not crossing into other mounts.
Status remove_all(const std::string& path);

// Opens path beneath root with root as "/": openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS),
// so neither "..", an absolute symlink nor a magic link (/proc/self/root) of a hostile
// tree (a container's) leads outside it (Linux 5.6). flags: O_PATH, O_NOFOLLOW...
// (O_CLOEXEC is added). An empty path or "/" opens root itself.
Result<UniqueFd> open_in_root(int root, const std::string& path, int flags);

// The names in the directory dir (any fd of it, O_PATH too) but "." and "..", sorted
// bytewise; shown names it in errors.
Result<std::vector<std::string>> dir_names(int dir, const std::string& shown);

// Whether fd is on a kernel interface filesystem (proc, sysfs, cgroupfs, devpts,
// securityfs, debugfs, tracefs, bpffs, ...): files whose reads and writes act on the
// kernel rather than hold data, never copied from or into a container (hull cp).
bool on_kernel_fs(int fd);

}  // namespace hull::fs

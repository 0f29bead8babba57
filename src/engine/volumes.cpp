#include "engine/volumes.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <string_view>

#include "common/copy_tree.hpp"
#include "common/unique_fd.hpp"

namespace hull::engine {
namespace {

bool is_empty_dir(int dir) {
  UniqueFd fd(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return false;
  DIR* d = ::fdopendir(fd.release());
  if (!d) return false;
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

}  // namespace

Status populate_volumes(const ContainerConfig& c, const std::string& rootfs) {
  UniqueFd root;
  for (const auto& m : c.mounts) {
    if (m.type != "volume" || !m.copy) continue;
    UniqueFd to(::open(m.source.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!to) return sys_failf("open volume {}", m.source);
    if (!is_empty_dir(to.get())) continue;
    if (!root) {
      root.reset(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!root) return sys_failf("open {}", rootfs);
    }
    // The destination as the container will see it: resolved inside the rootfs.
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    UniqueFd from(static_cast<int>(
        ::syscall(SYS_openat2, root.get(), m.destination.c_str(), &how, sizeof how)));
    if (!from) {
      if (errno == ENOENT || errno == ENOTDIR) continue;  // nothing there to copy
      return sys_failf("open {} in the rootfs", m.destination);
    }
    std::string shown = fmt::format("volume {} ({})", m.name, m.destination);
    if (auto r = fs::copy_tree(from.get(), to.get(), shown); !r) {
      // Empty again: a half-filled volume would never be filled (it is no longer empty).
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(m.source, ec))
        std::filesystem::remove_all(e.path(), ec);
      return r;
    }
    struct stat st {};
    if (::fstat(from.get(), &st) < 0) return sys_failf("stat {} in the rootfs", m.destination);
    HULL_CHECK(fs::copy_dir_metadata(to.get(), st, shown));
  }
  return {};
}

}  // namespace hull::engine

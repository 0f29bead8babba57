// Network namespaces kept alive by a bind mount, as `ip netns add` does, so that the
// engine can set the network up before the container's first process exists.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "net/network.hpp"

namespace hull::net {

Result<std::string> create_netns(const std::string& path) {
  {
    UniqueFd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!f) return sys_failf("create netns file \"{}\"", path);
  }
  auto undo_file = [&] { ::unlink(path.c_str()); };
  UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self) {
    int err = errno;
    undo_file();
    return sys_fail("open \"/proc/thread-self/ns/net\"", err);
  }
  // unshare moves only this thread; it returns to its own netns right after the mount.
  if (unshare(CLONE_NEWNET) < 0) {
    int err = errno;
    undo_file();
    return sys_fail("unshare CLONE_NEWNET", err);
  }
  int mount_err = 0;
  if (mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) < 0)
    mount_err = errno;
  if (setns(self.get(), CLONE_NEWNET) < 0) {
    // Cannot happen short of a kernel bug; staying in the new netns would be worse than
    // dying, because everything after would configure the wrong namespace.
    log::error("setns back to the engine's netns: {}", errno_string(errno));
    abort();
  }
  if (mount_err) {
    undo_file();
    return sys_fail(fmt::format("bind mount netns on \"{}\"", path), mount_err);
  }
  return path;
}

Status remove_netns(const std::string& path) {
  if (umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return sys_failf("umount netns \"{}\"", path);
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) return sys_failf("remove \"{}\"", path);
  return {};
}

// An ioctl on a socket of the caller's netns: no netlink, no allocation, so also usable
// in a child forked by a process that may have threads (rootless create_netns).
bool loopback_up() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return false;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, "lo", 3);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) return false;
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  return ::ioctl(s.get(), SIOCSIFFLAGS, &ifr) == 0;
}

}  // namespace hull::net

// Network namespaces kept alive by a bind mount, as `ip netns add` does, so that the
// engine can set the network up before the container's first process exists.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "net/netlink.hpp"
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

Status setup_loopback(const std::string& netns_path) {
  UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return sys_failf("open netns \"{}\"", netns_path);
  auto sock = HULL_TRY(nl::Socket::open_in(ns.get()));
  auto r = nl::set_up(sock, "lo");
  if (!r) return std::unexpected(r.error().wrap(fmt::format("netns \"{}\"", netns_path)));
  return {};
}

}  // namespace hull::net

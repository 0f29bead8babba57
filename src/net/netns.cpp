// Network namespaces kept alive by a bind mount, as `ip netns add` does, so that the
// engine can set the network up before the container's first process exists.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/loopback.hpp"
#include "common/own_thread.hpp"
#include "net/netlink.hpp"
#include "net/network.hpp"

namespace hull::net {

Result<std::string> create_netns(const std::string& path) {
  {
    UniqueFd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!f) return sys_failf("create netns file \"{}\"", path);
  }
  // The new netns is the short-lived thread's alone: nobody returns from it (which a
  // rootless engine could not do: the host's netns belongs to the initial user namespace).
  auto made = on_own_thread([&]() -> Status {
    if (::unshare(CLONE_NEWNET) < 0) return sys_fail("unshare CLONE_NEWNET");
    if (!loopback_up()) return sys_fail("bring lo up in the new netns");
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) < 0)
      return sys_failf("bind mount netns on \"{}\"", path);
    return {};
  });
  if (!made) {
    ::unlink(path.c_str());
    return std::unexpected(made.error());
  }
  return path;
}

Status remove_netns(const std::string& path) {
  if (umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return sys_failf("umount netns \"{}\"", path);
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) return sys_failf("remove \"{}\"", path);
  return {};
}

}  // namespace hull::net

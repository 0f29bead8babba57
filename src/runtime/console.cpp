#include "runtime/console.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "common/send_fds.hpp"

#include "runtime/rootfs.hpp"

namespace hull::runtime {

Result<Pty> open_pty(int rootfd, const std::optional<oci::ConsoleSize>& size) {
  Pty p;
  auto master = open_in_root(rootfd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY);
  if (!master) return std::unexpected(master.error().wrap("open the container's pty"));
  p.master = std::move(*master);
  int unlock = 0;
  if (::ioctl(p.master.get(), TIOCSPTLCK, &unlock) < 0) return sys_fail("unlock pty");
  // TIOCGPTPEER (4.13) opens the slave without a path lookup that a rootfs could subvert.
  int slave = ::ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return sys_fail("open pty slave");
  p.slave.reset(slave);
  if (size && size->height && size->width) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    if (::ioctl(p.master.get(), TIOCSWINSZ, &ws) < 0) return sys_fail("set console size");
  }
  return p;
}

Status become_tty_session(int slave_fd) {
  if (::ioctl(slave_fd, TIOCSCTTY, 0) < 0) return sys_fail("set controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup3(slave_fd, fd, 0) < 0) return sys_failf("dup pty to fd {}", fd);
  return {};
}

Status send_console_fd(const std::string& socket_path, int fd) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_fail("console socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return failf("console socket path {} is too long", socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return sys_failf("connect to console socket {}", socket_path);
  char name[] = "/dev/ptmx";
  const iovec iov{name, sizeof name - 1};
  if (send_with_fds(sock.get(), std::span(&iov, 1), std::span(&fd, 1)) < 0)
    return sys_failf("send pty to console socket {}", socket_path);
  return {};
}

}  // namespace hull::runtime

// sendmsg with file descriptors as SCM_RIGHTS: the runtime's sync socket, the console
// socket (runc's protocol), the seccomp listener and `hull attach` all pass fds this way.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <span>

namespace hull {

// One sendmsg of iov with fds attached (none: a plain message), MSG_NOSIGNAL, retried on
// EINTR. Returns what sendmsg returns (-1 with errno). No allocation: safe between clone
// and exec.
inline ssize_t send_with_fds(int sock, std::span<const iovec> iov, std::span<const int> fds) {
  constexpr size_t kMaxFds = 8;
  if (fds.size() > kMaxFds) {
    errno = EINVAL;
    return -1;
  }
  alignas(cmsghdr) char cbuf[CMSG_SPACE(kMaxFds * sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = const_cast<iovec*>(iov.data());
  mh.msg_iovlen = iov.size();
  if (!fds.empty()) {
    mh.msg_control = cbuf;
    mh.msg_controllen = CMSG_SPACE(fds.size_bytes());
    cmsghdr* h = CMSG_FIRSTHDR(&mh);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(fds.size_bytes());
    std::memcpy(CMSG_DATA(h), fds.data(), fds.size_bytes());
  }
  ssize_t n;
  do n = ::sendmsg(sock, &mh, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

}  // namespace hull

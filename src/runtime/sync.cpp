#include "runtime/sync.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>

#include "common/send_fds.hpp"

namespace hull::runtime {
namespace {

struct Header {
  uint32_t type;
  int32_t err;
  uint32_t flags;
};

constexpr size_t kMaxPacket = 8192;

}  // namespace

Result<std::pair<SyncSocket, SyncSocket>> SyncSocket::make_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return sys_fail("socketpair");
  return std::pair{SyncSocket(UniqueFd(sv[0])), SyncSocket(UniqueFd(sv[1]))};
}

Status SyncSocket::send(SyncType type, std::string_view text, int fd, uint32_t flags,
                        int32_t err) const {
  Header h{static_cast<uint32_t>(type), err, flags};
  if (text.size() > kMaxPacket - sizeof h) text = text.substr(0, kMaxPacket - sizeof h);
  const iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(text.data()), text.size()}};
  const std::span<const int> fds(&fd, fd >= 0 ? 1 : 0);
  if (send_with_fds(fd_.get(), std::span(iov, text.empty() ? 1 : 2), fds) < 0)
    return sys_fail("sync: sendmsg");
  return {};
}

Result<SyncMessage> SyncSocket::recv() const {
  char buf[kMaxPacket];
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  ssize_t n;
  while ((n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR) return sys_fail("sync: recvmsg");
  }
  if (n == 0) return fail("sync: peer closed the socket", EPIPE);
  if (static_cast<size_t>(n) < sizeof(Header)) return fail("sync: short message", EPROTO);
  Header h;
  std::memcpy(&h, buf, sizeof h);
  SyncMessage m;
  m.type = static_cast<SyncType>(h.type);
  m.err = h.err;
  m.flags = h.flags;
  m.text.assign(buf + sizeof h, static_cast<size_t>(n) - sizeof h);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      m.fd.reset(fd);
    }
  }
  return m;
}

Result<SyncMessage> SyncSocket::expect(SyncType type) const {
  auto m = HULL_TRY(recv());
  if (m.type == SyncType::kError) return fail(std::move(m.text), m.err);
  if (m.type != type)
    return failf("sync: expected message {}, got {}", static_cast<uint32_t>(type),
                 static_cast<uint32_t>(m.type));
  return m;
}

}  // namespace hull::runtime

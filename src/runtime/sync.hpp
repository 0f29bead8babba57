// The parent (create/run) and the container's init talk over a SOCK_SEQPACKET socketpair
// in typed messages; each message is one packet, so no framing is needed.
//
//   parent (hull-runtime create)                     child (container init)
//   ----------------------------                     ----------------------
//   clone3(CLONE_NEW*, CLONE_PIDFD[, INTO_CGROUP]) -> starts, waits
//   uid_map/gid_map
//   kGo {join pending?} ----------------------------> writes "0" to its v1 cgroups'
//                                                    `tasks` (host root only), joins/
//                                                    unshares the rest, mounts
//   cgroup.procs (only where clone3 and the child's
//   own `tasks` writes could not place it)
//   kJoined (if pending) ---------------------------> awaited before the cgroup mount,
//                                                    hooks, the cgroup namespace, kReady
//                   <------------------------------- kConsole + pty master fd (terminal)
//   sends the fd to --console-socket
//                   <------------------------------- kHooks (before pivot_root)
//   runs prestart and createRuntime hooks
//   kHooksDone {state JSON} ------------------------> createContainer hooks, pivot_root,
//                                                    paths, user, caps, finds the program,
//                                                    loads seccomp
//                   <------------------------------- kSeccompFd + fd (SCMP_ACT_NOTIFY)
//   sends it to linux.seccomp.listenerPath
//                   <------------------------------- kReady
//   writes state.json and --pid-file
//   kAck {start now?} ------------------------------> waits on exec.fifo unless told to start
//                                                    (errors from here go to `start`
//                                                    through the fifo), startContainer
//                                                    hooks, execve
//                   <------------------------------- EOF (CLOEXEC): the program runs
//
// At any point the child may send kError {errno, message} and exit; the parent then kills
// and reaps it and undoes everything it made. If the parent dies, the child reads EOF at
// its next receive and exits, so a half-made container never outlives its creator.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace hull::runtime {

enum class SyncType : uint32_t {
  kGo = 1,
  kConsole,
  kHooks,
  kHooksDone,
  kReady,
  kAck,
  kError,
  kSeccompFd,  // child -> parent: the seccomp notify listener fd
  kJoined,     // parent -> child: the child is in its cgroups now (after kGo's flag)
};

struct SyncMessage {
  SyncType type{};
  int32_t err = 0;
  uint32_t flags = 0;
  std::string text;
  UniqueFd fd;  // passed with SCM_RIGHTS
};

inline constexpr uint32_t kAckStartNow = 1;
// kGo's flag: the parent joins the child to its cgroup after kGo and then sends kJoined.
inline constexpr uint32_t kGoJoinPending = 1;

class SyncSocket {
 public:
  SyncSocket() = default;
  explicit SyncSocket(UniqueFd fd) : fd_(std::move(fd)) {}
  static Result<std::pair<SyncSocket, SyncSocket>> make_pair();

  Status send(SyncType type, std::string_view text = {}, int fd = -1, uint32_t flags = 0,
              int32_t err = 0) const;
  // EOF yields an Error with code EPIPE.
  Result<SyncMessage> recv() const;
  // Receives and checks the type; a kError from the peer becomes this call's Error.
  Result<SyncMessage> expect(SyncType type) const;

  int get() const { return fd_.get(); }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
};

}  // namespace hull::runtime

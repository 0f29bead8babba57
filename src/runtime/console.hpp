// The container's terminal: a pty from the container's own devpts instance, whose master
// goes to the engine over --console-socket and whose slave becomes the process's stdio
// and controlling terminal.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "oci/spec.hpp"

namespace hull::runtime {

struct Pty {
  UniqueFd master;
  UniqueFd slave;
};

// Opens <dev/pts/ptmx> inside rootfd (after devpts is mounted there).
Result<Pty> open_pty(int rootfd, const std::optional<oci::ConsoleSize>& size);
// Makes the slave the caller's stdin/stdout/stderr and controlling terminal.
Status become_tty_session(int slave_fd);
// Sends fd to the unix socket at path with SCM_RIGHTS, as runc's console-socket protocol.
Status send_console_fd(const std::string& socket_path, int fd);

}  // namespace hull::runtime

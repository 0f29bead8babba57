// Raw mode for `-it`: the host terminal passes every key to the container's pty (ctrl-c
// included) and is restored however the verb ends.
#pragma once

#include <termios.h>
#include <unistd.h>

namespace hull::cli {

class RawTerminal {
 public:
  RawTerminal() = default;
  void enable(int fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
    termios t = saved_;
    ::cfmakeraw(&t);
    if (::tcsetattr(fd, TCSANOW, &t) == 0) fd_ = fd;
  }
  ~RawTerminal() {
    if (fd_ >= 0) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_ = -1;
  termios saved_{};
};

}  // namespace hull::cli

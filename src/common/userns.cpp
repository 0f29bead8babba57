#include "common/userns.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "common/strings.hpp"

namespace hull::userns {
namespace {
// -1 unknown, 0 initial namespace, 1 a user namespace. Set before any thread starts or
// read by one thread at a time: the engine and the runtime are single-threaded here.
int g_state = -1;
}  // namespace

bool uid_map_is_user_ns(std::string_view uid_map) {
  int lines = 0;
  bool identity = false;
  for (auto line : split(uid_map, '\n')) {
    auto t = trim(line);
    if (t.empty()) continue;
    ++lines;
    std::vector<std::string_view> f;
    for (auto w : split(t, ' '))
      for (auto x : split(w, '\t'))
        if (!x.empty()) f.push_back(x);
    identity = f.size() == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295";
  }
  return lines > 0 && !(lines == 1 && identity);
}

bool running_in_user_ns() {
  if (g_state < 0) {
    char buf[256];
    ssize_t n = -1;
    int fd = ::open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      n = ::read(fd, buf, sizeof buf);
      ::close(fd);
    }
    g_state = n > 0 && uid_map_is_user_ns(std::string_view(buf, static_cast<size_t>(n))) ? 1 : 0;
  }
  return g_state == 1;
}

void assume(bool in_user_ns) {
  g_state = in_user_ns ? 1 : 0;
}

}  // namespace hull::userns

#include "common/error.hpp"

#include <cctype>
#include <cstring>

namespace hull {

std::string errno_string(int err) {
  char buf[128];
  const char* s = strerror_r(err, buf, sizeof buf);
  std::string out(s);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace hull

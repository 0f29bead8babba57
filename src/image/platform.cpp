#include <sys/utsname.h>

#include <string>

#include "image/pull.hpp"

namespace hull::image {

// uname's machine names spelled as GOARCH, as image indexes spell them.
std::string host_platform() {
  utsname u{};
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "linux/amd64";
  if (m == "aarch64") return "linux/arm64/v8";
  if (m.starts_with("armv7")) return "linux/arm/v7";
  if (m.starts_with("armv6")) return "linux/arm/v6";
  if (m == "i686" || m == "i386") return "linux/386";
  if (m == "ppc64le" || m == "s390x" || m == "riscv64") return "linux/" + m;
  return "linux/" + m;
}

}  // namespace hull::image

#include <sys/utsname.h>

#include <string>

#include "common/strings.hpp"
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

// containerd's platforms.Parse (docker's): components of [A-Za-z0-9_.-], lower-cased. A
// lone os or arch, which containerd completes from the host, is refused: `--platform
// windows` would otherwise pull whatever this host runs.
Result<Platform> parse_platform(std::string_view s) {
  auto parts = split(s, '/');
  if (parts.size() < 2 || parts.size() > 3)
    return failf("invalid platform {:?}: want os/arch[/variant]", s);
  for (auto part : parts) {
    if (part.empty()) return failf("invalid platform {:?}: want os/arch[/variant]", s);
    for (char c : part)
      if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
        return failf("invalid platform {:?}: {:?} is not letters, digits, '_', '-' or '.'", s,
                     part);
  }
  auto lower = [](std::string_view v) {
    std::string out(v);
    for (auto& c : out) c = char(tolower(static_cast<unsigned char>(c)));
    return out;
  };
  Platform p{lower(parts[0]), lower(parts[1]), parts.size() == 3 ? lower(parts[2]) : ""};
  if (p.arch == "aarch64") p.arch = "arm64";
  if (p.arch == "x86_64" || p.arch == "x86-64") p.arch = "amd64";
  return p;
}

}  // namespace hull::image

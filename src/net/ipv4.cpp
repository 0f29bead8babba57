#include "net/ipv4.hpp"

#include <arpa/inet.h>

#include "common/strings.hpp"

namespace hull::net {

std::optional<uint32_t> parse_ipv4(std::string_view text) {
  // inet_pton accepts only dotted quads (no octal, no short forms): what we want.
  if (text.empty() || text.size() > 15) return std::nullopt;
  std::string s(text);
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string format_ipv4(uint32_t addr) {
  return fmt::format("{}.{}.{}.{}", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
                     addr & 0xff);
}

std::string Subnet::str() const {
  return fmt::format("{}/{}", format_ipv4(base), prefix);
}

Result<Subnet> parse_subnet(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos)
    return failf("invalid subnet \"{}\": expected CIDR such as 10.89.0.0/24", text);
  auto addr = parse_ipv4(text.substr(0, slash));
  auto prefix = parse_int<int>(text.substr(slash + 1));
  if (!addr || !prefix || *prefix < 0 || *prefix > 32)
    return failf("invalid subnet \"{}\": expected CIDR such as 10.89.0.0/24", text);
  Subnet s{*addr, *prefix};
  if ((s.base & s.mask()) != s.base)
    return failf("invalid subnet \"{}\": host bits set (did you mean {}?)", text,
                 Subnet{s.base & s.mask(), s.prefix}.str());
  return s;
}

}  // namespace hull::net

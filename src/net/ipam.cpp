#include "net/ipam.hpp"

#include <algorithm>

#include "common/fs.hpp"
#include "common/strings.hpp"

namespace hull::net::ipam {

Result<uint32_t> allocate(const Subnet& subnet, uint32_t gateway, const std::set<uint32_t>& used,
                          uint32_t cursor) {
  return allocate(subnet, subnet, gateway, used, cursor);
}

Result<uint32_t> allocate(const Subnet& subnet, const Subnet& pool, uint32_t gateway,
                          const std::set<uint32_t>& used, uint32_t cursor) {
  if (subnet.prefix > 30)
    return failf("subnet {} has no room for containers (prefix longer than /30)", subnet.str());
  uint32_t first = std::max(subnet.base + 1, pool.base);
  uint32_t last = std::min(subnet.broadcast() - 1, pool.broadcast());
  if (first > last) return fail(fmt::format("no address in {}", pool.str()), ENOSPC);
  uint64_t span = uint64_t{last} - first + 1;
  if (cursor < first || cursor > last) cursor = first;
  for (uint64_t n = 0; n < span; ++n) {
    uint32_t a = static_cast<uint32_t>(first + (cursor - first + n) % span);
    if (a == gateway || used.contains(a)) continue;
    return a;
  }
  if (pool.base != subnet.base || pool.prefix != subnet.prefix)
    return fail(fmt::format("no free address left in ip range {}", pool.str()), ENOSPC);
  return fail(fmt::format("no free address left in subnet {}", subnet.str()), ENOSPC);
}

Status check_static(const Subnet& subnet, uint32_t gateway, const std::set<uint32_t>& used,
                    uint32_t addr) {
  if (!subnet.contains(addr))
    return failf("address {} is outside the subnet {}", format_ipv4(addr), subnet.str());
  if (addr == subnet.base || addr == subnet.broadcast() || addr == gateway)
    return failf("address {} is reserved in subnet {}", format_ipv4(addr), subnet.str());
  if (used.contains(addr))
    return fail(fmt::format("address {} is already in use", format_ipv4(addr)), EADDRINUSE);
  return {};
}

Result<Subnet> pick_subnet(const std::vector<Subnet>& candidates,
                           const std::vector<Subnet>& taken) {
  for (const auto& c : candidates) {
    bool clash = false;
    for (const auto& t : taken) clash = clash || c.overlaps(t);
    if (!clash) return c;
  }
  return fail("no free subnet: every candidate overlaps a route or another network; pass --subnet",
              ENOSPC);
}

std::vector<Subnet> host_routes() {
  std::vector<Subnet> out;
  auto text = fs::read_file("/proc/net/route");
  if (!text) return out;
  bool header = true;
  for (auto line : split(*text, '\n')) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string_view> f;
    for (auto w : split(line, '\t'))
      if (!trim(w).empty()) f.push_back(trim(w));
    if (f.size() < 8) continue;
    // Destination and Mask are printed in network byte order as host-order hex.
    auto dst = parse_int<uint32_t>(f[1], 16), mask = parse_int<uint32_t>(f[7], 16);
    if (!dst || !mask || *mask == 0) continue;
    uint32_t d = __builtin_bswap32(*dst), m = __builtin_bswap32(*mask);
    out.push_back(Subnet{d & m, __builtin_popcount(m)});
  }
  return out;
}

std::string mac_for(uint32_t addr) {
  return fmt::format("02:42:{:02x}:{:02x}:{:02x}:{:02x}", addr >> 24, (addr >> 16) & 0xff,
                     (addr >> 8) & 0xff, addr & 0xff);
}

}  // namespace hull::net::ipam

// IPv4 addresses and subnets as host-order integers: parsing, formatting, overlap.
// Internal to src/net.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace hull::net {

std::optional<uint32_t> parse_ipv4(std::string_view text);
std::string format_ipv4(uint32_t addr);

struct Subnet {
  uint32_t base = 0;  // network address (host bits zero)
  int prefix = 0;

  [[nodiscard]] uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  [[nodiscard]] uint32_t broadcast() const { return base | ~mask(); }
  [[nodiscard]] bool contains(uint32_t addr) const { return (addr & mask()) == base; }
  [[nodiscard]] bool overlaps(const Subnet& o) const {
    int p = prefix < o.prefix ? prefix : o.prefix;
    uint32_t m = p == 0 ? 0 : ~uint32_t{0} << (32 - p);
    return (base & m) == (o.base & m);
  }
  [[nodiscard]] std::string str() const;
};

// "10.88.0.0/16". Host bits set ("10.88.0.1/16") is an error naming the input, as docker.
Result<Subnet> parse_subnet(std::string_view text);

}  // namespace hull::net

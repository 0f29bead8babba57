// Address allocation inside a subnet: pure functions over the set of addresses in use,
// so that the rules are unit-tested without a database or a kernel. Internal.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "common/error.hpp"
#include "net/ipv4.hpp"

namespace hull::net::ipam {

// The next free host address at or after cursor (wrapping once through the subnet),
// skipping the network and broadcast addresses, the gateway and every address in used.
// Starting at a cursor that moves past each allocation means a released address is
// not handed out again until the whole range has been used, which keeps stale ARP
// entries and conntrack state of a removed container from hitting its successor.
Result<uint32_t> allocate(const Subnet& subnet, uint32_t gateway, const std::set<uint32_t>& used,
                          uint32_t cursor);
// The same, from pool only (--ip-range, inside subnet): the subnet's network, broadcast
// and gateway addresses stay reserved when the pool holds them.
Result<uint32_t> allocate(const Subnet& subnet, const Subnet& pool, uint32_t gateway,
                          const std::set<uint32_t>& used, uint32_t cursor);

// A fixed address (--ip): inside the subnet, not reserved, not in use.
Status check_static(const Subnet& subnet, uint32_t gateway, const std::set<uint32_t>& used,
                    uint32_t addr);

// The first subnet from candidates that overlaps none of taken.
Result<Subnet> pick_subnet(const std::vector<Subnet>& candidates, const std::vector<Subnet>& taken);

// Routes of the caller's netns (/proc/net/route) other than the default route.
std::vector<Subnet> host_routes();

// A MAC from the address, as docker derives them (02:42 + the four bytes): unique per
// address, stable, locally administered.
std::string mac_for(uint32_t addr);

}  // namespace hull::net::ipam

// hull's nftables table `ip hull`: outbound masquerade per bridge network, DNAT for
// published ports (also from the host itself, 127.0.0.1 included), isolation between
// bridges. The whole table is rendered from a model and replaced in one nft transaction,
// so a failure leaves the previous rules; no other table is ever read or written.
// Internal to src/net.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hull::net::nft {

inline constexpr const char* kTable = "hull";

struct Bridge {
  std::string name;        // interface
  std::string subnet;      // CIDR
  bool internal = false;   // network create --internal: nothing in or out but the bridge
  bool masquerade = true;  // -o com.docker.network.bridge.enable_ip_masquerade=false
};

struct Port {
  std::string host_ip;  // "" = any local address
  uint16_t host_port = 0;
  std::string proto;         // tcp | udp
  std::string container_ip;  // bare address
  uint16_t container_port = 0;
};

struct Model {
  std::vector<Bridge> bridges;
  std::vector<Port> ports;
};

// The nft script that replaces hull's table with model (or deletes it when the model has
// no bridges). Deterministic: equal models give equal text.
std::string render(const Model& model);
Status apply(const Model& model);
// Only the published ports changed (the bridges are those of the table in the kernel):
// the ports chain is flushed and refilled in one transaction. The base chains stay, so
// no netfilter hook is unregistered and re-registered, each of which waits for an RCU
// grace period in the kernel: most of a whole-table replacement's time.
std::string render_ports(const Model& model);
Status apply_ports(const Model& model);
// render()'s text with the ports chain's rules taken out: equal for two models whose
// tables differ only in published ports.
std::string without_ports(std::string_view text);
// Runs one nft command and returns its output ("list table ip hull").
Result<std::string> run(const std::string& command);
Result<bool> table_exists();

}  // namespace hull::net::nft

// Which registry a short name means, which registries may go unverified, and which
// mirrors serve docker.io: the registry part of hull's engine configuration (docker's
// daemon.json keys "insecure-registries" and "registry-mirrors", and podman's idea of a
// default registry). Set once at start (engine/config.hpp reads the file); the defaults
// are docker's: docker.io, no insecure registry but loopback ones, no mirror.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace hull::image {

// An address range of insecure-registries: "10.0.0.0/8", "fd00::/8" (the address's bits
// past the prefix cleared, as Go's net.ParseCIDR gives it).
struct Cidr {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};
  int prefix = 0;

  // family's address (4 or 16 bytes); an IPv4-mapped IPv6 address is in an IPv4 range.
  bool contains(int family, const uint8_t* address) const;
  std::string str() const;
};
Result<Cidr> parse_cidr(std::string_view s);

// docker's insecure registries: names as written in image names ("myreg:5000",
// "10.1.2.3", "[fd00::1]:5000"; the port is part of the name) and address ranges, which
// match a registry whose host is an address in them or, for a host name, resolves to one.
class InsecureRegistries {
 public:
  // "host[:port]" or a CIDR range; an http:// or https:// in front is dropped, as docker
  // does (with a warning). docker.io is refused: docker never lets it go unverified.
  Status add(std::string_view entry);
  // Whether registry ("host[:port]") is one of them. A host name is resolved only when
  // there are ranges and its name is not listed.
  bool matches(std::string_view registry) const;
  // As given (names, then ranges), for `hull info`.
  std::vector<std::string> entries() const;
  bool empty() const { return names_.empty() && ranges_.empty(); }

 private:
  std::vector<std::string> names_;
  std::vector<Cidr> ranges_;
};

// "http(s)://host[:port]" of registry-mirrors, normalised: the scheme lower case, no
// trailing "/". A path, a query, a fragment or credentials are refused.
Result<std::string> parse_mirror(std::string_view url);

struct RegistryConfig {
  // What a name without a registry ("busybox", "ns/app") names. library/ is added to a
  // one-component name on docker.io only.
  std::string default_registry = "docker.io";
  InsecureRegistries insecure;
  // Tried in order for docker.io's images before docker.io itself (parse_mirror's form).
  std::vector<std::string> mirrors;
};

// The process's registry configuration: the defaults until set_registry_config, which
// main() calls once before any thread starts.
const RegistryConfig& registry_config();
void set_registry_config(RegistryConfig config);

}  // namespace hull::image

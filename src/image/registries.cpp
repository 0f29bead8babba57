#include "image/registries.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "image/reference.hpp"

namespace hull::image {
namespace {

bool is_docker_io(std::string_view r) {
  return r == "docker.io" || r == "index.docker.io" || r == "registry-1.docker.io";
}

// "http://" or "https://" in any case: its length, else 0.
size_t scheme_length(std::string_view s) {
  auto starts = [&](std::string_view p) {
    return s.size() >= p.size() && std::equal(p.begin(), p.end(), s.begin(), [](char a, char b) {
             return a == (b >= 'A' && b <= 'Z' ? char(b - 'A' + 'a') : b);
           });
  };
  if (starts("http://")) return 7;
  if (starts("https://")) return 8;
  return 0;
}

// The host of "host[:port]" or "[v6]:port", without brackets.
std::string host_of(std::string_view registry) {
  if (registry.starts_with('[')) {
    size_t close = registry.find(']');
    return std::string(
        registry.substr(1, close == std::string_view::npos ? registry.size() - 1 : close - 1));
  }
  if (size_t colon = registry.rfind(':'); colon != std::string_view::npos)
    registry = registry.substr(0, colon);
  return std::string(registry);
}

}  // namespace

Result<Cidr> parse_cidr(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return failf("{:?} is not a CIDR range (no /PREFIX)", s);
  std::string address(s.substr(0, slash));
  std::string_view bits = s.substr(slash + 1);
  Cidr c;
  if (::inet_pton(AF_INET, address.c_str(), c.addr.data()) == 1)
    c.family = AF_INET;
  else if (::inet_pton(AF_INET6, address.c_str(), c.addr.data()) == 1)
    c.family = AF_INET6;
  else
    return failf("{:?} is not a CIDR range: {:?} is not an IPv4 or IPv6 address", s, address);
  const int max = c.family == AF_INET ? 32 : 128;
  auto prefix = parse_int<int>(bits);
  if (!prefix || bits.find_first_not_of("0123456789") != std::string_view::npos || *prefix > max)
    return failf("{:?} is not a CIDR range: prefix {:?} is not 0-{}", s, bits, max);
  c.prefix = *prefix;
  for (int i = 0; i < max / 8; ++i) {
    int keep = std::clamp(c.prefix - i * 8, 0, 8);
    c.addr[size_t(i)] &= uint8_t(0xff00 >> keep);
  }
  return c;
}

bool Cidr::contains(int fam, const uint8_t* a) const {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family == AF_INET && fam == AF_INET6 && std::memcmp(a, kMapped, 12) == 0) {
    a += 12;
    fam = AF_INET;
  }
  if (fam != family) return false;
  for (int i = 0; i * 8 < prefix; ++i) {
    int keep = std::min(prefix - i * 8, 8);
    uint8_t mask = uint8_t(0xff00 >> keep);
    if ((a[i] & mask) != addr[size_t(i)]) return false;
  }
  return true;
}

std::string Cidr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, addr.data(), buf, sizeof buf);
  return fmt::format("{}/{}", buf, prefix);
}

Status InsecureRegistries::add(std::string_view entry) {
  std::string_view e = entry;
  if (size_t n = scheme_length(e)) {
    log::warn("insecure registry {:?} should not contain {:?}: it is dropped", entry,
              entry.substr(0, n));
    e.remove_prefix(n);
    if (e.ends_with('/')) e.remove_suffix(1);  // a URL's "https://host:5000/"
  }
  if (e.empty()) return failf("insecure registry {:?} is empty", entry);
  if (e.find('/') != std::string_view::npos) {
    auto c = parse_cidr(e);
    if (!c)
      return failf("insecure registry {:?} is neither host[:port] nor a CIDR range: {}", entry,
                   c.error().message);
    ranges_.push_back(*c);
    return {};
  }
  if (auto why = registry_problem(e); !why.empty())
    return failf("insecure registry {:?} is not host[:port] (nor a CIDR range): {}", entry, why);
  if (is_docker_io(e)) return failf("insecure registry {:?}: docker.io is always verified", entry);
  if (std::ranges::find(names_, e) == names_.end()) names_.emplace_back(e);
  return {};
}

bool InsecureRegistries::matches(std::string_view registry) const {
  if (is_docker_io(registry)) return false;
  if (std::ranges::find(names_, registry) != names_.end()) return true;
  if (ranges_.empty()) return false;
  auto in_ranges = [&](int family, const void* a) {
    return std::ranges::any_of(
        ranges_, [&](const Cidr& c) { return c.contains(family, static_cast<const uint8_t*>(a)); });
  };
  std::string host = host_of(registry);
  uint8_t a[16];
  if (::inet_pton(AF_INET, host.c_str(), a) == 1) return in_ranges(AF_INET, a);
  if (::inet_pton(AF_INET6, host.c_str(), a) == 1) return in_ranges(AF_INET6, a);
  // A name: docker looks its addresses up and takes any in a range.
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0) {
    log::debug("insecure registries: {}: {}", host, ::gai_strerror(rc));
    return false;
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> own(res, ::freeaddrinfo);
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET &&
        in_ranges(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr))
      return true;
    if (ai->ai_family == AF_INET6 &&
        in_ranges(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr))
      return true;
  }
  return false;
}

std::vector<std::string> InsecureRegistries::entries() const {
  std::vector<std::string> out = names_;
  for (const auto& c : ranges_) out.push_back(c.str());
  return out;
}

Result<std::string> parse_mirror(std::string_view url) {
  size_t n = scheme_length(url);
  if (n == 0) return failf("registry mirror {:?} is not an http:// or https:// URL", url);
  std::string_view rest = url.substr(n);
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("?#") != std::string_view::npos)
    return failf("registry mirror {:?}: a query or fragment is not allowed", url);
  if (rest.find('@') != std::string_view::npos)
    return failf(
        "registry mirror {:?}: credentials are not allowed in the URL (hull login "
        "keeps them)",
        url);
  if (rest.find('/') != std::string_view::npos)
    return failf("registry mirror {:?}: a path is not supported (give scheme://host[:port])", url);
  if (auto why = registry_problem(rest); !why.empty())
    return failf("registry mirror {:?}: bad host {:?}: {}", url, rest, why);
  return fmt::format("{}://{}", n == 7 ? "http" : "https", rest);
}

namespace {
RegistryConfig& config_slot() {
  static RegistryConfig c;
  return c;
}
}  // namespace

const RegistryConfig& registry_config() {
  return config_slot();
}

void set_registry_config(RegistryConfig config) {
  config_slot() = std::move(config);
}

}  // namespace hull::image

#include "image/reference.hpp"

#include <arpa/inet.h>

#include "common/strings.hpp"
#include "image/registries.hpp"

namespace hull::image {
namespace {

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// A path component of a repository: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view c) {
  if (c.empty() || !lower_alnum(c.front()) || !lower_alnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (lower_alnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    if (c[i] == '.') {
      j = i + 1;
    } else if (c[i] == '_') {
      j = i + 1;
      if (j < c.size() && c[j] == '_') ++j;
    } else if (c[i] == '-') {
      while (j < c.size() && c[j] == '-') ++j;
    } else {
      return false;
    }
    if (j >= c.size() || !lower_alnum(c[j])) return false;
    i = j;
  }
  return true;
}

// [\w][\w.-]{0,127}
bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(t.front())) return false;
  for (char c : t)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

// ":port": digits only, 1-65535.
bool valid_port(std::string_view p) {
  auto port = parse_int<unsigned>(p);
  return port && *port >= 1 && *port <= 65535 &&
         p.find_first_not_of("0123456789") == std::string_view::npos;
}

// A domain component: [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?
bool valid_domain_component(std::string_view c) {
  auto alnum = [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
  };
  if (c.empty() || !alnum(c.front()) || !alnum(c.back())) return false;
  for (char ch : c)
    if (!alnum(ch) && ch != '-') return false;
  return true;
}

}  // namespace

// host[:port], host dot-separated domain components or an [IPv6] literal. Says what is
// wrong, empty when valid.
std::string registry_problem(std::string_view r) {
  std::string_view host = r;
  std::string_view port;
  if (r.starts_with('[')) {
    size_t close = r.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 literal";
    host = r.substr(1, close - 1);
    std::string_view rest = r.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "junk after the IPv6 literal";
      port = rest.substr(1);
      if (!valid_port(port)) return fmt::format("port {:?} is not 1-65535", port);
    }
    in6_addr a{};
    std::string h(host);
    // inet_pton is stricter than docker's [a-fA-F0-9:]+, which also takes "[:]".
    if (host.find_first_not_of("0123456789abcdefABCDEF:") != std::string_view::npos ||
        ::inet_pton(AF_INET6, h.c_str(), &a) != 1)
      return fmt::format("{:?} is not an IPv6 address", host);
    return {};
  }
  if (size_t colon = r.find(':'); colon != std::string_view::npos) {
    port = r.substr(colon + 1);
    host = r.substr(0, colon);
    if (!valid_port(port)) return fmt::format("port {:?} is not 1-65535", port);
  }
  if (host.empty()) return "empty host";
  for (std::string_view c : split(host, '.')) {
    if (c.empty()) return "empty host component (a leading, trailing or doubled '.')";
    if (!valid_domain_component(c))
      return fmt::format("host component {:?} is not [a-zA-Z0-9] with inner '-'", c);
  }
  return {};
}

namespace {

bool all_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

bool valid_digest(std::string_view d) {
  if (!d.starts_with("sha256:") || d.size() != 7 + 64) return false;
  for (char c : d.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string Reference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::familiar_name() const {
  if (registry == "docker.io") {
    if (repository.starts_with("library/") && repository.find('/', 8) == std::string::npos)
      return repository.substr(8);
    return repository;
  }
  return name();
}

Result<Reference> parse_reference(std::string_view s, std::string_view default_registry) {
  if (s.empty()) return fail("invalid reference format: empty image name");
  if (s.size() > 4096) return fail("invalid reference format: name too long");
  Reference ref;
  std::string_view rest = s;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!valid_digest(ref.digest))
      return failf("invalid reference format: bad digest {:?} in {:?} (want sha256:<64 hex>)",
                   ref.digest, s);
  }
  // The first component is a registry when it looks like a host: a dot, a port, or
  // "localhost", as docker decides.
  size_t slash = rest.find('/');
  bool explicit_registry = false;
  if (slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost" || first.starts_with('[')) {
      if (auto why = registry_problem(first); !why.empty())
        return failf("invalid reference format: bad registry {:?} in {:?}: {}", first, s, why);
      ref.registry = std::string(first);
      rest = rest.substr(slash + 1);
      explicit_registry = true;
    }
  }
  if (ref.registry.empty())
    ref.registry = default_registry.empty() ? registry_config().default_registry
                                            : std::string(default_registry);
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io")
    ref.registry = "docker.io";
  // The tag follows the last ':' of the last component.
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!valid_tag(ref.tag))
      return failf(
          "invalid reference format: bad tag {:?} in {:?}: want [A-Za-z0-9_][A-Za-z0-9_.-]*, "
          "at most 128 characters",
          ref.tag, s);
  }
  if (rest.empty()) return failf("invalid reference format: no repository in {:?}", s);
  for (std::string_view c : split(rest, '/')) {
    if (!valid_component(c)) {
      bool upper = false;
      for (char ch : c) upper |= (ch >= 'A' && ch <= 'Z');
      if (upper)
        return failf("invalid reference format: repository name must be lowercase: {:?}", s);
      return failf(
          "invalid reference format: bad repository component {:?} in {:?}: want [a-z0-9] runs "
          "joined by '.', '_', '__' or '-'",
          c, s);
    }
  }
  ref.repository = std::string(rest);
  if (ref.registry == "docker.io" && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  // Image lookups take a 64-hex name as an image id and "sha256:..." as a digest, so such
  // a repository could never be named again, and `rmi <hex>` would delete another image.
  // Checked as the user wrote it and as `images` shows it; "host/<hex>" is unambiguous.
  std::string familiar = ref.familiar_name();
  for (std::string_view n : {explicit_registry ? familiar : rest, std::string_view(familiar)}) {
    if (n.size() == 64 && all_lower_hex(n))
      return failf(
          "invalid repository name {:?} in {:?}: cannot specify 64-byte hexadecimal strings "
          "(that is an image id)",
          n, s);
    if (n == "sha256")
      return failf(
          "invalid repository name {:?} in {:?}: the digest algorithm is not a name "
          "(sha256:<hex> is an image id)",
          n, s);
  }
  // docker counts the whole name: "docker.io/library/..." included.
  if (ref.name().size() > 255)
    return failf("invalid reference format: repository name {:?} is longer than 255 characters", s);
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::string registry_endpoint_host(std::string_view registry) {
  if (registry == "docker.io") return "registry-1.docker.io";
  return std::string(registry);
}

bool is_loopback_registry(std::string_view registry) {
  std::string_view host = registry;
  if (host.starts_with('[')) {
    size_t close = host.find(']');
    host = host.substr(1, close == std::string_view::npos ? host.size() - 1 : close - 1);
    return host == "::1";
  }
  if (size_t colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
  if (host == "localhost") return true;
  in_addr a{};
  std::string h(host);
  if (::inet_pton(AF_INET, h.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

}  // namespace hull::image

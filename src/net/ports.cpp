// docker's -p syntax and the ways ports are printed back.
#include <algorithm>

#include "common/strings.hpp"
#include "net/ipv4.hpp"
#include "net/network.hpp"

namespace hull::net {
namespace {

struct Range {
  uint16_t first = 0, last = 0;
  [[nodiscard]] int size() const { return last - first + 1; }
};

// "80" or "8000-8010". what names the part in the error ("container port", "host port").
Result<Range> parse_range(std::string_view text, std::string_view what, std::string_view spec,
                          bool allow_zero) {
  auto bad = [&](std::string_view why) {
    return failf("invalid publish \"{}\": {} \"{}\" {}", spec, what, text, why);
  };
  auto one = [&](std::string_view p) -> std::optional<unsigned> {
    auto v = parse_int<unsigned>(p);
    if (!v || *v > 65535) return std::nullopt;
    return *v;
  };
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    auto v = one(text);
    if (!v || (*v == 0 && !allow_zero)) return bad("is not a port (1-65535)");
    return Range{static_cast<uint16_t>(*v), static_cast<uint16_t>(*v)};
  }
  auto a = one(text.substr(0, dash)), b = one(text.substr(dash + 1));
  if (!a || !b || *a == 0) return bad("is not a port range (first-last, 1-65535)");
  if (*b < *a) return bad("is a range that ends before it starts");
  return Range{static_cast<uint16_t>(*a), static_cast<uint16_t>(*b)};
}

}  // namespace

Result<std::vector<PortSpec>> parse_publish(std::string_view spec) {
  std::string_view rest = spec;
  std::string proto = "tcp";
  if (size_t slash = rest.rfind('/'); slash != std::string_view::npos) {
    proto = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (proto != "tcp" && proto != "udp")
      return failf("invalid publish \"{}\": protocol \"{}\" is not tcp or udp", spec, proto);
  }
  if (!rest.empty() && rest.front() == '[')
    return failf("invalid publish \"{}\": IPv6 host addresses are not supported", spec);
  // docker splits on ':' from the right: containerPort, hostPort:containerPort,
  // ip:hostPort:containerPort (hostPort may be empty: "ip::80", ":80").
  std::string host_ip;
  std::string_view host_part, container_part;
  size_t last = rest.rfind(':');
  if (last == std::string_view::npos) {
    container_part = rest;
  } else {
    container_part = rest.substr(last + 1);
    std::string_view front = rest.substr(0, last);
    size_t first = front.rfind(':');
    if (first == std::string_view::npos) {
      host_part = front;
      // "127.0.0.1:80" is hostPort:containerPort to docker too; say how to bind an address.
      if (parse_ipv4(host_part))
        return failf(
            "invalid publish \"{}\": \"{}\" is an address, not a host port; use "
            "{}::{} (a free port) or {}:HOSTPORT:{}",
            spec, host_part, host_part, container_part, host_part, container_part);
    } else {
      host_ip = std::string(front.substr(0, first));
      host_part = front.substr(first + 1);
      if (host_ip.find(':') != std::string::npos)
        return failf(
            "invalid publish \"{}\": too many ':' (use [ip:][hostPort:]containerPort"
            "[/proto]; IPv6 host addresses are not supported)",
            spec);
      // docker takes an empty address (":8080:80") as every address.
      if (!host_ip.empty() && !parse_ipv4(host_ip))
        return failf("invalid publish \"{}\": host address \"{}\" is not an IPv4 address", spec,
                     host_ip);
      if (host_ip == "0.0.0.0") host_ip.clear();
    }
  }
  if (container_part.empty())
    return failf(
        "invalid publish \"{}\": no container port (use "
        "[ip:][hostPort:]containerPort[/proto])",
        spec);
  Range c = HULL_TRY(parse_range(container_part, "container port", spec, false));
  Range h{0, 0};
  if (!host_part.empty()) h = HULL_TRY(parse_range(host_part, "host port", spec, true));
  // Equal sizes pair up; a host range for a single container port is a range to pick a
  // free port from (docker's rule); any other mismatch is an error.
  const bool host_given = !host_part.empty();
  if (host_given && h.size() != c.size() && c.size() != 1)
    return failf("invalid publish \"{}\": host range {} and container range {} differ in size",
                 spec, host_part, container_part);
  const bool host_range_to_pick = host_given && h.size() != c.size();
  std::vector<PortSpec> out;
  out.reserve(c.size());
  for (int i = 0; i < c.size(); ++i) {
    PortSpec p;
    p.host_ip = host_ip;
    p.container_port = static_cast<uint16_t>(c.first + i);
    p.proto = proto;
    if (host_range_to_pick) {
      p.host_port = h.first;
      p.host_port_last = h.last;
    } else if (h.first != 0) {
      p.host_port = static_cast<uint16_t>(h.first + i);
    }
    out.push_back(std::move(p));
  }
  return out;
}

Result<PortSpec> parse_exposed(std::string_view key) {
  std::string_view port = key;
  std::string proto = "tcp";
  if (size_t slash = key.find('/'); slash != std::string_view::npos) {
    port = key.substr(0, slash);
    proto = std::string(key.substr(slash + 1));
  }
  if (proto != "tcp" && proto != "udp")
    return failf("invalid exposed port \"{}\": protocol {} is not supported", key, proto);
  auto v = parse_int<unsigned>(port);
  if (!v || *v == 0 || *v > 65535)
    return failf("invalid exposed port \"{}\": expected 1-65535[/tcp|/udp]", key);
  PortSpec p;
  p.container_port = static_cast<uint16_t>(*v);
  p.proto = proto;
  return p;
}

std::string format_ports(const std::vector<PortSpec>& ports) {
  std::string out;
  for (const auto& p : ports) {
    if (!out.empty()) out += ", ";
    if (p.host_port == 0)
      out += fmt::format("{}/{}", p.container_port, p.proto);
    else if (p.host_port_last > p.host_port)  // not yet resolved (a created container)
      out += fmt::format("{}:{}-{}->{}/{}", p.host_ip.empty() ? "0.0.0.0" : p.host_ip, p.host_port,
                         p.host_port_last, p.container_port, p.proto);
    else
      out += fmt::format("{}:{}->{}/{}", p.host_ip.empty() ? "0.0.0.0" : p.host_ip, p.host_port,
                         p.container_port, p.proto);
  }
  return out;
}

std::string format_port_lines(const std::vector<PortSpec>& ports) {
  std::string out;
  for (const auto& p : ports)
    out += fmt::format("{}/{} -> {}:{}\n", p.container_port, p.proto,
                       p.host_ip.empty() ? "0.0.0.0" : p.host_ip, p.host_port);
  return out;
}

}  // namespace hull::net

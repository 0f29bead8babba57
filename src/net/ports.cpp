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

Result<Range> parse_range(std::string_view text, std::string_view spec, bool allow_zero) {
  auto bad = [&] {
    return failf("invalid port \"{}\" in \"{}\": expected a number 1-65535 or a range a-b", text,
                 spec);
  };
  size_t dash = text.find('-');
  auto one = [&](std::string_view p) -> std::optional<uint16_t> {
    auto v = parse_int<unsigned>(p);
    if (!v || *v > 65535 || (*v == 0 && !allow_zero)) return std::nullopt;
    return static_cast<uint16_t>(*v);
  };
  if (dash == std::string_view::npos) {
    auto v = one(text);
    if (!v) return bad();
    return Range{*v, *v};
  }
  auto a = one(text.substr(0, dash)), b = one(text.substr(dash + 1));
  if (!a || !b || *a == 0 || *b < *a) return bad();
  return Range{*a, *b};
}

}  // namespace

Result<std::vector<PortSpec>> parse_publish(std::string_view spec) {
  std::string_view rest = spec;
  std::string proto = "tcp";
  if (size_t slash = rest.rfind('/'); slash != std::string_view::npos) {
    proto = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (proto != "tcp" && proto != "udp")
      return failf("invalid protocol \"{}\" in \"{}\": expected tcp or udp", proto, spec);
  }
  std::string host_ip;
  if (!rest.empty() && rest.front() == '[')
    return failf("invalid publish \"{}\": IPv6 host addresses are not supported", spec);
  // ip:hostPort:containerPort, ip::containerPort, hostPort:containerPort, containerPort
  std::string_view host_part, container_part;
  size_t last = rest.rfind(':');
  if (last == std::string_view::npos) {
    container_part = rest;
  } else {
    container_part = rest.substr(last + 1);
    std::string_view front = rest.substr(0, last);
    size_t first = front.rfind(':');
    if (first == std::string_view::npos) {
      // "hostPort:containerPort" or "ip:containerPort" is not docker's syntax: the single
      // colon form is always hostPort:containerPort.
      host_part = front;
    } else {
      host_ip = std::string(front.substr(0, first));
      host_part = front.substr(first + 1);
      if (host_ip.find(':') != std::string::npos)
        return failf("invalid publish \"{}\": IPv6 host addresses are not supported", spec);
      if (!parse_ipv4(host_ip))
        return failf("invalid host address \"{}\" in \"{}\": expected an IPv4 address", host_ip,
                     spec);
      if (host_ip == "0.0.0.0") host_ip.clear();
    }
  }
  if (container_part.empty()) return failf("invalid publish \"{}\": no container port", spec);
  Range c = HULL_TRY(parse_range(container_part, spec, false));
  Range h{0, 0};
  bool host_given = !host_part.empty();
  if (host_given) h = HULL_TRY(parse_range(host_part, spec, true));
  if (host_given && h.first != 0 && h.size() != c.size())
    return failf("invalid publish \"{}\": host range and container range differ in size", spec);
  if (host_given && h.first == 0 && c.size() != 1)
    return failf("invalid publish \"{}\": host port 0 with a container range", spec);
  std::vector<PortSpec> out;
  out.reserve(c.size());
  for (int i = 0; i < c.size(); ++i) {
    PortSpec p;
    p.host_ip = host_ip;
    p.host_port = host_given && h.first != 0 ? static_cast<uint16_t>(h.first + i) : 0;
    p.container_port = static_cast<uint16_t>(c.first + i);
    p.proto = proto;
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

// /etc/hosts and /etc/resolv.conf for containers, following docker's rules.
#include <algorithm>

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "net/ipv4.hpp"
#include "net/network.hpp"

namespace hull::net {
namespace {

constexpr std::string_view kLocalhost =
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n";

void append_entry(std::string& out, const HostEntry& e) {
  if (e.names.empty()) return;
  out += e.ip;
  out += '\t';
  for (size_t i = 0; i < e.names.size(); ++i) {
    if (i) out += ' ';
    out += e.names[i];
  }
  out += '\n';
}

bool valid_hostname(std::string_view n) {
  if (n.empty() || n.size() > 253) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

bool is_loopback_server(std::string_view s) {
  if (s == "::1") return true;
  if (auto a = parse_ipv4(s)) return (*a >> 24) == 127;
  return false;
}

}  // namespace

Result<HostEntry> parse_add_host(std::string_view spec, std::string_view gateway) {
  size_t sep = spec.find(':');
  size_t eq = spec.find('=');
  if (eq != std::string_view::npos && (sep == std::string_view::npos || eq < sep)) sep = eq;
  if (sep == std::string_view::npos)
    return failf("invalid --add-host \"{}\": expected name:ip", spec);
  std::string name(spec.substr(0, sep));
  std::string ip(spec.substr(sep + 1));
  if (!ip.empty() && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (!valid_hostname(name))
    return failf("invalid --add-host \"{}\": bad host name \"{}\"", spec, name);
  if (ip == "host-gateway") {
    if (gateway.empty())
      return failf("invalid --add-host \"{}\": host-gateway needs a bridge network", spec);
    ip = std::string(gateway);
  }
  // An IPv6 address has colons only; anything else must be a dotted quad.
  bool v6 = ip.find(':') != std::string::npos && std::all_of(ip.begin(), ip.end(), [](char c) {
              return isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
            });
  if (!v6 && !parse_ipv4(ip))
    return failf("invalid --add-host \"{}\": bad address \"{}\"", spec, ip);
  return HostEntry{ip, {name}};
}

std::string render_hosts(const std::vector<HostEntry>& entries,
                         const std::vector<HostEntry>& extra) {
  std::string out(kLocalhost);
  for (const auto& e : entries) append_entry(out, e);
  for (const auto& e : extra) append_entry(out, e);
  return out;
}

std::string render_hosts_standalone(const std::vector<HostEntry>& extra) {
  return render_hosts({}, extra);
}

std::string render_resolv_conf(std::string_view host_text, const std::vector<std::string>& dns,
                               const std::vector<std::string>& search,
                               const std::vector<std::string>& options) {
  std::vector<std::string> servers, domains, opts;
  std::vector<std::string> other;  // sortlist and the like, kept as the host has them
  for (auto raw : split(host_text, '\n')) {
    auto line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    std::vector<std::string> words;
    for (auto w : split(line, ' '))
      for (auto w2 : split(w, '\t'))
        if (!w2.empty()) words.emplace_back(w2);
    if (words.empty()) continue;
    if (words[0] == "nameserver" && words.size() >= 2) {
      servers.push_back(words[1]);
    } else if ((words[0] == "search" || words[0] == "domain") && words.size() >= 2) {
      // The last search/domain line wins, as in resolv.conf(5).
      domains.assign(words.begin() + 1, words.end());
    } else if (words[0] == "options") {
      opts.insert(opts.end(), words.begin() + 1, words.end());
    } else {
      other.emplace_back(line);
    }
  }
  if (!dns.empty()) {
    servers = dns;
  } else {
    std::erase_if(servers, [](const std::string& s) { return is_loopback_server(s); });
    if (servers.empty()) servers = {"8.8.8.8", "8.8.4.4"};
  }
  if (!search.empty()) {
    domains = search;
    // docker: --dns-search . means "no search domains".
    if (domains.size() == 1 && domains[0] == ".") domains.clear();
  }
  if (!options.empty()) opts = options;

  std::string out;
  for (const auto& s : servers) out += fmt::format("nameserver {}\n", s);
  if (!domains.empty()) out += fmt::format("search {}\n", fmt::join(domains, " "));
  if (!opts.empty()) out += fmt::format("options {}\n", fmt::join(opts, " "));
  for (const auto& o : other) out += fmt::format("{}\n", o);
  return out;
}

Result<std::string> container_resolv_conf(const std::vector<std::string>& dns,
                                          const std::vector<std::string>& search,
                                          const std::vector<std::string>& options,
                                          bool host_network) {
  std::string path = "/etc/resolv.conf";
  auto text = fs::read_file(path);
  // systemd-resolved's stub (127.0.0.53) is unreachable from a container: docker reads
  // the upstream list instead.
  if (text && !host_network && text->find("127.0.0.53") != std::string::npos &&
      fs::exists("/run/systemd/resolve/resolv.conf")) {
    path = "/run/systemd/resolve/resolv.conf";
    text = fs::read_file(path);
  }
  std::string host_text = text ? *text : std::string();
  if (host_network && dns.empty() && search.empty() && options.empty()) return host_text;
  if (host_network && dns.empty()) {
    // Host networking keeps loopback servers: they are reachable from there.
    std::vector<std::string> servers;
    for (auto raw : split(host_text, '\n')) {
      auto line = trim(raw);
      if (line.starts_with("nameserver")) {
        auto server = trim(line.substr(10));
        if (!server.empty()) servers.emplace_back(server);
      }
    }
    if (!servers.empty()) return render_resolv_conf(host_text, servers, search, options);
  }
  return render_resolv_conf(host_text, dns, search, options);
}

}  // namespace hull::net

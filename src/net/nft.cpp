#include "net/nft.hpp"

#include <nftables/libnftables.h>

#include <memory>

namespace hull::net::nft {
namespace {

struct CtxDel {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};

}  // namespace

std::string port_rule(const Port& p) {
  std::string out;
  if (!p.host_ip.empty()) out += fmt::format("ip daddr {} ", p.host_ip);
  out += fmt::format("{} dport {} dnat to {}:{}", p.proto, p.host_port, p.container_ip,
                     p.container_port);
  return out;
}

std::string render(const Model& m) {
  // "add" then "delete" makes the delete succeed whether or not the table exists; both
  // and the new table are one transaction.
  std::string out = fmt::format("add table ip {0}\ndelete table ip {0}\n", kTable);
  if (m.bridges.empty()) return out;
  out += fmt::format("table ip {} {{\n", kTable);
  // Published ports: traffic to any local address, from outside (prerouting) or from the
  // host itself (output), is sent on to the container.
  out +=
      "  chain prerouting {\n"
      "    type nat hook prerouting priority -100; policy accept;\n"
      "    fib daddr type local jump ports\n"
      "  }\n"
      "  chain output {\n"
      "    type nat hook output priority -100; policy accept;\n"
      "    fib daddr type local jump ports\n"
      "  }\n"
      "  chain ports {\n";
  for (const auto& p : m.ports) out += "    " + port_rule(p) + "\n";
  out +=
      "  }\n"
      "  chain postrouting {\n"
      "    type nat hook postrouting priority 100; policy accept;\n";
  for (const auto& b : m.bridges) {
    if (b.internal) continue;  // no way out, no published ports
    // Outbound: the subnet leaves through any other interface behind the host's address.
    if (b.masquerade)
      out += fmt::format("    ip saddr {} oifname != \"{}\" masquerade\n", b.subnet, b.name);
    // 127.0.0.1:port from the host (route_localnet lets it be routed to the bridge): the
    // container must answer the gateway, not a loopback address.
    out += fmt::format("    oifname \"{}\" ip saddr 127.0.0.0/8 masquerade\n", b.name);
    // A container reaching a published port of its own network (hairpin): without this
    // the reply would go straight back, bypassing the DNAT's reverse translation.
    out +=
        fmt::format("    oifname \"{}\" ip saddr {} ct status dnat masquerade\n", b.name, b.subnet);
  }
  out +=
      "  }\n"
      "  chain forward {\n"
      "    type filter hook forward priority 0; policy accept;\n";
  // Networks are isolated from each other, as docker's are.
  for (const auto& a : m.bridges)
    for (const auto& b : m.bridges)
      if (a.name != b.name)
        out += fmt::format("    iifname \"{}\" oifname \"{}\" drop\n", a.name, b.name);
  // An internal network (docker's --internal) talks only inside its bridge.
  for (const auto& b : m.bridges)
    if (b.internal)
      out += fmt::format(
          "    iifname \"{0}\" oifname != \"{0}\" drop\n    oifname \"{0}\" iifname != \"{0}\" "
          "drop\n",
          b.name);
  out +=
      "  }\n"
      "}\n";
  return out;
}

Result<std::string> run(const std::string& command) {
  std::unique_ptr<nft_ctx, CtxDel> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return fail("nft_ctx_new failed", ENOMEM);
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  int rc = nft_run_cmd_from_buffer(ctx.get(), command.c_str());
  if (rc != 0) {
    std::string err = nft_ctx_get_error_buffer(ctx.get());
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return fail(fmt::format("nft: {}", err.empty() ? std::string("command failed") : err), EINVAL);
  }
  return std::string(nft_ctx_get_output_buffer(ctx.get()));
}

std::string render_ports(const Model& m) {
  std::string out = fmt::format("flush chain ip {} ports\n", kTable);
  for (const auto& p : m.ports)
    out += fmt::format("add rule ip {} ports {}\n", kTable, port_rule(p));
  return out;
}

std::string without_ports(std::string_view text) {
  constexpr std::string_view kOpen = "  chain ports {\n", kClose = "  }\n";
  size_t open = text.find(kOpen);
  if (open == std::string_view::npos) return std::string(text);
  size_t close = text.find(kClose, open + kOpen.size());
  if (close == std::string_view::npos) return std::string(text);
  return std::string(text.substr(0, open + kOpen.size())) + std::string(text.substr(close));
}

Status apply_ports(const Model& m) {
  auto r = run(render_ports(m));
  if (!r)
    return std::unexpected(r.error().wrap(fmt::format("update nft chain ip {} ports", kTable)));
  return {};
}

Status apply(const Model& m) {
  auto r = run(render(m));
  if (!r) return std::unexpected(r.error().wrap(fmt::format("update nft table ip {}", kTable)));
  return {};
}

Result<bool> table_exists() {
  auto r = run(fmt::format("list tables ip"));
  if (!r) return std::unexpected(r.error());
  return r->find(fmt::format("table ip {}\n", kTable)) != std::string::npos;
}

}  // namespace hull::net::nft

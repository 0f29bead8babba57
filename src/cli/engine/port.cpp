// hull port CONTAINER [PRIVATE_PORT[/PROTO]]: the host ports a container's ports are
// published on, as `docker port` prints them. The resolved ports (-p 80 picks one) are
// src/net's record of the attachment.
#include <iostream>
#include <memory>

#include "cli/engine/verb.hpp"
#include "common/strings.hpp"
#include "engine/engine.hpp"
#include "net/network.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(port, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::string container, filter;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("port", "list a container's published ports");
  c->add_option("CONTAINER", a->container, "container name or id")->required();
  c->add_option("PRIVATE_PORT", a->filter, "only this port (80 or 80/tcp)");
  return [a, &g]() -> int {
    auto eng = engine::Engine::open(g.root, g.run_root);
    if (!eng) return verb_failure(eng.error());
    auto ctr = eng->find(a->container);
    if (!ctr) return verb_failure(ctr.error());
    std::vector<net::PortSpec> published;
    if (ctr->config.network == "pasta") {
      // Rootless: pasta forwards them, no network attachment; the state has them resolved.
      for (const auto& p : ctr->state.ports)
        published.push_back({p.host_ip, p.host_port, p.container_port, p.proto});
    } else {
      auto nets = net::Networks::open(g.root);
      if (!nets) return verb_failure(nets.error());
      auto atts = nets->attachments(ctr->config.id);
      if (!atts) return verb_failure(atts.error());
      for (const auto& at : *atts)
        published.insert(published.end(), at.ports.begin(), at.ports.end());
    }
    std::optional<net::PortSpec> want;
    if (!a->filter.empty()) {
      auto w = net::parse_exposed(a->filter);
      if (!w) return verb_failure(w.error());
      want = *w;
    }
    std::vector<net::PortSpec> ports;
    for (const auto& p : published)
      if (!want || (p.container_port == want->container_port && p.proto == want->proto))
        ports.push_back(p);
    if (want && ports.empty()) {
      log::error("no public port '{}/{}' published for {}", want->container_port, want->proto,
                 a->container);
      return 1;
    }
    if (want) {
      // docker prints only the host side when asked for one port.
      for (const auto& p : ports)
        std::cout << (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) << ":" << p.host_port << "\n";
      return 0;
    }
    std::cout << net::format_port_lines(ports);
    return 0;
  };
});

}  // namespace hull::cli

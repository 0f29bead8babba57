// hull network create|ls|inspect|rm|connect|disconnect|prune: flags only; the work is in
// src/net (Networks).
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/engine/verb.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/sha256.hpp"
#include "common/time.hpp"
#include "common/userns.hpp"
#include "engine/engine.hpp"
#include "engine/filters.hpp"
#include "engine/present.hpp"
#include "net/network.hpp"

namespace hull::cli {
namespace {

Result<net::Networks> open_networks(const EngineGlobals& g) {
  // Rootless hull (uid 0 of its user namespace) has no bridge networks: say so rather
  // than fail on the first netlink call.
  if (userns::running_in_user_ns())
    return fail(
        "hull network: bridge and user-defined networks need root; rootless hull uses pasta "
        "(run --network pasta, the default), none, host or container:NAME");
  return net::Networks::open(g.root);
}

std::string short_id(const std::string& id) {
  return id.substr(0, 12);
}

// docker network inspect's shape, trimmed to what hull has.
Json to_json(const net::NetworkInfo& n) {
  Json containers = Json::object();
  for (const auto& e : n.endpoints) {
    Json ports = Json::array();
    for (const auto& p : e.ports)
      ports.push_back({{"HostIp", p.host_ip.empty() ? "0.0.0.0" : p.host_ip},
                       {"HostPort", std::to_string(p.host_port)},
                       {"ContainerPort", std::to_string(p.container_port)},
                       {"Protocol", p.proto}});
    // EndpointID: hull has no endpoint objects; the host veth names the endpoint, and on
    // host and none (no veth) a digest of the network and the container stands in for
    // docker's random id.
    const std::string endpoint =
        e.host_veth.empty() ? Sha256::hex(n.id + e.container_id) : e.host_veth;
    containers[e.container_id] = {{"Name", e.container_name}, {"EndpointID", endpoint},
                                  {"MacAddress", e.mac},      {"IPv4Address", e.ip},
                                  {"IPv6Address", ""},        {"HostVeth", e.host_veth},
                                  {"Aliases", e.aliases},     {"Ports", ports}};
  }
  // host and none (drivers host and null) have no addresses and no bridge.
  Json configs = Json::array();
  Json options = n.options.empty() ? Json::object() : Json(n.options);
  if (n.driver == "bridge") {
    Json config = {{"Subnet", n.subnet}, {"Gateway", n.gateway}};
    if (!n.ip_range.empty()) config["IPRange"] = n.ip_range;
    configs.push_back(config);
    // docker shows the -o options given; hull adds the bridge's name and MTU it chose.
    options["com.docker.network.bridge.name"] = n.bridge;
    options["com.docker.network.driver.mtu"] = std::to_string(n.mtu);
  }
  return {{"Name", n.name},
          {"Id", n.id},
          {"Created", format_rfc3339(n.created)},
          {"Scope", "local"},
          {"Driver", n.driver},
          {"EnableIPv6", false},
          {"IPAM", {{"Driver", "default"}, {"Options", Json::object()}, {"Config", configs}}},
          {"Internal", n.internal},
          {"Attachable", false},
          {"Ingress", false},
          {"ConfigFrom", {{"Network", ""}}},
          {"ConfigOnly", false},
          {"Containers", containers},
          {"Options", options},
          {"Labels", n.labels}};
}

// host and none have no endpoints in src/net (nothing is attached): as docker lists them,
// their members are the running (or paused) containers whose records name them.
Status add_predefined_members(const EngineGlobals& g, net::NetworkInfo& n) {
  auto eng = HULL_TRY(engine::Engine::open(g.root, g.run_root));
  for (const auto& c : HULL_TRY(eng.list()))
    if (c.config.network == n.name && (c.state.status == engine::ContainerStatus::running ||
                                       c.state.status == engine::ContainerStatus::paused))
      n.endpoints.push_back({.container_id = c.config.id, .container_name = c.config.name});
  return {};
}

// "k=v" (or "k", an empty value, as docker takes a label) into a map.
Result<std::map<std::string, std::string>> key_values(const std::vector<std::string>& args,
                                                      std::string_view flag, bool value_needed) {
  std::map<std::string, std::string> out;
  for (const auto& a : args) {
    auto eq = a.find('=');
    if (eq == 0 || (eq == std::string::npos && value_needed))
      return failf("invalid {} \"{}\": want KEY=VALUE", flag, a);
    if (eq == std::string::npos)
      out[a] = "";
    else
      out[a.substr(0, eq)] = a.substr(eq + 1);
  }
  return out;
}

// docker network ls's filters. name and id match all or part (regular expressions),
// driver exactly, type custom|builtin, scope local, dangling true|false (no container; the
// predefined networks are never dangling).
constexpr engine::FilterArgs::Key kLsFilterKeys[] = {
    {"name", engine::FilterArgs::Kind::regex},      {"id", engine::FilterArgs::Kind::regex},
    {"driver", engine::FilterArgs::Kind::text},     {"label", engine::FilterArgs::Kind::label},
    {"type", engine::FilterArgs::Kind::text},       {"scope", engine::FilterArgs::Kind::text},
    {"dangling", engine::FilterArgs::Kind::boolean}};

Result<engine::FilterArgs> parse_ls_filters(const std::vector<std::string>& given) {
  auto f = HULL_TRY(engine::FilterArgs::parse(given, kLsFilterKeys, "network ls"));
  for (const auto& v : f.values("type"))
    if (v != "custom" && v != "builtin")
      return failf("invalid filter 'type={}': want custom or builtin", v);
  return f;
}

bool ls_matches(const engine::FilterArgs& f, const net::NetworkInfo& n) {
  auto dangling = f.boolean("dangling");
  return f.search("name", {n.name}) && f.search("id", {n.id}) &&
         f.any("driver", [&](const std::string& v) { return v == n.driver; }) &&
         f.labels_hold(n.labels) &&
         f.any("type", [&](const std::string& v) { return (v == "builtin") == n.is_default; }) &&
         f.any("scope", [&](const std::string& v) { return v == "local"; }) &&
         (!dangling || *dangling == (!n.is_default && n.endpoints.empty()));
}

// One row of docker network ls: what its --format templates and "json" see.
Json ls_row(const net::NetworkInfo& n, bool no_trunc) {
  return {{"CreatedAt", engine::go_time_text(n.created)},
          {"Driver", n.driver},
          {"ID", no_trunc ? n.id : short_id(n.id)},
          {"IPv6", "false"},
          {"Internal", n.internal ? "true" : "false"},
          {"Labels", engine::labels_text(n.labels)},
          {"Name", n.name},
          {"Scope", "local"}};
}

constexpr std::string_view kLsTable = "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

}  // namespace

HULL_ENGINE_VERB(network, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::string name, subnet, gateway, ip_range, driver = "bridge";
    bool internal = false;
    std::vector<std::string> labels, opts;
    std::vector<std::string> names;
    bool quiet = false, force = false, no_trunc = false;
    std::vector<std::string> filters;
    std::string format, inspect_format;
    std::string network, container, ip;
    std::vector<std::string> aliases;
  };
  auto a = std::make_shared<Args>();
  auto* net = app.add_subcommand("network", "manage networks");
  net->require_subcommand(1);

  auto* create = net->add_subcommand("create", "create a bridge network");
  create->add_option("--subnet", a->subnet, "subnet in CIDR form, e.g. 10.89.5.0/24");
  create->add_option("--gateway", a->gateway, "gateway address inside the subnet");
  create->add_option("--ip-range", a->ip_range, "give containers addresses from this CIDR only");
  create->add_flag("--internal", a->internal, "no access to or from outside the network");
  create->add_option("--label", a->labels, "a label KEY=VALUE (repeatable)")
      ->allow_extra_args(false)
      ->type_size(1);
  create->add_option("-o,--opt", a->opts, "a driver option KEY=VALUE (repeatable)")
      ->allow_extra_args(false)
      ->type_size(1);
  create->add_option("-d,--driver", a->driver, "network driver")->check(CLI::IsMember({"bridge"}));
  create->add_option("NAME", a->name, "network name")->required();

  auto* ls = net->add_subcommand("ls", "list networks");
  ls->alias("list");
  ls->add_flag("-q,--quiet", a->quiet, "print only ids");
  ls->add_flag("--no-trunc", a->no_trunc, "print whole ids");
  ls->add_option("-f,--filter", a->filters, "name, id, driver, label, type, scope, dangling")
      ->allow_extra_args(false)
      ->type_size(1);
  ls->add_option("--format", a->format,
                 "table, table TEMPLATE, TEMPLATE (a Go template) or json (one object a line)");

  auto* inspect = net->add_subcommand("inspect", "show networks as JSON");
  inspect->add_option("NETWORK", a->names, "network names or ids")->required();
  inspect->add_option("-f,--format", a->inspect_format, "template such as {{.IPAM.Config}}");

  auto* rm = net->add_subcommand("rm", "remove networks");
  rm->alias("remove");
  rm->add_option("NETWORK", a->names, "network names or ids")->required();

  auto* connect = net->add_subcommand("connect", "connect a running container to a network");
  connect->add_option("--alias", a->aliases, "another name the container has on the network");
  connect->add_option("--ip", a->ip, "a fixed IPv4 address in the network's subnet");
  connect->add_option("NETWORK", a->network, "network name or id")->required();
  connect->add_option("CONTAINER", a->container, "container name or id")->required();

  auto* disconnect = net->add_subcommand("disconnect", "disconnect a container from a network");
  disconnect->add_flag("-f,--force", a->force, "no error if not connected");
  disconnect->add_option("NETWORK", a->network, "network name or id")->required();
  disconnect->add_option("CONTAINER", a->container, "container name or id")->required();

  auto* prune = net->add_subcommand("prune", "remove networks with no containers");
  prune->add_flag("-f,--force", a->force, "do not prompt (hull never prompts)");

  return [=, &g]() -> int {
    // What the docker CLI's flag parser refuses is a usage error (125), before anything
    // is asked of the engine; everything else fails with 1.
    if (create->parsed())
      if (auto labels = key_values(a->labels, "--label", false); !labels)
        return flag_error(labels.error());
    if (ls->parsed())
      if (auto r = engine::check_filter_syntax(a->filters); !r) return flag_error(r.error());
    auto nets = open_networks(g);
    if (!nets) return verb_failure(nets.error());
    if (create->parsed()) {
      net::CreateOptions o;
      o.subnet = a->subnet;
      o.gateway = a->gateway;
      o.ip_range = a->ip_range;
      o.internal = a->internal;
      auto labels = key_values(a->labels, "--label", false);
      if (!labels) return verb_failure(labels.error());
      auto opts = key_values(a->opts, "-o", true);
      if (!opts) return verb_failure(opts.error());
      o.labels = std::move(*labels);
      o.options = std::move(*opts);
      auto n = nets->create(a->name, o);
      if (!n) return verb_failure(n.error());
      std::cout << n->id << "\n";
      return 0;
    }
    if (ls->parsed()) {
      auto filter = parse_ls_filters(a->filters);
      if (!filter) return verb_failure(filter.error());
      auto all = nets->list();
      if (!all) return verb_failure(all.error());
      // By name, as docker's CLI sorts them.
      std::sort(all->begin(), all->end(),
                [](const auto& x, const auto& y) { return x.name < y.name; });
      std::vector<Json> rows;
      for (const auto& n : *all)
        if (ls_matches(*filter, n)) rows.push_back(ls_row(n, a->no_trunc));
      if (a->quiet) {
        for (const auto& r : rows) std::cout << r["ID"].get<std::string>() << "\n";
        return 0;
      }
      Json head = {{"CreatedAt", "CREATED AT"},
                   {"Driver", "DRIVER"},
                   {"ID", "NETWORK ID"},
                   {"IPv6", "IPV6"},
                   {"Internal", "INTERNAL"},
                   {"Labels", "LABELS"},
                   {"Name", "NAME"},
                   {"Scope", "SCOPE"}};
      auto out = engine::format_rows(a->format, kLsTable, rows, head);
      if (!out) return verb_failure(out.error());
      std::cout << *out;
      return 0;
    }
    if (inspect->parsed()) {
      return print_inspect(a->names, a->inspect_format,
                           [&](const std::string& name) -> Result<Json> {
                             auto n = HULL_TRY(nets->inspect(name));
                             if (n.driver == "host" || n.driver == "null")
                               HULL_CHECK(add_predefined_members(g, n));
                             return to_json(n);
                           });
    }
    if (rm->parsed()) {
      int rc = 0;
      for (const auto& name : a->names) {
        if (auto r = nets->remove(name); !r) {
          log::error("{}", r.error().message);
          rc = 1;
          continue;
        }
        std::cout << name << "\n";
      }
      return rc;
    }
    if (connect->parsed() || disconnect->parsed()) {
      auto eng = engine::Engine::open(g.root, g.run_root);
      if (!eng) return verb_failure(eng.error());
      auto ctr = eng->find(a->container);
      if (!ctr) return verb_failure(ctr.error());
      const auto& cfg = ctr->config;
      if (disconnect->parsed()) {
        auto r = nets->detach(cfg.id, a->network);
        if (!r && !(a->force && r.error().code == ENOENT)) return verb_failure(r.error());
        return 0;
      }
      if (cfg.network == "host" || cfg.network == "none" || cfg.network.starts_with("container:"))
        return verb_failure(Error{EINVAL, fmt::format("container {} uses --network {}: it "
                                                      "cannot be connected to a network",
                                                      cfg.name, cfg.network)});
      if (ctr->state.status != engine::ContainerStatus::running || ctr->state.pid <= 0)
        return verb_failure(Error{EINVAL, fmt::format("container {} is not running", cfg.name)});
      net::AttachRequest rq;
      rq.container_id = cfg.id;
      rq.container_name = cfg.name;
      rq.hostname = cfg.hostname;
      // The running container's own netns; its file is the one the engine made.
      rq.netns_path = fmt::format("/proc/{}/ns/net", ctr->state.pid);
      rq.network = a->network;
      rq.aliases = a->aliases;
      rq.ip = a->ip;
      rq.hosts_path = eng->container_dir(cfg.id) + "/hosts";
      if (!fs::exists(rq.hosts_path)) rq.hosts_path.clear();
      auto at = nets->attach(rq);
      if (!at) return verb_failure(at.error());
      return 0;
    }
    if (prune->parsed()) {
      auto removed = nets->prune();
      if (!removed) return verb_failure(removed.error());
      if (!removed->empty()) {
        std::cout << "Deleted Networks:\n";
        for (const auto& n : *removed) std::cout << n << "\n";
      }
      return 0;
    }
    return 125;
  };
});

}  // namespace hull::cli

// src/net without a kernel: -p parsing, IPAM rules, hosts and resolv.conf rendering, the
// nft script hull's table is built from.
#include <gtest/gtest.h>

#include "net/ipam.hpp"
#include "net/ipv4.hpp"
#include "net/network.hpp"
#include "net/nft.hpp"

namespace hull::net {
namespace {

PortSpec port(std::string ip, uint16_t host, uint16_t ctr, std::string proto = "tcp") {
  return PortSpec{std::move(ip), host, ctr, std::move(proto)};
}

TEST(NetPublish, DockerForms) {
  auto a = parse_publish("8080:80");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(*a, std::vector<PortSpec>{port("", 8080, 80)});

  a = parse_publish("127.0.0.1:18080:80");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, std::vector<PortSpec>{port("127.0.0.1", 18080, 80)});

  a = parse_publish("80");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, std::vector<PortSpec>{port("", 0, 80)});

  a = parse_publish("127.0.0.1::53/udp");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, std::vector<PortSpec>{port("127.0.0.1", 0, 53, "udp")});

  a = parse_publish("0.0.0.0:8080:80/tcp");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, std::vector<PortSpec>{port("", 8080, 80)});
}

TEST(NetPublish, RangesExpandPairwise) {
  auto a = parse_publish("8000-8002:80-82");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(*a,
            (std::vector<PortSpec>{port("", 8000, 80), port("", 8001, 81), port("", 8002, 82)}));
  a = parse_publish("127.0.0.1:9000-9001:90-91/udp");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(*a, (std::vector<PortSpec>{port("127.0.0.1", 9000, 90, "udp"),
                                       port("127.0.0.1", 9001, 91, "udp")}));
  // A container range alone: each port gets a free host port.
  a = parse_publish("7000-7001");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<PortSpec>{port("", 0, 7000), port("", 0, 7001)}));
  a = parse_publish("127.0.0.1::7000-7001/udp");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<PortSpec>{port("127.0.0.1", 0, 7000, "udp"),
                                       port("127.0.0.1", 0, 7001, "udp")}));
  // A one-port range is a port.
  a = parse_publish("8080-8080:80-80");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, std::vector<PortSpec>{port("", 8080, 80)});
  // ":80" and "0:80" are docker's spellings of a free host port too.
  for (const char* spec : {":80", "0:80", "::80", "0.0.0.0::80"}) {
    a = parse_publish(spec);
    ASSERT_TRUE(a) << spec;
    EXPECT_EQ(*a, std::vector<PortSpec>{port("", 0, 80)}) << spec;
  }
}

TEST(NetPublish, HostRangeForOnePortIsARangeToPickFrom) {
  auto a = parse_publish("8000-8010:80");
  ASSERT_TRUE(a) << a.error().message;
  PortSpec want = port("", 8000, 80);
  want.host_port_last = 8010;
  EXPECT_EQ(*a, std::vector<PortSpec>{want});
  EXPECT_EQ(format_ports(*a), "0.0.0.0:8000-8010->80/tcp");
}

TEST(NetPublish, EveryMalformedFormNamesTheProblem) {
  struct Case {
    const char* spec;
    const char* says;
  };
  const Case cases[] = {
      {"", "no container port"},
      {"/tcp", "no container port"},
      {"80:", "no container port"},
      {"127.0.0.1:80:", "no container port"},
      {"80/", "protocol \"\" is not tcp or udp"},
      {"80/sctp", "protocol \"sctp\""},
      {"80/TCP/udp", "container port \"80/TCP\""},
      {"70000", "container port \"70000\" is not a port"},
      {"0", "container port \"0\" is not a port"},
      {"-1", "container port \"-1\" is not a port range"},
      {"+80", "container port \"+80\""},
      {" 80", "container port \" 80\""},
      {"http", "container port \"http\""},
      {"80:65536", "container port \"65536\""},
      {"65536:80", "host port \"65536\""},
      {"a:b", "container port \"b\""},
      {"a:80", "host port \"a\""},
      {"80-:80", "host port \"80-\" is not a port range"},
      {"80:-80", "container port \"-80\" is not a port range"},
      {"80-81-82", "container port \"80-81-82\""},
      {"0-5:80", "host port \"0-5\" is not a port range"},
      {"82-80", "ends before it starts"},
      {"9-3:9-3", "ends before it starts"},
      {"8000-8001:80-82", "host range 8000-8001 and container range 80-82 differ in size"},
      {"8000:80-82", "differ in size"},
      {"0:80-82", "differ in size"},
      {"999.1.1.1:80:80", "host address \"999.1.1.1\" is not an IPv4 address"},
      {"localhost:80:80", "host address \"localhost\""},
      {"1.2.3.4:5:80:80", "too many ':'"},
      {"[::1]:80:80", "IPv6"},
      {"::1:80:80", "too many ':'"},
      {"127.0.0.1:80", "is an address, not a host port; use 127.0.0.1::80"},
  };
  for (auto [spec, says] : cases) {
    auto r = parse_publish(spec);
    ASSERT_FALSE(r) << "accepted: " << spec;
    EXPECT_NE(r.error().message.find(says), std::string::npos)
        << spec << " -> " << r.error().message;
    // Every message quotes the whole input, so a user with several -p sees which one.
    EXPECT_NE(r.error().message.find(fmt::format("\"{}\"", spec)), std::string::npos)
        << spec << " -> " << r.error().message;
  }
}

TEST(NetPublish, ExposedAndFormatting) {
  auto e = parse_exposed("53/udp");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->container_port, 53);
  EXPECT_EQ(e->proto, "udp");
  EXPECT_FALSE(parse_exposed("x/tcp"));
  EXPECT_FALSE(parse_exposed("80/sctp"));
  std::vector<PortSpec> ps = {port("127.0.0.1", 18080, 80), port("", 32768, 53, "udp")};
  EXPECT_EQ(format_ports(ps), "127.0.0.1:18080->80/tcp, 0.0.0.0:32768->53/udp");
  EXPECT_EQ(format_port_lines(ps), "80/tcp -> 127.0.0.1:18080\n53/udp -> 0.0.0.0:32768\n");
}

TEST(NetIpv4, SubnetsParseAndOverlap) {
  auto s = parse_subnet("10.88.0.0/16");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->str(), "10.88.0.0/16");
  EXPECT_EQ(format_ipv4(s->broadcast()), "10.88.255.255");
  auto bad = parse_subnet("10.88.0.1/16");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("10.88.0.0/16"), std::string::npos);
  EXPECT_FALSE(parse_subnet("10.88.0.0"));
  EXPECT_FALSE(parse_subnet("10.88.0.0/33"));
  EXPECT_TRUE(s->overlaps(*parse_subnet("10.88.5.0/24")));
  EXPECT_TRUE(parse_subnet("10.0.0.0/8")->overlaps(*s));
  EXPECT_FALSE(s->overlaps(*parse_subnet("10.89.0.0/24")));
  EXPECT_FALSE(parse_ipv4("1.2.3"));
  EXPECT_FALSE(parse_ipv4("01.2.3.4x"));
}

TEST(NetIpam, SkipsReservedAndUsedAndMovesOn) {
  Subnet s = *parse_subnet("10.1.0.0/29");  // hosts .1-.6, gateway .1
  uint32_t gw = s.base + 1;
  std::set<uint32_t> used;
  auto a = ipam::allocate(s, gw, used, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(format_ipv4(*a), "10.1.0.2");
  used.insert(*a);
  // Released .2 is not handed out again while the cursor has range ahead.
  used.erase(*a);
  auto b = ipam::allocate(s, gw, used, *a + 1);
  EXPECT_EQ(format_ipv4(*b), "10.1.0.3");
  // Wraps around, never the gateway, network or broadcast address.
  used = {s.base + 2, s.base + 3, s.base + 4, s.base + 5};
  auto c = ipam::allocate(s, gw, used, s.base + 6);
  EXPECT_EQ(format_ipv4(*c), "10.1.0.6");
  used.insert(*c);
  auto full = ipam::allocate(s, gw, used, *c + 1);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ENOSPC);
}

TEST(NetIpam, NeverTwiceWhileInUse) {
  Subnet s = *parse_subnet("10.2.0.0/24");
  uint32_t gw = s.base + 1, cursor = 0;
  std::set<uint32_t> used;
  std::set<uint32_t> ever;
  // 1000 allocations with random releases: never an address that is in use.
  srand(7);
  for (int i = 0; i < 1000; ++i) {
    auto a = ipam::allocate(s, gw, used, cursor);
    ASSERT_TRUE(a) << i;
    ASSERT_FALSE(used.contains(*a));
    ASSERT_NE(*a, gw);
    ASSERT_TRUE(s.contains(*a));
    used.insert(*a);
    cursor = *a + 1;
    if (used.size() > 100) used.erase(std::next(used.begin(), rand() % used.size()));
  }
}

TEST(NetIpam, StaticAndSubnetChoice) {
  Subnet s = *parse_subnet("10.3.0.0/24");
  uint32_t gw = s.base + 1;
  EXPECT_TRUE(ipam::check_static(s, gw, {}, s.base + 9));
  EXPECT_FALSE(ipam::check_static(s, gw, {}, gw));
  EXPECT_FALSE(ipam::check_static(s, gw, {}, s.broadcast()));
  EXPECT_FALSE(ipam::check_static(s, gw, {}, *parse_ipv4("10.4.0.2")));
  EXPECT_EQ(ipam::check_static(s, gw, {s.base + 9}, s.base + 9).error().code, EADDRINUSE);

  std::vector<Subnet> cands = {*parse_subnet("10.88.0.0/16"), *parse_subnet("10.87.0.0/16")};
  auto p = ipam::pick_subnet(cands, {*parse_subnet("10.88.3.0/24")});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->str(), "10.87.0.0/16");
  EXPECT_FALSE(ipam::pick_subnet(cands, {*parse_subnet("10.0.0.0/8")}));
  EXPECT_EQ(ipam::mac_for(*parse_ipv4("10.88.0.2")), "02:42:0a:58:00:02");
}

TEST(NetHosts, RendersEntriesAndExtraHosts) {
  auto extra = parse_add_host("db:10.0.0.5");
  ASSERT_TRUE(extra);
  auto gw = parse_add_host("host.docker.internal:host-gateway", "10.88.0.1");
  ASSERT_TRUE(gw);
  EXPECT_EQ(gw->ip, "10.88.0.1");
  auto v6 = parse_add_host("six:[::1]");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->ip, "::1");
  EXPECT_FALSE(parse_add_host("nocolon"));
  EXPECT_FALSE(parse_add_host("bad name:1.2.3.4"));
  EXPECT_FALSE(parse_add_host("x:1.2.3.999"));
  EXPECT_FALSE(parse_add_host("x:host-gateway"));

  std::string text =
      render_hosts({{"10.89.0.2", {"abc123"}}, {"10.89.0.3", {"web", "www"}}}, {*extra, *gw});
  EXPECT_EQ(text.rfind("127.0.0.1\tlocalhost\n", 0), 0u);
  EXPECT_NE(text.find("\n10.89.0.2\tabc123\n10.89.0.3\tweb www\n10.0.0.5\tdb\n"
                      "10.88.0.1\thost.docker.internal\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(render_hosts_standalone().find("10."), std::string::npos);
}

TEST(NetResolv, FiltersLoopbackAndAppliesFlags) {
  std::string host =
      "# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver ::1\n"
      "search lan example.com\noptions edns0 trust-ad\nsortlist 130.155.160.0\n";
  EXPECT_EQ(render_resolv_conf(host, {}, {}),
            "nameserver 192.0.2.53\nsearch lan example.com\noptions edns0 trust-ad\n"
            "sortlist 130.155.160.0\n");
  // Only loopback servers: docker's public fallback.
  EXPECT_EQ(render_resolv_conf("nameserver 127.0.0.1\n", {}, {}),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  // --dns, --dns-search, --dns-option replace.
  EXPECT_EQ(render_resolv_conf(host, {"10.0.0.53"}, {"corp"}, {"ndots:2"}),
            "nameserver 10.0.0.53\nsearch corp\noptions ndots:2\nsortlist 130.155.160.0\n");
  // --dns-search . clears the list.
  EXPECT_EQ(render_resolv_conf("nameserver 1.1.1.1\nsearch a\n", {}, {"."}),
            "nameserver 1.1.1.1\n");
  // --dns 127.0.0.1 is the user's choice and kept.
  EXPECT_EQ(render_resolv_conf("", {"127.0.0.1"}, {}), "nameserver 127.0.0.1\n");
}

TEST(NetNft, RendersOnlyHullTable) {
  nft::Model m;
  EXPECT_EQ(nft::render(m), "add table ip hull\ndelete table ip hull\n");
  m.bridges = {{"hull0", "10.88.0.0/16"}, {"hull-abc", "10.89.0.0/24"}};
  m.ports = {{"127.0.0.1", 18080, "tcp", "10.88.0.2", 80}, {"", 5353, "udp", "10.89.0.2", 53}};
  std::string t = nft::render(m);
  EXPECT_EQ(t.rfind("add table ip hull\ndelete table ip hull\ntable ip hull {\n", 0), 0u) << t;
  EXPECT_NE(t.find("ip daddr 127.0.0.1 tcp dport 18080 dnat to 10.88.0.2:80\n"), std::string::npos);
  EXPECT_NE(t.find("    udp dport 5353 dnat to 10.89.0.2:53\n"), std::string::npos);
  EXPECT_NE(t.find("ip saddr 10.88.0.0/16 oifname != \"hull0\" masquerade"), std::string::npos);
  EXPECT_NE(t.find("oifname \"hull0\" ip saddr 127.0.0.0/8 masquerade"), std::string::npos);
  EXPECT_NE(t.find("iifname \"hull0\" oifname \"hull-abc\" drop"), std::string::npos);
  EXPECT_NE(t.find("iifname \"hull-abc\" oifname \"hull0\" drop"), std::string::npos);
  // Every table statement names hull's table only.
  size_t pos = 0;
  while ((pos = t.find("table ", pos)) != std::string::npos) {
    EXPECT_EQ(t.compare(pos, 13, "table ip hull"), 0) << t.substr(pos, 30);
    pos += 6;
  }
  EXPECT_EQ(nft::render(m), t);  // deterministic
}

// A port coming or going changes only the ports chain: it is refilled in place, the base
// chains (and their netfilter hooks) stay.
TEST(NetNft, PortsOnlyChangeRefillsThePortsChain) {
  nft::Model a;
  a.bridges = {{"hull0", "10.88.0.0/16"}};
  a.ports = {{"", 8080, "tcp", "10.88.0.2", 80}};
  nft::Model b = a;
  b.ports.push_back({"127.0.0.1", 9000, "udp", "10.88.0.3", 90});
  EXPECT_NE(nft::render(a), nft::render(b));
  EXPECT_EQ(nft::without_ports(nft::render(a)), nft::without_ports(nft::render(b)));
  EXPECT_EQ(nft::without_ports(nft::render(a)).find("dnat to"), std::string::npos);
  EXPECT_EQ(nft::render_ports(b),
            "flush chain ip hull ports\n"
            "add rule ip hull ports tcp dport 8080 dnat to 10.88.0.2:80\n"
            "add rule ip hull ports ip daddr 127.0.0.1 udp dport 9000 dnat to 10.88.0.3:90\n");
  nft::Model c = b;
  c.bridges.push_back({"hull-abc", "10.89.0.0/24"});
  EXPECT_NE(nft::without_ports(nft::render(b)), nft::without_ports(nft::render(c)));
}

}  // namespace
}  // namespace hull::net

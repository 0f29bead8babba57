// hull.json (engine/config) and the registry settings it carries (image/registries):
// parsing and its errors, CIDR ranges and insecure-registry matching, mirror URLs, the
// default registry of short names, and where the file is looked for.
#include <arpa/inet.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <map>

#include "common/fs.hpp"
#include "engine/config.hpp"
#include "image/reference.hpp"
#include "image/registries.hpp"
#include "temp_dir.hpp"

namespace hull {
namespace {

using engine::load_config;
using engine::parse_config;
using image::InsecureRegistries;

std::string error_of(std::string_view text) {
  auto c = parse_config(text, "/etc/hull/hull.json");
  EXPECT_FALSE(c) << "accepted: " << text;
  return c ? std::string() : c.error().message;
}

// Sets the process's registry configuration for one test, and the defaults back after.
struct ScopedRegistryConfig {
  explicit ScopedRegistryConfig(image::RegistryConfig c) {
    image::set_registry_config(std::move(c));
  }
  ~ScopedRegistryConfig() { image::set_registry_config({}); }
};

TEST(EngineConfig, EveryKey) {
  auto c = parse_config(R"({
    "default-registry": "reg.example:5000",
    "insecure-registries": ["myreg:5000", "10.0.0.0/8", "http://plain.example", "[fd00::1]:5000"],
    "registry-mirrors": ["https://mirror.example/", "http://127.0.0.1:5000", "HTTPS://MIRROR.example"],
    "data-root": "/srv/hull"
  })",
                        "f.json");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->found);
  EXPECT_EQ(c->path, "f.json");
  EXPECT_EQ(c->data_root, "/srv/hull");
  EXPECT_EQ(c->registries.default_registry, "reg.example:5000");
  EXPECT_EQ(
      c->registries.insecure.entries(),
      (std::vector<std::string>{"myreg:5000", "plain.example", "[fd00::1]:5000", "10.0.0.0/8"}));
  EXPECT_EQ(c->registries.mirrors,
            (std::vector<std::string>{"https://mirror.example", "http://127.0.0.1:5000",
                                      "https://MIRROR.example"}));
}

TEST(EngineConfig, EmptyObjectAndNullsAreTheDefaults) {
  for (auto text : {"{}", " {\n}\n",
                    R"({"default-registry": null, "insecure-registries": null,
                        "registry-mirrors": null, "data-root": null})"}) {
    auto c = parse_config(text, "f");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->registries.default_registry, "docker.io");
    EXPECT_TRUE(c->registries.insecure.empty());
    EXPECT_TRUE(c->registries.mirrors.empty());
    EXPECT_FALSE(c->data_root);
  }
  // docker.io's other names are docker.io.
  auto c = parse_config(R"({"default-registry": "index.docker.io"})", "f");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->registries.default_registry, "docker.io");
}

TEST(EngineConfig, MalformedJsonNamesTheFileAndThePosition) {
  auto e = error_of("{\n  \"default-registry\": \"x\",\n  oops\n}");
  EXPECT_NE(e.find("/etc/hull/hull.json"), std::string::npos) << e;
  EXPECT_NE(e.find("at byte 32"), std::string::npos) << e;
  EXPECT_NE(e.find("line 3, column 3"), std::string::npos) << e;
  for (auto text : {"", "{", "[1,", "{\"a\":}", "\xff"})
    EXPECT_NE(error_of(text).find("/etc/hull/hull.json: malformed JSON"), std::string::npos)
        << text;
  EXPECT_NE(error_of(std::string(100000, '[')).find("nested deeper"), std::string::npos);
}

TEST(EngineConfig, NotAnObject) {
  EXPECT_EQ(error_of("[]"),
            "/etc/hull/hull.json: the configuration must be a JSON object, not an array");
  EXPECT_EQ(error_of("\"x\""),
            "/etc/hull/hull.json: the configuration must be a JSON object, not a string");
}

TEST(EngineConfig, UnknownKeyIsNamed) {
  auto e = error_of(R"({"insecure-registries": [], "log-driver": "json-file"})");
  EXPECT_NE(e.find("/etc/hull/hull.json: unknown key \"log-driver\""), std::string::npos) << e;
  EXPECT_NE(e.find("\"insecure-registries\""), std::string::npos) << e;  // the known ones
  // A near miss is not taken for the key it resembles.
  EXPECT_NE(error_of(R"({"insecure-registry": ["a"]})").find("unknown key \"insecure-registry\""),
            std::string::npos);
  // A hostile key is quoted with its control characters escaped.
  e = error_of("{\"a\\u001b[31m\": 1}");
  EXPECT_EQ(e.find('\x1b'), std::string::npos) << e;
}

TEST(EngineConfig, WrongTypeNamesKeyAndExpectedType) {
  EXPECT_EQ(error_of(R"({"insecure-registries": "myreg:5000"})"),
            "/etc/hull/hull.json: \"insecure-registries\" must be an array of strings, not a "
            "string");
  EXPECT_EQ(error_of(R"({"registry-mirrors": {"a": 1}})"),
            "/etc/hull/hull.json: \"registry-mirrors\" must be an array of strings, not an "
            "object");
  EXPECT_EQ(error_of(R"({"insecure-registries": ["a", 5]})"),
            "/etc/hull/hull.json: \"insecure-registries\"[1] must be a string, not a number");
  EXPECT_EQ(error_of(R"({"default-registry": ["a"]})"),
            "/etc/hull/hull.json: \"default-registry\" must be a string, not an array");
  EXPECT_EQ(error_of(R"({"data-root": true})"),
            "/etc/hull/hull.json: \"data-root\" must be a string, not a boolean");
}

TEST(EngineConfig, BadValuesAreNamed) {
  auto has = [](std::string_view text, std::string_view want) {
    auto e = error_of(text);
    EXPECT_NE(e.find(want), std::string::npos) << text << " -> " << e;
  };
  has(R"({"insecure-registries": ["10.0.0.0/33"]})",
      "\"insecure-registries\"[0]: insecure registry \"10.0.0.0/33\" is neither host[:port] nor "
      "a CIDR range");
  has(R"({"insecure-registries": ["10.0.0.0/33"]})", "prefix \"33\" is not 0-32");
  has(R"({"insecure-registries": ["fd00::/129"]})", "is not 0-128");
  has(R"({"insecure-registries": ["10.0.0/8"]})", "\"10.0.0\" is not an IPv4 or IPv6 address");
  has(R"({"insecure-registries": ["10.0.0.0/8x"]})", "prefix \"8x\" is not 0-32");
  has(R"({"insecure-registries": ["10.0.0.0/"]})", "prefix \"\" is not 0-32");
  has(R"({"insecure-registries": ["ok:5000", "bad host"]})",
      "\"insecure-registries\"[1]: insecure registry \"bad host\" is not host[:port]");
  has(R"({"insecure-registries": ["reg:99999"]})", "port \"99999\" is not 1-65535");
  has(R"({"insecure-registries": [""]})", "insecure registry \"\" is empty");
  has(R"({"insecure-registries": ["docker.io"]})", "docker.io is always verified");
  has(R"({"registry-mirrors": ["mirror.example"]})",
      "\"registry-mirrors\"[0]: registry mirror \"mirror.example\" is not an http:// or https:// "
      "URL");
  has(R"({"registry-mirrors": ["ftp://m"]})", "is not an http:// or https:// URL");
  has(R"({"registry-mirrors": ["https://m/v2/x"]})", "a path is not supported");
  has(R"({"registry-mirrors": ["https://u:p@m"]})", "credentials are not allowed");
  has(R"({"registry-mirrors": ["https://m?x=1"]})", "a query or fragment is not allowed");
  has(R"({"registry-mirrors": ["https://"]})", "bad host \"\"");
  has(R"({"registry-mirrors": ["https://m_x"]})", "bad host \"m_x\"");
  has(R"({"default-registry": "https://reg.example"})",
      "\"default-registry\" \"https://reg.example\" is not host[:port] (no scheme, no path)");
  has(R"({"default-registry": "reg.example/ns"})", "is not host[:port]");
  has(R"({"default-registry": ""})", "\"default-registry\" \"\" is not host[:port]: empty host");
  has(R"({"default-registry": "reg:0"})", "port \"0\" is not 1-65535");
  has(R"({"data-root": "var/lib/hull"})",
      "\"data-root\" must be an absolute path, not \"var/lib/hull\"");
}

TEST(Cidr, ParsesAndClearsTheHostBits) {
  auto c = image::parse_cidr("10.1.2.3/8");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->str(), "10.0.0.0/8");
  EXPECT_EQ(image::parse_cidr("192.168.77.200/20")->str(), "192.168.64.0/20");
  EXPECT_EQ(image::parse_cidr("fd00:1:2::9/40")->str(), "fd00:1::/40");
  EXPECT_EQ(image::parse_cidr("0.0.0.0/0")->str(), "0.0.0.0/0");
  EXPECT_EQ(image::parse_cidr("1.2.3.4/32")->str(), "1.2.3.4/32");
  for (auto bad : {"10.0.0.0", "10.0.0.0/-1", "10.0.0.0/+8", "/8", "[::1]/128", "::1/ 8",
                   "1.2.3.4.5/8", "10.0.0.0/8/8"})
    EXPECT_FALSE(image::parse_cidr(bad)) << bad;
}

TEST(Cidr, Contains) {
  auto v4 = [](const char* s) {
    std::array<uint8_t, 4> a{};
    EXPECT_EQ(::inet_pton(AF_INET, s, a.data()), 1) << s;
    return a;
  };
  auto v6 = [](const char* s) {
    std::array<uint8_t, 16> a{};
    EXPECT_EQ(::inet_pton(AF_INET6, s, a.data()), 1) << s;
    return a;
  };
  auto c = *image::parse_cidr("192.168.64.0/20");
  EXPECT_TRUE(c.contains(AF_INET, v4("192.168.64.0").data()));
  EXPECT_TRUE(c.contains(AF_INET, v4("192.168.79.255").data()));
  EXPECT_FALSE(c.contains(AF_INET, v4("192.168.80.0").data()));
  EXPECT_FALSE(c.contains(AF_INET, v4("192.168.63.255").data()));
  EXPECT_TRUE(c.contains(AF_INET6, v6("::ffff:192.168.70.1").data()));  // IPv4-mapped
  EXPECT_FALSE(c.contains(AF_INET6, v6("::192.168.70.1").data()));
  auto all = *image::parse_cidr("0.0.0.0/0");
  EXPECT_TRUE(all.contains(AF_INET, v4("255.255.255.255").data()));
  auto six = *image::parse_cidr("fd00::/8");
  EXPECT_TRUE(six.contains(AF_INET6, v6("fdff::1").data()));
  EXPECT_FALSE(six.contains(AF_INET6, v6("fe00::1").data()));
  EXPECT_FALSE(six.contains(AF_INET, v4("10.0.0.1").data()));
}

TEST(InsecureRegistries, NamesMatchAsWrittenRangesByAddress) {
  InsecureRegistries r;
  ASSERT_TRUE(r.add("myreg:5000"));
  ASSERT_TRUE(r.add("https://other.example/"));  // the scheme is dropped, as docker does
  ASSERT_TRUE(r.add("10.0.0.0/8"));
  ASSERT_TRUE(r.add("fd00::/8"));
  EXPECT_TRUE(r.matches("myreg:5000"));
  EXPECT_FALSE(r.matches("myreg"));  // the port is part of the name, as in docker
  EXPECT_FALSE(r.matches("myreg:5001"));
  EXPECT_TRUE(r.matches("other.example"));
  EXPECT_TRUE(r.matches("10.1.2.3"));
  EXPECT_TRUE(r.matches("10.255.0.1:5000"));
  EXPECT_FALSE(r.matches("11.0.0.1:5000"));
  EXPECT_TRUE(r.matches("[fd12::1]:5000"));
  EXPECT_FALSE(r.matches("[fe80::1]:5000"));
  EXPECT_FALSE(r.matches("docker.io"));
  // A host name is looked up: localhost is 127.0.0.1 (and ::1) in /etc/hosts.
  InsecureRegistries lo;
  ASSERT_TRUE(lo.add("127.0.0.0/8"));
  ASSERT_TRUE(lo.add("::1/128"));
  EXPECT_TRUE(lo.matches("localhost:5000"));
  EXPECT_TRUE(lo.matches("127.0.0.1:5000"));
  EXPECT_FALSE(lo.matches("10.0.0.1:5000"));
  // A name that does not resolve is not insecure (".invalid" never resolves, RFC 6761).
  EXPECT_FALSE(lo.matches("nowhere.invalid:5000"));
  EXPECT_TRUE(InsecureRegistries().empty());
}

TEST(Mirror, Normalised) {
  EXPECT_EQ(image::parse_mirror("https://mirror.gcr.io/"), "https://mirror.gcr.io");
  EXPECT_EQ(image::parse_mirror("Http://127.0.0.1:5000"), "http://127.0.0.1:5000");
  EXPECT_EQ(image::parse_mirror("https://[::1]:5000/"), "https://[::1]:5000");
}

TEST(DefaultRegistry, ShortNamesGoToTheConfiguredRegistry) {
  image::RegistryConfig rc;
  rc.default_registry = "127.0.0.1:5000";
  ScopedRegistryConfig scoped(std::move(rc));
  auto r = image::parse_reference("busybox");
  ASSERT_TRUE(r);
  // library/ is docker.io's rule only.
  EXPECT_EQ(r->str(), "127.0.0.1:5000/busybox:latest");
  EXPECT_EQ(r->familiar_name(), "127.0.0.1:5000/busybox");
  EXPECT_EQ(image::parse_reference("library/busybox:1")->str(), "127.0.0.1:5000/library/busybox:1");
  // A name with a registry keeps it; docker.io's rules stay docker.io's.
  EXPECT_EQ(image::parse_reference("docker.io/busybox")->str(), "docker.io/library/busybox:latest");
  EXPECT_EQ(image::parse_reference("localhost/x")->str(), "localhost/x:latest");
  // An explicit default (a docker archive's RepoTags) is docker.io's.
  EXPECT_EQ(image::parse_reference("busybox", "docker.io")->str(),
            "docker.io/library/busybox:latest");
}

TEST(DefaultRegistry, DockerIoByDefault) {
  EXPECT_EQ(image::registry_config().default_registry, "docker.io");
  EXPECT_EQ(image::parse_reference("busybox")->str(), "docker.io/library/busybox:latest");
}

TEST(EngineConfigFile, DefaultPaths) {
  auto env = [](std::map<std::string, std::string> vars) {
    return [vars](const char* n) -> std::optional<std::string> {
      auto it = vars.find(n);
      return it == vars.end() ? std::nullopt : std::optional(it->second);
    };
  };
  EXPECT_EQ(engine::default_config_path(false, env({{"XDG_CONFIG_HOME", "/x"}})),
            "/etc/hull/hull.json");
  EXPECT_EQ(engine::default_config_path(true, env({{"XDG_CONFIG_HOME", "/x"}, {"HOME", "/h"}})),
            "/x/hull/hull.json");
  // A relative XDG_CONFIG_HOME is invalid (the XDG spec).
  EXPECT_EQ(engine::default_config_path(true, env({{"XDG_CONFIG_HOME", "x"}, {"HOME", "/h"}})),
            "/h/.config/hull/hull.json");
  EXPECT_EQ(engine::default_config_path(true, env({})), "");
}

TEST(EngineConfigFile, MissingDefaultIsFineMissingExplicitIsNot) {
  test::TempDir d;
  std::string missing = d.path + "/none/hull.json";
  auto c = load_config(missing, false);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->found);
  EXPECT_EQ(c->path, missing);
  EXPECT_EQ(c->registries.default_registry, "docker.io");
  auto e = load_config(missing, true);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "configuration file " + missing + ": no such file or directory");
  // A file in the place of a directory: ENOTDIR, as missing.
  ASSERT_TRUE(fs::write_file(d.path + "/file", "{}"));
  EXPECT_TRUE(load_config(d.path + "/file/hull.json", false));
}

TEST(EngineConfigFile, ReadsARegularFileOnly) {
  test::TempDir d;
  std::string f = d.path + "/hull.json";
  ASSERT_TRUE(fs::write_file(f, R"({"default-registry": "r.example"})"));
  auto c = load_config(f, true);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->found);
  EXPECT_EQ(c->registries.default_registry, "r.example");
  // A directory, a FIFO (no hang), a device: refused by name.
  for (std::string p : {d.path, d.path + "/fifo", std::string("/dev/zero")}) {
    if (p.ends_with("fifo")) {
      ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
    }
    auto e = load_config(p, false);
    ASSERT_FALSE(e) << p;
    EXPECT_NE(e.error().message.find(p), std::string::npos) << e.error().message;
  }
  // Over 1 MiB: refused without parsing it.
  ASSERT_TRUE(fs::write_file(f, "{" + std::string(2 << 20, ' ') + "}"));
  auto big = load_config(f, true);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("over the 1048576 byte limit"), std::string::npos);
}

}  // namespace
}  // namespace hull

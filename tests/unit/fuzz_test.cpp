// Seeded mutation fuzzing of the parsers that read hostile or user-typed input: OCI
// config.json (and exec --process, update --resources), image references, image configs,
// WWW-Authenticate, docker's config.json auths, the --format template subset, filter and
// flag values, layer tarballs (nothing may be written outside the target) and
// docker-/oci-archives (a failed load must leave the store's other images alone).
//
// Deterministic: a fixed seed and a fixed number of inputs per parser, a few seconds in
// all (more under ASan). For a longer run, under a sanitizer build:
//   HULL_FUZZ_SECONDS=60 HULL_FUZZ_SEED=7 hull_unit_tests --gtest_filter='Fuzz.*'
// gives each parser 60 s with another seed. HULL_FUZZ_SAVE=FILE writes each input to FILE
// before it is tried, so the one that crashed is there afterwards. A failing check prints
// the input (escaped) and the seed.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>

#include "cgroups/manager.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/sha256.hpp"
#include "common/strings.hpp"
#include "engine/filters.hpp"
#include "engine/logs.hpp"
#include "engine/present.hpp"
#include "engine/spec_builder.hpp"
#include "engine/template.hpp"
#include "image/auth.hpp"
#include "image/import.hpp"
#include "image/pull.hpp"
#include "image/reference.hpp"
#include "image/registry.hpp"
#include "image/store.hpp"
#include "image/unpack.hpp"
#include "net/ipv4.hpp"
#include "net/network.hpp"
#include "oci/spec.hpp"
#include "tar_builder.hpp"
#include "temp_dir.hpp"

namespace hull {
namespace {

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}

// Bytes worth trying in a parser: JSON and template punctuation, path separators, the
// ends of the signed and unsigned ranges.
const std::vector<std::string> kTokens = {
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "/",
    ".",
    "..",
    "../",
    "%",
    "-",
    "=",
    "@",
    "*",
    "?",
    "|",
    "$",
    "{{",
    "}}",
    "{{end}}",
    "{{else}}",
    " ",
    "\t",
    "\n",
    std::string(1, '\0'),
    "\xff",
    "\xc3\xa9",
    "0",
    "-1",
    "1e999",
    "-0",
    "0.5",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "4294967296",
    "65536",
    "null",
    "true",
    "[]",
    "{}",
    "\"\"",
    "sha256:",
    "sha256:0000000000000000000000000000000000000000000000000000000000000000"};

// xorshift64*: the same inputs for the same seed on every machine.
class Mutator {
 public:
  explicit Mutator(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull | 1) {}

  uint64_t next() {
    s_ ^= s_ >> 12, s_ ^= s_ << 25, s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1Dull;
  }
  size_t below(size_t n) { return n == 0 ? 0 : size_t(next() % n); }

  // One to four edits of a corpus entry, sometimes spliced with another.
  std::string mutate(const std::vector<std::string>& corpus,
                     const std::vector<std::string>& dict = {}) {
    std::string s = corpus[below(corpus.size())];
    for (int n = 1 + int(below(4)); n > 0; --n) edit(s, corpus, dict);
    return s;
  }

 private:
  const std::string& token(const std::vector<std::string>& dict) {
    if (!dict.empty() && below(2) == 0) return dict[below(dict.size())];
    return kTokens[below(kTokens.size())];
  }

  void edit(std::string& s, const std::vector<std::string>& corpus,
            const std::vector<std::string>& dict) {
    size_t at = below(s.size() + 1);
    switch (below(9)) {
      case 0:  // flip a bit
        if (!s.empty()) s[below(s.size())] ^= char(1 << below(8));
        break;
      case 1:  // a random byte
        if (!s.empty()) s[below(s.size())] = char(next());
        break;
      case 2:  // insert a token
      case 3:
        s.insert(at, token(dict));
        break;
      case 4: {  // replace a run with a token
        size_t len = std::min(s.size() - at, below(8) + 1);
        s.replace(at, len, token(dict));
        break;
      }
      case 5:  // delete a run
        s.erase(at, std::min(s.size() - at, below(16) + 1));
        break;
      case 6: {  // duplicate a run
        size_t len = std::min(s.size() - at, below(64) + 1);
        s.insert(at, s.substr(at, len));
        break;
      }
      case 7:  // truncate
        s.resize(at);
        break;
      default: {  // splice: this one's head, another's tail
        const std::string& o = corpus[below(corpus.size())];
        s = s.substr(0, at) + o.substr(std::min(o.size(), below(o.size() + 1)));
      }
    }
    if (s.size() > (1u << 16)) s.resize(1u << 16);
  }

  uint64_t s_;
};

std::string escaped(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\\' || c == '"')
      out += fmt::format("\\{}", char(c));
    else if (c >= 0x20 && c < 0x7f)
      out += char(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

// Runs check on corpus entries, then on mutations of them: HULL_FUZZ_SECONDS each, else
// `iterations`. check returns an empty string when the input was handled as it should be,
// else what went wrong. An exception out of a parser is a failure too.
void fuzz(std::string_view what, const std::vector<std::string>& corpus,
          const std::function<std::string(const std::string&)>& check, uint64_t iterations,
          const std::vector<std::string>& dict = {}) {
  uint64_t seed = env_u64("HULL_FUZZ_SEED", 1);
  uint64_t seconds = env_u64("HULL_FUZZ_SECONDS", 0);
  const char* save = std::getenv("HULL_FUZZ_SAVE");
  Mutator m(seed ^ std::hash<std::string_view>{}(what));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int failures = 0;
  uint64_t n = 0;
  for (;; ++n) {
    if (seconds ? std::chrono::steady_clock::now() >= deadline : n >= iterations + corpus.size())
      break;
    std::string input = n < corpus.size() ? corpus[n] : m.mutate(corpus, dict);
    if (save) (void)fs::write_file(save, input, 0600);
    std::string problem;
    try {
      problem = check(input);
    } catch (const std::exception& e) {
      problem = fmt::format("threw {}", e.what());
    }
    if (!problem.empty()) {
      ADD_FAILURE() << what << " (seed " << seed << ", input " << n << "): " << problem
                    << "\n  input: \"" << escaped(input) << "\"";
      if (++failures >= 5) break;
    }
  }
  if (seconds)
    std::printf("%.*s: %llu inputs\n", int(what.size()), what.data(),
                static_cast<unsigned long long>(n));
}

// ---- OCI config.json ----------------------------------------------------------------

const char* const kRichSpec = R"({
  "ociVersion": "1.2.0",
  "process": {"terminal": false, "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 6]},
    "args": ["/bin/sh", "-c", "true"], "env": ["PATH=/bin", "A=b"], "cwd": "/tmp",
    "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"],
      "permitted": ["CAP_KILL"], "inheritable": [], "ambient": ["CAP_KILL"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true, "oomScoreAdj": 100, "apparmorProfile": "",
    "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4}},
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "h", "domainname": "d",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/data", "type": "bind", "source": "/tmp",
     "options": ["rbind", "ro", "rprivate", "nosymfollow", "rro", "tmpcopyup"]}],
  "hooks": {"prestart": [{"path": "/bin/true", "args": ["true"], "env": ["A=1"], "timeout": 5}],
    "createRuntime": [{"path": "/bin/true"}], "poststop": [{"path": "/bin/true"}]},
  "annotations": {"a": "b"},
  "linux": {
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "sysctl": {"net.ipv4.ip_forward": "1"},
    "resources": {
      "devices": [{"allow": false, "access": "rwm"},
                  {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
      "memory": {"limit": 67108864, "reservation": 1048576, "swap": 134217728,
                 "swappiness": 10, "disableOOMKiller": false},
      "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0",
              "idle": 0},
      "pids": {"limit": 100},
      "blockIO": {"weight": 500, "leafWeight": 300,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 100}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
      "unified": {"memory.high": "max"}},
    "cgroupsPath": "/hull/fuzz",
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}],
    "timeOffsets": {"monotonic": {"secs": 1, "nanosecs": 2}},
    "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                 "fileMode": 438, "uid": 0, "gid": 0}],
    "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64"], "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}]},
    "rootfsPropagation": "rslave",
    "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
    "mountLabel": "", "personality": {"domain": "LINUX"}}
})";

const std::vector<std::string> kSpecWords = {"\"type\"",
                                             "\"limit\"",
                                             "\"swap\"",
                                             "\"shares\"",
                                             "\"quota\"",
                                             "\"period\"",
                                             "\"weight\"",
                                             "\"destination\"",
                                             "\"options\"",
                                             "\"size\"",
                                             "\"hostID\"",
                                             "\"containerID\"",
                                             "\"index\"",
                                             "\"rbind\"",
                                             "\"bind\"",
                                             "\"rro\"",
                                             "\"idmap\"",
                                             "\"ridmap\"",
                                             "\"mode=\"",
                                             "\"size=\"",
                                             "\"CAP_SYS_ADMIN\"",
                                             "\"RLIMIT_CORE\"",
                                             "\"SCMP_ACT_NOTIFY\"",
                                             "\"SCMP_CMP_MASKED_EQ\"",
                                             "\"SCMP_ARCH_AARCH64\"",
                                             "\"/\"",
                                             "\"/..\"",
                                             "\"//\"",
                                             "\"realtimeRuntime\"",
                                             "\"rate\"",
                                             "\"path\"",
                                             "\"major\"",
                                             "\"minor\"",
                                             "\"fileMode\"",
                                             "\"boottime\""};

// A spec that parses must print (to_json) as a document that parses to the same spec, and
// its cgroup arithmetic must be defined.
std::string check_spec(const std::string& text) {
  auto spec = oci::parse_spec(text);
  if (!spec) return spec.error().message.empty() ? "an error without a message" : "";
  Json j = oci::to_json(*spec);
  auto again = oci::parse_spec(j.dump());
  if (!again) return "to_json's output does not parse: " + again.error().message;
  // A config without ociVersion is printed with hull's own.
  if (spec->oci_version.empty()) again->oci_version.clear();
  if (!(*again == *spec)) {
    std::string j2 = oci::to_json(*again).dump();
    if (j2 == j.dump()) return "a field to_json does not print: " + j.dump();
    return "to_json does not round-trip: " + j.dump() + "\n  then: " + j2;
  }
  if (auto& r = spec->linux.resources) {
    if (r->memory) (void)cgroups::swap_to_v2(r->memory->swap, r->memory->limit);
    if (r->cpu && r->cpu->shares) (void)cgroups::shares_to_weight(*r->cpu->shares);
    if (r->block_io && r->block_io->weight)
      (void)cgroups::blkio_weight_to_io_weight(*r->block_io->weight);
  }
  if (spec->process) {
    auto p = oci::parse_process(oci::to_json(*spec->process).dump(), "process");
    if (!p) return "process does not round-trip: " + p.error().message;
  }
  return "";
}

TEST(Fuzz, OciConfig) {
  std::vector<std::string> corpus = {kRichSpec, oci::to_json(oci::default_spec(false)).dump(1),
                                     oci::to_json(oci::default_spec(true)).dump(1)};
  ASSERT_TRUE(oci::parse_spec(kRichSpec)) << oci::parse_spec(kRichSpec).error().message;
  fuzz("config.json", corpus, check_spec, 3000, kSpecWords);
}

TEST(Fuzz, OciProcessAndResources) {
  Json rich = Json::parse(kRichSpec);
  std::vector<std::string> processes = {rich["process"].dump()};
  std::vector<std::string> resources = {rich["linux"]["resources"].dump()};
  fuzz(
      "exec --process", processes,
      [](const std::string& s) {
        auto p = oci::parse_process(s, "process.json");
        if (p && !oci::parse_process(oci::to_json(*p).dump(), "again"))
          return std::string("to_json does not round-trip");
        return std::string();
      },
      1500, kSpecWords);
  fuzz(
      "update --resources", resources,
      [](const std::string& s) {
        auto r = oci::parse_resources(s, "resources.json");
        if (!r) return std::string();
        if (r->memory) (void)cgroups::swap_to_v2(r->memory->swap, r->memory->limit);
        if (!oci::parse_resources(oci::to_json(*r).dump(), "again"))
          return std::string("to_json does not round-trip");
        return std::string();
      },
      1500, kSpecWords);
}

// ---- images ----------------------------------------------------------------------------

TEST(Fuzz, ImageReferences) {
  std::vector<std::string> corpus = {
      "busybox",
      "busybox:1.36",
      "library/busybox:latest",
      "docker.io/library/busybox",
      "127.0.0.1:5000/ns/img:tag",
      "localhost/a/b/c",
      "[::1]:5000/x:y",
      "registry.example.com/a__b/c-d.e:v1.2-3",
      "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "host:5000/img:tag@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
  fuzz(
      "reference", corpus,
      [](const std::string& s) -> std::string {
        (void)image::is_loopback_registry(s);
        (void)image::registry_problem(s);
        auto r = image::parse_reference(s);
        if (!r) return "";
        // What parse_reference accepts it prints in a form it accepts again, the same.
        auto again = image::parse_reference(r->str());
        if (!again) return fmt::format("str() {:?} does not parse again", r->str());
        if (again->str() != r->str()) return fmt::format("str() {:?} changed", r->str());
        if (!image::registry_problem(r->registry).empty())
          return fmt::format("registry {:?} accepted", r->registry);
        (void)r->familiar_name();
        (void)image::is_loopback_registry(r->registry);
        return "";
      },
      20000);
  fuzz(
      "platform", {"linux/amd64", "linux/arm64/v8", "linux/arm/v7", "windows/amd64"},
      [](const std::string& s) {
        (void)image::parse_platform(s);
        return std::string();
      },
      3000);
}

TEST(Fuzz, ImageConfig) {
  std::vector<std::string> corpus = {
      R"({"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05.123456789Z",
          "config":{"Entrypoint":["/bin/sh"],"Cmd":["-c","echo"],"Env":["PATH=/bin","A=b"],
          "WorkingDir":"/w","User":"1000:1000","StopSignal":"SIGTERM",
          "Labels":{"a":"b"},"ExposedPorts":{"80/tcp":{},"53/udp":{}},
          "Volumes":{"/data":{}}},
          "rootfs":{"type":"layers","diff_ids":["sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]},
          "history":[{"created_by":"x"}]})",
      R"({"architecture":"arm64","variant":"v8","os":"linux","config":{}})"};
  fuzz(
      "image config", corpus,
      [](const std::string& s) {
        auto j = parse_json(s, "config");
        if (j) {
          (void)image::parse_image_config(*j);
          for (auto& [k, v] : json_object(json_object(*j, "config"), "ExposedPorts").items()) {
            (void)v;
            (void)net::parse_exposed(k);
          }
        }
        return std::string();
      },
      5000);
}

TEST(Fuzz, WwwAuthenticate) {
  std::vector<std::string> corpus = {
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull")",
      R"(Basic realm="Registry Realm")", R"(bearer Realm="x\"y" , Service=a,scope="")", "Bearer",
      ""};
  fuzz(
      "WWW-Authenticate", corpus,
      [](const std::string& s) {
        auto [scheme, params] = image::parse_challenge(s);
        for (char c : scheme)
          if (c >= 'A' && c <= 'Z') return std::string("scheme not lower case");
        return std::string();
      },
      20000);
}

TEST(Fuzz, DockerConfigAuths) {
  test::TempDir t("hull-fuzz");
  std::string file = t.path + "/config.json";
  std::vector<std::string> corpus = {
      R"({"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},
          "127.0.0.1:5000":{"username":"u","password":"p"},
          "http://h:1":{"auth":"YTpiOmM="}},"credsStore":"x"})",
      R"({"auths":{"docker.io":{"auth":"dXNlcjpwYXNz\n"}}})"};
  fuzz(
      "docker config.json", corpus,
      [&](const std::string& s) -> std::string {
        if (!fs::write_file(file, s, 0600)) return "cannot write the file";
        for (const char* reg : {"docker.io", "127.0.0.1:5000", "h:1"}) {
          auto c = image::find_credentials(reg, file);
          (void)c;
        }
        auto d = image::base64_decode(s);
        if (d && image::base64_decode(image::base64_encode(*d)) != *d)
          return "base64 does not round-trip";
        return "";
      },
      3000);
}

// ---- engine: templates, filters, flag values ---------------------------------------------

TEST(Fuzz, FormatTemplates) {
  Json dot = {{"ID", "0123456789ab"},
              {"Names", "web"},
              {"Image", "busybox"},
              {"Labels", {{"app", "x"}, {"tier", "db"}}},
              {"Ports", Json::array({"80/tcp", "53/udp"})},
              {"State", {{"Running", true}, {"Pid", 42}, {"ExitCode", 0}}},
              {"Mounts", Json::array({{{"Source", "/a"}, {"Destination", "/b"}}})},
              {"Size", nullptr}};
  std::vector<std::string> corpus = {
      "{{.ID}}\t{{.Names}}",
      "table {{.ID}}\t{{.Image}}",
      "{{json .}}",
      "{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}",
      "{{range .Mounts}}{{.Source}}:{{.Destination}}{{else}}none{{end}}",
      "{{if .State.Running}}up {{.State.Pid}}{{else}}down{{end}}",
      "{{index .Labels \"app\"}} {{len .Ports}} {{join .Ports \",\"}}",
      "{{printf \"%-10s|%5d|%q\" .Names .State.Pid .Image}}",
      "{{.Names | upper | lower}} {{title \"a b\"}} {{split .Image \"b\"}}",
      "{{- .ID -}} {{/* c */}} {{eq .Names \"web\" \"x\"}} {{not .Size}} {{println 1 2}}",
      "{{$.ID}} {{range $i, $p := .Ports}}{{$i}}{{$p}}{{end}}"};
  fuzz("--format", corpus,
       [&](const std::string& s) {
         (void)engine::format_template(dot, s);
         (void)engine::format_rows(s, "{{.ID}}\t{{.Names}}", {dot, dot},
                                   Json{{"ID", "ID"}, {"Names", "NAMES"}});
         return std::string();
       },
       8000, {"{{range .}}", "{{range $x := .Labels}}",
              "{{if .",      "{{end}}",
              "{{else}}",    "{{- ",
              " -}}",        "printf",
              "\"%",         "%-",
              "%9999d",      "index",
              "join",        "| json",
              "$x",          "$",
              ".State",      "{{/*",
              "*/}}",        "`"});
}

TEST(Fuzz, FiltersAndFlagValues) {
  struct Parser {
    const char* name;
    std::vector<std::string> corpus;
    std::function<void(const std::string&)> parse;
  };
  int64_t now = int64_t(1700000000) * 1000000000;
  std::vector<Parser> parsers = {
      {"filter",
       {"label=a=b", "status=running", "name=web", "reference=busybox:*", "until=24h"},
       [](const std::string& s) {
         if (auto f = engine::split_filter(s))
           (void)engine::label_matches(f->second, {{"a", "b"}, {"", ""}});
       }},
      {"size",
       {"64m", "1.5g", "512", "10kb", "0", "1t", " 3 MiB"},
       [](const std::string& s) { (void)engine::parse_size(s, "--memory"); }},
      {"ulimit",
       {"nofile=1024:2048", "core=-1", "nproc=10", "stack=unlimited"},
       [](const std::string& s) { (void)engine::parse_ulimit(s); }},
      {"since",
       {"2013-01-02T13:23:37Z", "2013-01-02T13:23:37.123+02:00", "2013-01-02", "10m", "1h30m",
        "1700000000", "1700000000.5", "42s"},
       [now](const std::string& s) { (void)engine::parse_since(s, now); }},
      {"publish",
       {"8080:80", "127.0.0.1:8080:80/udp", "8000-8002:80-82", "8000-8010:80", "ip::80", ":80",
        "80", "[::1]:80:80"},
       [](const std::string& s) {
         if (auto p = net::parse_publish(s)) (void)net::format_ports(*p);
       }},
      {"exposed",
       {"80/tcp", "53/udp", "8080", "132/sctp"},
       [](const std::string& s) { (void)net::parse_exposed(s); }},
      {"subnet",
       {"10.88.0.0/16", "192.168.1.0/24", "0.0.0.0/0", "1.2.3.4/32"},
       [](const std::string& s) {
         if (auto n = net::parse_subnet(s)) (void)net::format_ipv4(n->broadcast());
       }},
      {"add-host",
       {"db:10.0.0.2", "db=10.0.0.2", "gw:host-gateway", "a.b:127.0.0.1"},
       [](const std::string& s) { (void)net::parse_add_host(s, "10.88.0.1"); }},
      {"mount options",
       {"rbind,ro,nosuid", "mode=0755,size=64k", "rro,ridmap,nosymfollow"},
       [](const std::string& s) {
         std::vector<std::string> opts;
         for (auto o : split(s, ',')) opts.emplace_back(o);
         (void)oci::parse_mount_options(opts, "bind");
       }},
  };
  for (auto& p : parsers)
    fuzz(
        p.name, p.corpus,
        [&](const std::string& s) {
          p.parse(s);
          return std::string();
        },
        3000);
}

// ---- layer tarballs --------------------------------------------------------------------

using test::make_tar;
using test::TarEntry;

// Every path under dir (relative), without following symlinks.
std::set<std::string> tree(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    out.insert(it->path().lexically_relative(dir).string());
  return out;
}

TEST(Fuzz, LayerUnpack) {
  test::TempDir t("hull-fuzz");
  // The target is t/box/out; t/box also holds a decoy, and /tmp/hull-fuzz-escape-<pid> is
  // named by absolute entries: after every unpack, box must hold only out and the decoy.
  std::string box = t.path + "/box", out = box + "/out", decoy = box + "/decoy";
  std::string abs = fmt::format("/tmp/hull-fuzz-escape-{}", ::getpid());
  ASSERT_EQ(::mkdir(box.c_str(), 0755), 0);
  ASSERT_TRUE(fs::write_file(decoy, "decoy", 0644));
  std::vector<TarEntry> layer = {{"etc/", AE_IFDIR, ""},
                                 {"etc/passwd", AE_IFREG, "root:x:0:0::/root:/bin/sh\n"},
                                 {"etc/link", AE_IFLNK, "passwd"},
                                 {"etc/abs", AE_IFLNK, "/etc/passwd"},
                                 {"etc/up", AE_IFLNK, "../../decoy"},
                                 {"etc/hard", 0, "etc/passwd"},
                                 {"dir/.wh..wh..opq", AE_IFREG, ""},
                                 {".wh.gone", AE_IFREG, ""},
                                 {"./a/./b/../c", AE_IFREG, "c"}};
  std::vector<TarEntry> evil = {{"../escape", AE_IFREG, "x"}, {abs, AE_IFREG, "x"},
                                {"l", AE_IFLNK, ".."},        {"l/escape", AE_IFREG, "x"},
                                {"h", 0, "../decoy"},         {"etc/up/x", AE_IFREG, "x"}};
  std::vector<std::string> corpus = {make_tar(layer), make_tar(layer, true), make_tar(evil),
                                     make_tar({{"f", AE_IFREG, std::string(3000, 'f')}})};
  for (auto& e : evil) corpus.push_back(make_tar({layer[0], layer[4], e}));
  fuzz("layer tar", corpus,
       [&](const std::string& s) -> std::string {
         (void)fs::remove_all(out);
         if (::mkdir(out.c_str(), 0755) < 0) return "mkdir out";
         UniqueFd dir(::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
         size_t at = 0;
         image::ReadFn read = [&](char* buf, size_t len) -> Result<size_t> {
           size_t n = std::min(len, s.size() - at);
           std::memcpy(buf, s.data() + at, n);
           at += n;
           return n;
         };
         auto r = image::unpack_stream(read, dir.get());
         if (r && r->size < 0) return "negative size";
         auto left = tree(box);
         left.erase("decoy");
         for (auto it = left.begin(); it != left.end();)
           it = it->starts_with("out") ? left.erase(it) : std::next(it);
         if (!left.empty()) return "wrote outside the target: " + *left.begin();
         if (*fs::read_file(decoy) != "decoy") return "the decoy outside was changed";
         if (fs::exists(abs)) {
           (void)fs::remove_all(abs);
           return "wrote " + abs;
         }
         return "";
       },
       1500, {"../", "/", ".wh.", ".wh..wh..opq", "ustar", "00000000000"});
  (void)fs::remove_all(abs);
}

// ---- docker-archive and oci-archive (hull load) ------------------------------------------

// An archive from member texts whose "@NAME@" placeholders are replaced after mutation:
// @LAYER@ / @CONFIG@ / @MANIFEST@ by digests, @LAYERHEX@ ... by blob names, @LAYERSIZE@ ...
// by sizes, so a mutated manifest still names the blobs the archive holds.
struct Members {
  std::string layer, config, manifest, top;  // top: manifest.json or index.json
  bool oci = false;
};

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size())
    s.replace(at, from.size(), to);
  return s;
}

std::string archive_of(const Members& m) {
  std::string layer_d = "sha256:" + Sha256::hex(m.layer);
  std::string config = replace_all(m.config, "@LAYERDIFF@", layer_d);
  std::string config_d = "sha256:" + Sha256::hex(config);
  auto fill = [&](std::string s) {
    s = replace_all(s, "@LAYER@", layer_d);
    s = replace_all(s, "@LAYERSIZE@", std::to_string(m.layer.size()));
    s = replace_all(s, "@CONFIG@", config_d);
    s = replace_all(s, "@CONFIGSIZE@", std::to_string(config.size()));
    return s;
  };
  if (!m.oci)
    return make_tar({{"layer.tar", AE_IFREG, m.layer},
                     {"config.json", AE_IFREG, config},
                     {"manifest.json", AE_IFREG, fill(m.top)}});
  std::string manifest = fill(m.manifest);
  std::string manifest_d = "sha256:" + Sha256::hex(manifest);
  std::string top = replace_all(fill(m.top), "@MANIFEST@", manifest_d);
  top = replace_all(top, "@MANIFESTSIZE@", std::to_string(manifest.size()));
  return make_tar({{"oci-layout", AE_IFREG, R"({"imageLayoutVersion":"1.0.0"})"},
                   {"blobs/", AE_IFDIR, ""},
                   {"blobs/sha256/", AE_IFDIR, ""},
                   {"blobs/sha256/" + layer_d.substr(7), AE_IFREG, m.layer},
                   {"blobs/sha256/" + config_d.substr(7), AE_IFREG, config},
                   {"blobs/sha256/" + manifest_d.substr(7), AE_IFREG, manifest},
                   {"index.json", AE_IFREG, top}});
}

TEST(Fuzz, LoadArchive) {
  if (::geteuid() != 0) GTEST_SKIP() << "layers with whiteouts need CAP_MKNOD";
  test::TempDir t("hull-fuzz");
  auto store = image::Store::open(t.path + "/root");
  ASSERT_TRUE(store) << store.error().message;
  // An image that every failed or successful load must leave as it is.
  std::string rootfs = t.path + "/rootfs.tar";
  ASSERT_TRUE(
      fs::write_file(rootfs, make_tar({{"bin/", AE_IFDIR, ""}, {"bin/sh", AE_IFREG, "#!"}}), 0644));
  auto kept = image::import_rootfs(*store, rootfs, "kept:1");
  ASSERT_TRUE(kept) << kept.error().message;
  std::string kept_file = store->layer_dir((*store->layers(*kept))[0].diff_id) + "/bin/sh";

  std::string layer = make_tar({{"f", AE_IFREG, "layer"}, {".wh.x", AE_IFREG, ""}});
  std::string config = R"({"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},
      "rootfs":{"type":"layers","diff_ids":["@LAYERDIFF@"]}})";
  std::string docker_top = R"([{"Config":"config.json","RepoTags":["fuzz:1","fuzz:2"],
      "Layers":["layer.tar"]}])";
  std::string manifest = R"({"schemaVersion":2,
      "mediaType":"application/vnd.oci.image.manifest.v1+json",
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@CONFIG@","size":@CONFIGSIZE@},
      "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"@LAYER@","size":@LAYERSIZE@}]})";
  std::string oci_top = R"({"schemaVersion":2,"manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@MANIFEST@","size":@MANIFESTSIZE@,
       "annotations":{"io.containerd.image.name":"docker.io/library/fuzz:oci","org.opencontainers.image.ref.name":"oci"}}]})";
  // The corpus entries are the four member texts, one per line group: mutate one of them.
  std::vector<Members> seeds = {{layer, config, "", docker_top, false},
                                {layer, config, manifest, oci_top, true}};
  for (auto& s : seeds) ASSERT_TRUE(fs::write_file(t.path + "/a.tar", archive_of(s), 0644));
  std::vector<std::string> texts = {config, docker_top, manifest, oci_top};
  Mutator pick(env_u64("HULL_FUZZ_SEED", 1));
  std::string path = t.path + "/load.tar";
  fuzz("load", texts,
       [&](const std::string& mutated) -> std::string {
         Members m = seeds[pick.below(2)];
         switch (pick.below(m.oci ? 4 : 3)) {
           case 0:
             m.config = mutated;
             break;
           case 1:
             m.top = mutated;
             break;
           case 2:
             m.layer = mutated.size() % 2 ? mutated : make_tar({{mutated, AE_IFREG, "x"}});
             break;
           default:
             m.manifest = mutated;
         }
         if (!fs::write_file(path, archive_of(m), 0644)) return "cannot write the archive";
         auto r = image::load_archive(*store, path);
         auto sh = fs::read_file(kept_file);
         if (!sh || *sh != "#!") return "the kept image's layer is gone";
         if (!store->resolve("kept:1")) return "the kept image is gone";
         if (!store->list()) return "the store cannot list its images";
         if (auto list = store->list(); r && list)
           for (auto& img : *list)
             if (img.id != *kept) (void)store->remove(img.id, true);
         return "";
       },
       400,
       {"@LAYER@", "@CONFIG@", "@MANIFEST@", "@LAYERDIFF@", "\"Layers\"", "\"diff_ids\"",
        "\"manifests\"", "\"size\"", "\"RepoTags\""});
}

}  // namespace
}  // namespace hull

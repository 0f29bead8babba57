// Flag translation. The order follows docker's createSpec: defaults, namespaces, mounts,
// process, security, resources.
#include "engine/spec_builder.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "common/strings.hpp"
#include "common/userns.hpp"
#include "engine/seccomp_profile.hpp"
#include "engine/volume_admin.hpp"
#include "image/pull.hpp"
#include "net/network.hpp"
#include "oci/capabilities.hpp"
#include "oci/rlimits.hpp"

namespace hull::engine {
namespace {

constexpr int64_t kDefaultShmSize = 64 << 20;

Result<oci::Mount> make_mount(std::string destination, std::string type, std::string source,
                              std::vector<std::string> options) {
  oci::Mount m;
  m.destination = std::move(destination);
  m.type = std::move(type);
  m.source = std::move(source);
  m.options = std::move(options);
  auto o = oci::parse_mount_options(m.options, m.type);
  if (!o) return std::unexpected(o.error().wrap(fmt::format("mount on {}", m.destination)));
  m.flags = o->flags;
  m.clear_flags = o->clear_flags;
  m.propagation = o->propagation;
  m.data = std::move(o->data);
  m.bind = o->bind;
  m.recursive = o->recursive;
  m.copy_up = o->copy_up;
  m.rec_attr_set = o->rec_attr_set;
  m.rec_attr_clr = o->rec_attr_clr;
  return m;
}

bool is_abs_clean(std::string_view p) {
  if (p.empty() || p[0] != '/') return false;
  for (auto part : split(p, '/'))
    if (part == "..") return false;
  return true;
}

// A mount destination as docker cleans it (path.Clean): "/d/", "/d//e" and "/./d" are
// "/d", "/d/e" and "/d". ".." stays, for is_abs_clean to refuse.
std::string clean_target(std::string_view p) {
  if (p.empty() || p[0] != '/') return std::string(p);
  std::string out;
  for (auto part : split(p, '/')) {
    if (part.empty() || part == ".") continue;
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

// A relative bind source is the caller's working directory's, as docker's CLI makes it
// (`-v .:/src`, `-v ./data:/data`, `--mount type=bind,src=.`); "" if there is none.
std::string absolute_source(std::string_view p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(std::filesystem::path(p), ec);
  if (ec) return "";
  auto s = abs.lexically_normal().string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::optional<std::string> env_name(std::string_view kv) {
  auto eq = kv.find('=');
  return std::string(kv.substr(0, eq));
}

// Later entries override earlier ones with the same name, keeping first positions.
void set_env(std::vector<std::string>& env, const std::string& kv) {
  auto name = *env_name(kv);
  for (auto& e : env)
    if (*env_name(e) == name) {
      e = kv;
      return;
    }
  env.push_back(kv);
}

Result<void> add_env_arg(std::vector<std::string>& env, std::string_view arg,
                         const BuildContext& ctx, std::string_view where) {
  if (arg.empty() || arg[0] == '=')
    return failf("invalid environment variable \"{}\"{}", arg, where);
  if (arg.find('=') != std::string_view::npos) {
    set_env(env, std::string(arg));
    return {};
  }
  // Bare NAME copies the caller's value; absent in the caller, it is left out (docker).
  if (ctx.getenv)
    if (auto v = ctx.getenv(std::string(arg))) set_env(env, fmt::format("{}={}", arg, *v));
  return {};
}

// Which sysctls a container may set, as docker's ValidateSysctl: only namespaced ones, of a
// namespace of its own (ipc, uts: the mode, "" when it has its own).
Status check_sysctl(const std::string& key, bool own_net, std::string_view ipc,
                    std::string_view uts) {
  const bool own_ipc = ipc.empty(), own_uts = uts.empty();
  static constexpr std::string_view kIpc[] = {
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  if (std::find(std::begin(kIpc), std::end(kIpc), key) != std::end(kIpc) ||
      key.starts_with("fs.mqueue.")) {
    if (!own_ipc) return failf("--sysctl {}: not allowed with --ipc {}", key, ipc);
    return {};
  }
  if (key.starts_with("net.")) {
    if (!own_net) return failf("--sysctl {}: not allowed with --network host", key);
    return {};
  }
  // The runtimes (runc, crun, hull-runtime) refuse it: --hostname sets it.
  if (key == "kernel.hostname") return failf("--sysctl {}: not allowed, use --hostname", key);
  if (key == "kernel.domainname") {
    if (!own_uts) return failf("--sysctl {}: not allowed with --uts {}", key, uts);
    return {};
  }
  return failf("--sysctl {}: not a namespaced sysctl, a container may not set it", key);
}

struct MountSpec {
  std::string type;  // bind, volume, tmpfs
  std::string source, target;
  bool readonly = false;
  bool copy = true;                  // a volume: filled from the image while empty
  std::vector<std::string> options;  // extra mount options (propagation, tmpfs size=)
};

Status add_volume_mount(Plan& plan, const BuildContext& ctx, MountSpec m) {
  m.target = clean_target(m.target);
  if (!is_abs_clean(m.target))
    return failf("invalid mount target \"{}\": must be an absolute path without \"..\"", m.target);
  if (m.target == "/") return fail("invalid mount target \"/\": the destination can't be \"/\"");
  std::vector<std::string> opts = m.options;
  MountRecord rec{m.type, "", m.source, m.target, !m.readonly, m.copy};
  oci::Mount mount;
  if (m.type == "tmpfs") {
    opts.insert(opts.begin(), {"nosuid", "nodev", "noexec"});
    if (m.readonly) opts.push_back("ro");
    mount = HULL_TRY(make_mount(m.target, "tmpfs", "tmpfs", opts));
    rec.source = "";
  } else {
    std::string source = m.source;
    if (m.type == "volume") {
      rec.anonymous = source.empty();
      if (rec.anonymous)
        source = new_container_id();
      else
        HULL_CHECK(check_volume_name(source));
      plan.named_volumes.push_back(source);
      rec.name = source;
      source = ctx.root + "/volumes/" + source + "/_data";
      rec.source = source;
    } else {
      if (!is_abs_clean(source))
        return failf("invalid bind mount source \"{}\": must be an absolute path", source);
      struct stat st {};
      if (::stat(source.c_str(), &st) < 0)
        return failf("invalid mount config: bind source path does not exist: {}", source);
    }
    opts.insert(opts.begin(), "rbind");
    opts.push_back(m.readonly ? "ro" : "rw");
    bool has_prop = std::any_of(opts.begin(), opts.end(), [](const std::string& o) {
      return o.find("private") != std::string::npos || o.find("shared") != std::string::npos ||
             o.find("slave") != std::string::npos;
    });
    if (!has_prop) opts.push_back("rprivate");
    mount = HULL_TRY(make_mount(m.target, "bind", source, opts));
  }
  // A user mount on a default destination (docker allows /dev/shm, /etc/hosts...) wins.
  std::erase_if(plan.spec.mounts, [&](const oci::Mount& x) { return x.destination == m.target; });
  std::erase_if(plan.config.mounts,
                [&](const MountRecord& x) { return x.destination == m.target; });
  plan.spec.mounts.push_back(std::move(mount));
  plan.config.mounts.push_back(std::move(rec));
  return {};
}

// -v SRC:DST[:OPTS] | -v DST
Result<MountSpec> parse_volume(std::string_view text) {
  auto parts = split(text, ':');
  MountSpec m;
  if (parts.size() == 1) {
    m.type = "volume";
    m.target = std::string(parts[0]);
  } else if (parts.size() == 2 || parts.size() == 3) {
    m.source = std::string(parts[0]);
    m.target = std::string(parts[1]);
    if (m.source.empty()) return failf("invalid volume specification \"{}\": empty source", text);
    m.type = m.source[0] == '/' || m.source[0] == '.' ? "bind" : "volume";
    if (m.source[0] == '.') m.source = absolute_source(m.source);
    if (parts.size() == 3) {
      for (auto o : split(parts[2], ',')) {
        if (o == "ro")
          m.readonly = true;
        else if (o == "rw")
          m.readonly = false;
        else if (o == "nocopy" || o == "copy")
          m.copy = o == "copy";
        else if (o == "z" || o == "Z")
          continue;  // SELinux labels: no SELinux here (docker ignores them too)
        else if (o == "private" || o == "rprivate" || o == "shared" || o == "rshared" ||
                 o == "slave" || o == "rslave") {
          if (m.type != "bind")
            return failf("invalid volume specification \"{}\": propagation only for binds", text);
          m.options.emplace_back(o);
        } else {
          return failf("invalid volume specification \"{}\": unknown option \"{}\"", text, o);
        }
      }
    }
  } else {
    return failf("invalid volume specification \"{}\"", text);
  }
  if (m.target.empty() || m.target[0] != '/')
    return failf("invalid volume specification \"{}\": the destination must be an absolute path",
                 text);
  return m;
}

// --mount type=bind,source=/a,target=/b,readonly
Result<MountSpec> parse_mount_flag(std::string_view text) {
  MountSpec m;
  m.type = "volume";
  for (auto field : split(text, ',')) {
    auto eq = field.find('=');
    std::string_view k = field.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? "" : field.substr(eq + 1);
    if (k == "type") {
      if (v != "bind" && v != "volume" && v != "tmpfs")
        return failf("invalid --mount \"{}\": type must be bind, volume or tmpfs", text);
      m.type = std::string(v);
    } else if (k == "source" || k == "src") {
      m.source = std::string(v);
    } else if (k == "target" || k == "destination" || k == "dst") {
      m.target = std::string(v);
    } else if (k == "readonly" || k == "ro") {
      if (eq == std::string_view::npos || v == "true" || v == "1")
        m.readonly = true;
      else if (v == "false" || v == "0")
        m.readonly = false;
      else
        return failf("invalid --mount \"{}\": bad value for readonly", text);
    } else if (k == "bind-propagation") {
      m.options.emplace_back(v);
    } else if (k == "tmpfs-size") {
      auto n = HULL_TRY(parse_size(v, "--mount tmpfs-size"));
      m.options.push_back(fmt::format("size={}", n));
    } else if (k == "tmpfs-mode") {
      if (!parse_int<unsigned>(v, 8)) return failf("invalid --mount \"{}\": bad tmpfs-mode", text);
      m.options.push_back(fmt::format("mode={}", v));
    } else if (k == "volume-nocopy") {
      if (eq == std::string_view::npos || v == "true" || v == "1")
        m.copy = false;
      else if (v == "false" || v == "0")
        m.copy = true;
      else
        return failf("invalid --mount \"{}\": bad value for volume-nocopy", text);
    } else if (k == "consistency" || k == "bind-nonrecursive") {
      continue;
    } else {
      return failf("invalid --mount \"{}\": unknown field \"{}\"", text, k);
    }
  }
  if (m.target.empty()) return failf("invalid --mount \"{}\": target is required", text);
  if (m.type == "bind" && m.source.empty())
    return failf("invalid --mount \"{}\": source is required for a bind mount", text);
  if (m.type == "bind" && m.source[0] != '/') m.source = absolute_source(m.source);
  if (m.type == "tmpfs" && !m.source.empty())
    return failf("invalid --mount \"{}\": a tmpfs has no source", text);
  return m;
}

// --network container:NAME shares NAME's network namespace and its /etc/hosts, hostname and
// resolv.conf: what would set any of them is refused, with docker's words and in its
// order (moby's validateNetContainerMode), each followed by the flag given. docker takes
// --dns-search and --dns-option and ignores them; hull refuses them too.
Status check_container_network(const RunOptions& o, std::string_view network) {
  const auto conflict = [&](std::string_view docker, std::string_view flag) {
    return failf("conflicting options: {} ({} with --network {})", docker, flag, network);
  };
  if (!o.hostname.empty()) return conflict("hostname and the network mode", "--hostname");
  if (!o.dns.empty()) return conflict("dns and the network mode", "--dns");
  if (!o.add_hosts.empty())
    return conflict("custom host-to-IP mapping and the network mode", "--add-host");
  if (!o.publish.empty())
    return conflict("port publishing and the container type network mode",
                    fmt::format("--publish {}", o.publish.front()));
  if (o.publish_all)
    return conflict("port publishing and the container type network mode", "--publish-all");
  if (!o.mac_address.empty()) return conflict("mac-address and the network mode", "--mac-address");
  if (!o.dns_search.empty()) return conflict("dns search and the network mode", "--dns-search");
  if (!o.dns_options.empty()) return conflict("dns options and the network mode", "--dns-option");
  return {};
}

}  // namespace

bool valid_cpuset(std::string_view s) {
  if (s.empty()) return false;
  for (auto part : split(s, ',')) {
    auto dash = part.find('-');
    auto a = parse_int<unsigned>(part.substr(0, dash));
    if (!a) return false;
    if (dash != std::string_view::npos) {
      auto b = parse_int<unsigned>(part.substr(dash + 1));
      if (!b || *b < *a) return false;
    }
  }
  return true;
}

Result<double> parse_cpus(std::string_view text) {
  std::string t(text);
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !(v > 0) || v > 1024)
    return failf("invalid --cpus \"{}\": use a positive number such as 1.5", text);
  return v;
}

Result<int64_t> parse_size(std::string_view text, std::string_view flag) {
  std::string_view s = trim(text);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string num(s.substr(0, i));
  std::string unit;
  for (char c : s.substr(i)) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double v = 0;
  char* end = nullptr;
  if (!num.empty()) v = std::strtod(num.c_str(), &end);
  if (num.empty() || end != num.c_str() + num.size() || !std::isfinite(v))
    return failf("invalid size \"{}\" for {}: use a number with an optional unit b, k, m or g",
                 text, flag);
  double mult = 1;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    mult = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tb" || unit == "tib")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else
    return failf("invalid size \"{}\" for {}: unknown unit \"{}\"", text, flag, unit);
  double bytes = v * mult;
  if (bytes > 9.0e18) return failf("invalid size \"{}\" for {}: too large", text, flag);
  return static_cast<int64_t>(bytes);
}

Result<oci::Rlimit> parse_ulimit(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos)
    return failf("invalid --ulimit \"{}\": use name=soft[:hard]", text);
  std::string name = "RLIMIT_";
  for (char c : text.substr(0, eq))
    name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto type = oci::rlimit_from_name(name);
  if (!type)
    return failf("invalid --ulimit \"{}\": unknown limit \"{}\"", text, text.substr(0, eq));
  auto vals = split(text.substr(eq + 1), ':');
  if (vals.size() > 2) return failf("invalid --ulimit \"{}\": use name=soft[:hard]", text);
  auto num = [&](std::string_view v) -> std::optional<uint64_t> {
    if (v == "-1" || v == "unlimited") return RLIM_INFINITY;
    return parse_int<uint64_t>(v);
  };
  auto soft = num(vals[0]);
  auto hard = vals.size() == 2 ? num(vals[1]) : soft;
  if (!soft || !hard) return failf("invalid --ulimit \"{}\": bad number", text);
  if (*soft > *hard)
    return failf("invalid --ulimit \"{}\": soft limit {} is above hard limit {}", text, *soft,
                 *hard);
  return oci::Rlimit{*type, name, *hard, *soft};
}

Result<std::vector<std::string>> read_env_file(const std::string& path, const BuildContext& ctx) {
  auto text = fs::read_file(path);
  if (!text) return std::unexpected(text.error().wrap("--env-file"));
  // docker's parser (opts.ParseEnvFile): lines end at \n or \r\n, a UTF-8 byte order mark
  // is skipped, leading blanks go, and a value is kept as written, trailing blanks too.
  std::string_view all = *text;
  if (all.starts_with("\xEF\xBB\xBF")) all.remove_prefix(3);
  std::vector<std::string> env;
  int line_no = 0;
  for (auto line : split(all, '\n')) {
    ++line_no;
    if (line.ends_with('\r')) line.remove_suffix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
      line.remove_prefix(1);
    if (line.empty() || line[0] == '#') continue;
    auto where = fmt::format(" in {} line {}", path, line_no);
    auto name = line.substr(0, line.find('='));
    if (name.find_first_of(" \t") != std::string_view::npos)
      return failf("invalid environment variable \"{}\"{}: the name contains whitespace", line,
                   where);
    HULL_CHECK(add_env_arg(env, line, ctx, where));
  }
  return env;
}

std::vector<int> default_capabilities() {
  return {CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
          CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
          CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
          CAP_KILL,    CAP_AUDIT_WRITE};
}

std::string container_resolv_conf(std::string_view host) {
  return net::render_resolv_conf(host, {}, {}, {});
}

Status check_platform(std::string_view platform) {
  if (platform.empty()) return {};
  auto p = image::parse_platform(platform);
  if (!p || p->os != "linux")
    return failf("invalid --platform {:?}: use linux/ARCH[/VARIANT]", platform);
  // Containers run on this host's kernel: no emulation of another architecture.
  auto host = image::parse_platform(image::host_platform());
  if (host && p->arch != host->arch)
    return failf("--platform {}: this host runs {}/{} only", platform, host->os, host->arch);
  return {};
}

Result<Plan> build_spec(const RunOptions& o, const ImageDefaults& image, const BuildContext& ctx) {
  Plan plan;
  oci::Spec& s = plan.spec;
  ContainerConfig& c = plan.config;
  s.oci_version = oci::kSpecVersion;
  c.id = ctx.id;
  c.image = o.rootfs.empty() ? o.image : o.rootfs;
  c.rootfs_dir = o.rootfs;
  c.tty = o.tty;
  c.interactive = o.interactive;
  c.auto_remove = o.rm;
  c.created = now_ns();
  c.init = o.init;

  // --- names and modes
  if (!o.name.empty()) HULL_CHECK(validate_name(o.name));
  c.name = o.name.empty() ? random_name() : o.name;
  c.restart = HULL_TRY(parse_restart_policy(o.restart));
  if (o.rm && c.restart.kind != RestartPolicy::Kind::no)
    return fail("conflicting options: --restart and --rm");
  // --pid, --ipc, --uts: private (its own namespace, recorded as ""), host, or
  // container:NAME (that running container's, resolved and checked by Engine::create).
  for (const auto& [mode, flag, out] : {std::tuple{&o.pid_mode, "--pid", &c.pid_mode},
                                        {&o.ipc_mode, "--ipc", &c.ipc_mode},
                                        {&o.uts_mode, "--uts", &c.uts_mode}}) {
    const bool ipc = flag == std::string_view("--ipc");
    if (mode->empty() || *mode == "private") continue;
    if (*mode == "host" || (ipc && (*mode == "shareable" || *mode == "none")) ||
        (mode->starts_with("container:") && mode->size() > std::string_view("container:").size())) {
      *out = *mode;
      continue;
    }
    return failf("invalid {} mode \"{}\": use private, host{} or container:NAME", flag, *mode,
                 ipc ? ", shareable, none" : "");
  }
  if (o.pull != "missing" && o.pull != "always" && o.pull != "never")
    return failf("invalid --pull \"{}\": use missing, always or never", o.pull);
  HULL_CHECK(check_platform(o.platform));
  std::string network = o.network.empty() ? ctx.default_network : o.network;
  if (network == "default") network = ctx.default_network;
  c.network = network;
  c.network_aliases = o.network_aliases;
  const bool host_net = network == "host";
  // container:NAME joins that container's network namespace when it starts.
  const bool shared_net = network.starts_with("container:");
  if (shared_net && network.size() == std::string_view("container:").size())
    return failf("invalid --network \"{}\": use container:NAME", network);
  if (shared_net) HULL_CHECK(check_container_network(o, network));
  // pasta (rootless): ports are forwarded, but there is no bridge, address or peer.
  const bool pasta_net = network == "pasta";
  const bool bridge_net = network != "none" && !host_net && !shared_net && !pasta_net;
  if (!bridge_net) {
    if (!o.network_aliases.empty())
      return failf("--network-alias: not supported with --network {}", network);
    if (!o.ip.empty()) return failf("--ip: not supported with --network {}", network);
    // docker's words (for host and container:NAME; hull's none and pasta have no interface
    // to give it either).
    if (!o.mac_address.empty())
      return failf(
          "conflicting options: mac-address and the network mode (--mac-address with "
          "--network {})",
          network);
    if (o.publish_all && !pasta_net)
      return failf("--publish-all: ports can only be published on a bridge network, not {}",
                   network);
  }
  if (!o.ip.empty()) {
    in_addr a{};
    if (::inet_pton(AF_INET, o.ip.c_str(), &a) != 1)
      return failf("invalid --ip \"{}\": not an IPv4 address", o.ip);
    c.ip = o.ip;
  }
  if (!o.mac_address.empty()) {
    // Six hex octets; a multicast address (the first octet's low bit) is no interface's.
    static const std::regex kMac("^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$");
    if (!std::regex_match(o.mac_address, kMac))
      return failf("invalid --mac-address \"{}\": want six hex octets, e.g. 02:42:0a:00:00:05",
                   o.mac_address);
    if (std::stoi(o.mac_address.substr(0, 2), nullptr, 16) & 1)
      return failf("invalid --mac-address \"{}\": a multicast address", o.mac_address);
    c.mac_address = o.mac_address;
    std::replace(c.mac_address.begin(), c.mac_address.end(), '-', ':');
    std::transform(c.mac_address.begin(), c.mac_address.end(), c.mac_address.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  }
  for (const auto& d : o.dns) {
    in_addr a4{};
    in6_addr a6{};
    if (::inet_pton(AF_INET, d.c_str(), &a4) != 1 && ::inet_pton(AF_INET6, d.c_str(), &a6) != 1)
      return failf("invalid --dns \"{}\": not an IP address", d);
  }
  for (const auto& v : o.dns_search)
    if (v.empty() || v.find_first_of(" \t\n") != std::string::npos)
      return failf("invalid --dns-search \"{}\"", v);
  for (const auto& v : o.dns_options)
    if (v.empty() || v.find_first_of(" \t\n") != std::string::npos)
      return failf("invalid --dns-option \"{}\"", v);
  // --add-host: src/net writes them for a bridge network (host-gateway is its gateway);
  // otherwise they go in the hosts file made here.
  std::vector<net::HostEntry> extra_hosts;
  for (const auto& h : o.add_hosts) {
    // Validated now with a stand-in gateway; the real one is the network's at attach.
    auto e = HULL_TRY(net::parse_add_host(h, bridge_net ? "0.0.0.0" : ""));
    extra_hosts.push_back(std::move(e));
  }
  if (bridge_net) c.extra_hosts = o.add_hosts;
  const bool host_pid = c.pid_mode == "host", host_ipc = c.ipc_mode == "host",
             host_uts = c.uts_mode == "host";
  const bool joined_ipc = joins_container(c.ipc_mode), joined_uts = joins_container(c.uts_mode);

  // --- process
  oci::Process& p = s.process.emplace();
  p.terminal = o.tty;
  std::vector<std::string> entrypoint = image.entrypoint, cmd = image.cmd;
  if (o.entrypoint) {
    // docker: --entrypoint also clears the image's CMD; "" resets the entrypoint.
    entrypoint.clear();
    if (!o.entrypoint->empty()) entrypoint = {*o.entrypoint};
    cmd.clear();
  }
  if (!o.command.empty()) cmd = o.command;
  p.args = entrypoint;
  p.args.insert(p.args.end(), cmd.begin(), cmd.end());
  if (p.args.empty()) return fail("no command specified: the image has none and none was given");
  c.entrypoint = entrypoint;
  c.cmd = cmd;

  // --uts container:NAME: NAME's hostname, which Engine::create takes from its record.
  c.hostname = o.hostname.empty() ? (host_uts ? "" : ctx.id.substr(0, 12)) : o.hostname;
  if (!o.hostname.empty()) {
    if (host_uts || joined_uts)
      return failf("conflicting options: --hostname and --uts {}", c.uts_mode);
    if (o.hostname.size() > 64 || o.hostname.find('/') != std::string::npos)
      return failf("invalid hostname \"{}\"", o.hostname);
  }
  if (!o.domainname.empty()) {
    if (host_uts || joined_uts)
      return failf("conflicting options: --domainname and --uts {}", c.uts_mode);
    if (o.domainname.size() > 64 || o.domainname.find_first_of("/ ") != std::string::npos)
      return failf("invalid domainname \"{}\"", o.domainname);
    c.domainname = o.domainname;
  }
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  if (!c.hostname.empty()) set_env(p.env, "HOSTNAME=" + c.hostname);
  for (const auto& e : image.env) set_env(p.env, e);
  if (o.tty) set_env(p.env, "TERM=xterm");
  for (const auto& f : o.env_files)
    for (auto& e : HULL_TRY(read_env_file(f, ctx))) set_env(p.env, e);
  for (const auto& e : o.env) HULL_CHECK(add_env_arg(p.env, e, ctx, ""));
  c.env = p.env;
  p.cwd = !o.workdir.empty() ? o.workdir : (!image.workdir.empty() ? image.workdir : "/");
  if (p.cwd[0] != '/') return failf("invalid --workdir \"{}\": must be an absolute path", p.cwd);
  c.workdir = p.cwd;
  c.user = !o.user.empty() ? o.user : image.user;
  if (!o.user.empty()) {
    // Shape only: names are looked up in the image's /etc/passwd when it is mounted.
    auto parts = split(o.user, ':');
    if (parts.size() > 2 || parts[0].empty() || (parts.size() == 2 && parts[1].empty()))
      return failf("invalid --user \"{}\": use name|uid[:group|gid]", o.user);
  }

  for (const auto& g : o.group_add)
    if (g.empty() || g.find(':') != std::string::npos)
      return failf("invalid --group-add \"{}\": use a group name or gid", g);
  c.group_add = o.group_add;

  // --- signals and logs
  std::string stop_signal = !o.stop_signal.empty()       ? o.stop_signal
                            : !image.stop_signal.empty() ? image.stop_signal
                                                         : "SIGTERM";
  auto sig = parse_signal(stop_signal);
  if (!sig || *sig == 0) return failf("invalid --stop-signal \"{}\"", stop_signal);
  c.stop_signal = signal_name(*sig);
  if (o.stop_timeout) {
    if (*o.stop_timeout < -1) return failf("invalid --stop-timeout {}", *o.stop_timeout);
    c.stop_timeout = *o.stop_timeout;
  }
  for (const auto& opt : o.log_opts) {
    auto eq = opt.find('=');
    std::string k = opt.substr(0, eq), v = eq == std::string::npos ? "" : opt.substr(eq + 1);
    if (k == "max-size") {
      auto n = HULL_TRY(parse_size(v, "--log-opt max-size"));
      if (n <= 0) return failf("invalid --log-opt max-size \"{}\": must be positive", v);
      c.log_max_size = static_cast<uint64_t>(n);
    } else if (k == "max-file") {
      auto n = parse_int<int>(v);
      if (!n || *n < 1) return failf("invalid --log-opt max-file \"{}\": must be at least 1", v);
      c.log_max_file = *n;
    } else {
      return failf("unknown log opt \"{}\" for the json-file driver: use max-size, max-file", k);
    }
  }
  if (c.log_max_file > 1 && c.log_max_size == 0) return fail("--log-opt max-file needs max-size");
  for (const auto& l : o.labels) {
    auto eq = l.find('=');
    if (l.empty() || eq == 0) return failf("invalid label \"{}\"", l);
    c.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  for (const auto& [k, v] : image.labels) c.labels.try_emplace(k, v);
  for (const auto& pub : o.publish) {
    if (!bridge_net && !pasta_net)
      return failf("--publish {}: ports can only be published on a bridge or pasta network", pub);
    // src/net's parser, the one -p parser: ranges expand to one mapping per port.
    for (const auto& p : HULL_TRY(net::parse_publish(pub)))
      c.ports.push_back({p.host_ip, p.host_port, p.container_port, p.proto, p.host_port_last});
  }
  if (o.publish_all)
    for (const auto& key : image.exposed_ports) {
      // An image may expose sctp (docker's EXPOSE allows it, and so does import):
      // hull forwards tcp and udp only, so that port is left out rather than failing -P.
      if (key.ends_with("/sctp")) {
        log::warn("image exposes {}: sctp is not published (tcp and udp only)", key);
        continue;
      }
      auto e = net::parse_exposed(key);
      if (!e) return std::unexpected(e.error().wrap(fmt::format("image ExposedPorts \"{}\"", key)));
      // An explicit -p of the same port wins; -P gives every other one a free host port.
      bool mapped = std::any_of(c.ports.begin(), c.ports.end(), [&](const PortMapping& p) {
        return p.container_port == e->container_port && p.proto == e->proto;
      });
      if (!mapped) c.ports.push_back({"", 0, e->container_port, e->proto});
    }
  plan.publish = c.ports;

  // --- security
  bool seccomp_on = !o.privileged, nnp = false, system_paths = !o.privileged;
  std::optional<oci::Seccomp> seccomp_file;
  for (const auto& so : o.security_opts) {
    auto sep = so.find_first_of("=:");
    std::string k = so.substr(0, sep), v = sep == std::string::npos ? "" : so.substr(sep + 1);
    if (k == "no-new-privileges") {
      if (v.empty() || v == "true")
        nnp = true;
      else if (v == "false")
        nnp = false;
      else
        return failf("invalid --security-opt \"{}\"", so);
    } else if (k == "seccomp") {
      if (v == "unconfined") {
        seccomp_on = false;
      } else if (v.empty()) {
        return failf("invalid --security-opt \"{}\": use seccomp=unconfined|FILE", so);
      } else {
        auto text = fs::read_file(v);
        if (!text) return std::unexpected(text.error().wrap("--security-opt seccomp"));
        auto j = parse_json(*text, v);
        if (!j) return std::unexpected(j.error());
        auto prof = oci::parse_seccomp(*j, v);
        if (!prof) return std::unexpected(prof.error());
        seccomp_file = std::move(*prof);
      }
    } else if (k == "systempaths" && v == "unconfined") {
      system_paths = false;
    } else if (k == "label" || k == "apparmor") {
      continue;  // no LSM support here; docker ignores them where the LSM is absent
    } else {
      return failf("invalid --security-opt \"{}\"", so);
    }
  }
  std::vector<int> caps;
  if (o.privileged) {
    for (const auto& cn : oci::capability_table()) caps.push_back(cn.value);
  } else {
    caps = default_capabilities();
    auto resolve = [](const std::string& n) -> Result<std::optional<int>> {
      std::string up;
      for (char ch : n) up += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (up == "ALL" || up == "CAP_ALL") return std::optional<int>{};
      auto v = oci::capability_from_user_name(n);
      if (!v) return failf("unknown capability \"{}\"", n);
      return std::optional<int>{*v};
    };
    for (const auto& n : o.cap_drop) {
      auto v = HULL_TRY(resolve(n));
      if (!v)
        caps.clear();
      else
        std::erase(caps, *v);
    }
    for (const auto& n : o.cap_add) {
      auto v = HULL_TRY(resolve(n));
      if (!v) {
        caps.clear();
        for (const auto& cn : oci::capability_table()) caps.push_back(cn.value);
      } else if (std::find(caps.begin(), caps.end(), *v) == caps.end()) {
        caps.push_back(*v);
      }
    }
  }
  std::sort(caps.begin(), caps.end());
  p.capabilities = oci::Capabilities{caps, caps, {}, caps, {}};
  p.no_new_privileges = nnp;
  if (seccomp_file)
    s.linux.seccomp = std::move(seccomp_file);
  else if (seccomp_on)
    s.linux.seccomp = default_seccomp_profile(caps);
  for (const auto& u : o.ulimits) {
    auto r = HULL_TRY(parse_ulimit(u));
    std::erase_if(p.rlimits, [&](const oci::Rlimit& x) { return x.type == r.type; });
    p.rlimits.push_back(r);
  }

  // --- namespaces
  oci::Linux& lx = s.linux;
  lx.namespaces.push_back({oci::NamespaceType::mount, {}});
  if (!host_pid) lx.namespaces.push_back({oci::NamespaceType::pid, {}});
  if (!host_ipc) lx.namespaces.push_back({oci::NamespaceType::ipc, {}});
  if (!host_uts) lx.namespaces.push_back({oci::NamespaceType::uts, {}});
  if (!host_net) lx.namespaces.push_back({oci::NamespaceType::network, {}});
  lx.namespaces.push_back({oci::NamespaceType::cgroup, {}});
  // A joined uts namespace keeps the names its owner set.
  if (!joined_uts) {
    s.hostname = c.hostname;
    s.domainname = c.domainname;
  }
  if (system_paths) {
    lx.masked_paths = {"/proc/asound",
                       "/proc/acpi",
                       "/proc/kcore",
                       "/proc/keys",
                       "/proc/latency_stats",
                       "/proc/timer_list",
                       "/proc/timer_stats",
                       "/proc/sched_debug",
                       "/proc/scsi",
                       "/sys/firmware",
                       "/sys/devices/virtual/powercap"};
    lx.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  }
  for (const auto& kv : o.sysctls) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return failf("invalid --sysctl \"{}\": use key=value", kv);
    std::string key = kv.substr(0, eq);
    if (key.starts_with("net.") && shared_net)
      return failf("--sysctl {}: not allowed with --network {}", key, network);
    HULL_CHECK(
        check_sysctl(key, !host_net, c.ipc_mode == "shareable" ? "" : c.ipc_mode, c.uts_mode));
    lx.sysctl[key] = kv.substr(eq + 1);
  }

  // --- resources
  oci::Resources res;
  res.devices = {oci::DeviceRule{o.privileged, "a", {}, {}, "rwm"}};
  if (!o.memory.empty()) {
    auto m = HULL_TRY(parse_size(o.memory, "--memory"));
    if (m < kMinMemory) return failf("invalid --memory \"{}\": the minimum is 6MB", o.memory);
    res.memory.emplace().limit = m;
  }
  if (!o.memory_swap.empty()) {
    if (!res.memory) return fail("--memory-swap needs --memory");
    int64_t swap = -1;
    if (o.memory_swap != "-1") swap = HULL_TRY(parse_size(o.memory_swap, "--memory-swap"));
    if (swap != -1 && swap < *res.memory->limit)
      return failf(
          "invalid --memory-swap \"{}\": must be at least --memory (it is memory plus swap)",
          o.memory_swap);
    res.memory->swap = swap;
  } else if (res.memory) {
    // docker: as much swap as memory; twice a limit past INT64_MAX / 2 (--memory 8e9g)
    // overflowed into a negative swap, and such a limit is no limit: swap is unlimited too.
    int64_t limit = *res.memory->limit;
    res.memory->swap = limit > INT64_MAX / 2 ? -1 : 2 * limit;
  }
  if (!o.cpus.empty()) {
    double v = HULL_TRY(parse_cpus(o.cpus));
    auto& cpu = res.cpu.emplace();
    cpu.period = 100000;
    cpu.quota = static_cast<int64_t>(std::llround(v * 100000));
  }
  if (o.cpu_shares) {
    if (*o.cpu_shares < 2 || *o.cpu_shares > 262144)
      return failf("invalid --cpu-shares {}: use 2 to 262144", *o.cpu_shares);
    if (!res.cpu) res.cpu.emplace();
    res.cpu->shares = static_cast<uint64_t>(*o.cpu_shares);
  }
  if (!o.cpuset_cpus.empty()) {
    if (!valid_cpuset(o.cpuset_cpus))
      return failf("invalid --cpuset-cpus \"{}\": use a list such as 0-2,4", o.cpuset_cpus);
    if (!res.cpu) res.cpu.emplace();
    res.cpu->cpus = o.cpuset_cpus;
  }
  if (o.pids_limit) res.pids_limit = *o.pids_limit <= 0 ? -1 : *o.pids_limit;
  lx.resources = std::move(res);

  // --- mounts: docker's default set, then generated files, then the user's
  auto add = [&](std::string dst, std::string type, std::string src,
                 std::vector<std::string> opts) -> Status {
    s.mounts.push_back(
        HULL_TRY(make_mount(std::move(dst), std::move(type), std::move(src), std::move(opts))));
    return {};
  };
  HULL_CHECK(add("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  HULL_CHECK(add("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  HULL_CHECK(add("/dev/pts", "devpts", "devpts",
                 {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  HULL_CHECK(
      add("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", o.privileged ? "rw" : "ro"}));
  HULL_CHECK(add("/sys/fs/cgroup", "cgroup", "cgroup",
                 {"nosuid", "noexec", "nodev", "relatime", o.privileged ? "rw" : "ro"}));
  // /dev/shm as docker makes it: the host's with --ipc host; a tmpfs of the host's under
  // the container's directory with --ipc shareable (mounted by prepare_rootfs), which a
  // container:NAME joiner binds (the source is the owner's: Engine::create sets it); none
  // with --ipc none; else a tmpfs of its own.
  int64_t shm = kDefaultShmSize;
  if (!o.shm_size.empty() && !host_ipc && !joined_ipc) {  // else ignored, as docker does
    shm = HULL_TRY(parse_size(o.shm_size, "--shm-size"));
    if (shm <= 0) return failf("invalid --shm-size \"{}\": must be positive", o.shm_size);
  }
  if (host_ipc) {
    HULL_CHECK(add("/dev/shm", "bind", "/dev/shm", {"rbind", "rprivate"}));
  } else if (joined_ipc || c.ipc_mode == "shareable") {
    HULL_CHECK(add("/dev/shm", "bind", ctx.container_dir + "/shm", {"rbind", "rprivate"}));
    if (!joined_ipc) c.shm_size = shm;
  } else if (c.ipc_mode != "none") {
    HULL_CHECK(add("/dev/shm", "tmpfs", "shm",
                   {"nosuid", "noexec", "nodev", "mode=1777", fmt::format("size={}", shm)}));
  }
  if (!host_ipc) HULL_CHECK(add("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  // Generated files, bound read-write as docker does (a container may edit its hosts).
  // A bridge network's hosts file is rewritten by src/net at attach (with the extra hosts).
  if (!host_net) {
    plan.hosts =
        net::render_hosts_standalone(bridge_net ? std::vector<net::HostEntry>{} : extra_hosts);
  } else {
    auto h = fs::read_file("/etc/hosts");
    plan.hosts = h ? *h : "127.0.0.1\tlocalhost\n";
    if (!plan.hosts.empty() && plan.hosts.back() != '\n') plan.hosts += '\n';
    for (const auto& e : extra_hosts)
      plan.hosts += fmt::format("{}\t{}\n", e.ip, fmt::join(e.names, " "));
  }
  plan.hostname_file = c.hostname + "\n";
  if (ctx.host_resolv_conf == "/etc/resolv.conf") {
    // src/net's rules: systemd-resolved's upstream list, loopback servers dropped.
    plan.resolv_conf =
        HULL_TRY(net::container_resolv_conf(o.dns, o.dns_search, o.dns_options, host_net));
  } else {
    auto host = fs::read_file(ctx.host_resolv_conf);
    plan.resolv_conf =
        net::render_resolv_conf(host ? *host : "", o.dns, o.dns_search, o.dns_options);
  }
  for (const char* f : {"hosts", "hostname", "resolv.conf"})
    HULL_CHECK(add(fmt::format("/etc/{}", f), "bind", ctx.container_dir + "/" + f,
                   {"rbind", "rprivate", "rw"}));

  for (const auto& v : o.volumes)
    HULL_CHECK(add_volume_mount(plan, ctx, HULL_TRY(parse_volume(v))));
  for (const auto& m : o.mounts)
    HULL_CHECK(add_volume_mount(plan, ctx, HULL_TRY(parse_mount_flag(m))));
  for (const auto& t : o.tmpfs) {
    MountSpec m;
    m.type = "tmpfs";
    auto colon = t.find(':');
    m.target = t.substr(0, colon);
    if (colon != std::string::npos)
      for (auto opt : split(std::string_view(t).substr(colon + 1), ','))
        m.options.emplace_back(opt);
    HULL_CHECK(add_volume_mount(plan, ctx, m));
  }
  // docker's order (WithMounts sorts by the number of path elements): after its default
  // set, a parent is mounted before what lies under it, so `-v conf:/etc` keeps the
  // generated /etc/hosts visible and `-v a:/x/y -v b:/x` keeps /x/y.
  {
    static constexpr std::string_view kDefaults[] = {
        "/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/shm", "/dev/mqueue"};
    auto first = std::find_if(s.mounts.begin(), s.mounts.end(), [](const oci::Mount& m) {
      return std::find(std::begin(kDefaults), std::end(kDefaults), m.destination) ==
             std::end(kDefaults);
    });
    std::stable_sort(first, s.mounts.end(), [](const oci::Mount& a, const oci::Mount& b) {
      return std::count(a.destination.begin(), a.destination.end(), '/') <
             std::count(b.destination.begin(), b.destination.end(), '/');
    });
  }

  if (o.init) {
    if (ctx.init_path.empty())
      return fail("--init: hull-init not found next to the hull binary (or set HULL_INIT)");
    HULL_CHECK(add("/dev/init", "bind", ctx.init_path, {"bind", "ro", "rprivate"}));
    p.args.insert(p.args.begin(), {"/dev/init", "--"});
  }

  // --- root
  s.root.path = o.rootfs.empty() ? ctx.container_dir + "/merged" : o.rootfs;
  s.root.readonly = o.read_only;
  if (!o.rootfs.empty()) {
    struct stat st {};
    if (::stat(o.rootfs.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
      return failf("--rootfs {}: not a directory", o.rootfs);
  }
  s.annotations["org.hull.container.name"] = c.name;
  return plan;
}

namespace {

// Reads a file of the rootfs with every path component resolved inside it: an image's
// /etc/passwd may be a symlink to the host's.
Result<std::string> read_in_root(const std::string& rootfs, const char* path) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_failf("open {}", rootfs);
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root.get(), path, &how, sizeof how)));
  if (!fd) return sys_failf("open {}/{}", rootfs, path);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) return sys_failf("read {}/{}", rootfs, path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (4 << 20)) return failf("{}/{}: too large", rootfs, path);
  }
  return out;
}

// A group of /etc/group's text by name, or by gid when `want` is a number.
std::optional<gid_t> find_group(const Result<std::string>& groups, std::string_view want) {
  if (!groups) return std::nullopt;
  const auto gid_arg = parse_int<gid_t>(want);
  for (auto line : split(*groups, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 3) continue;
    auto gid = parse_int<gid_t>(f[2]);
    if (gid && (gid_arg ? *gid == *gid_arg : f[0] == want)) return gid;
  }
  return std::nullopt;
}

}  // namespace

Result<oci::User> resolve_user(const std::string& rootfs, const std::string& spec) {
  // docker's rules (runc's GetExecUser, which moby's getUser calls): a numeric user is a
  // uid even when a name in passwd is made of digits, and one with no passwd entry keeps
  // gid 0; no user at all is uid 0's entry; a passwd entry, found by name or by uid, gives
  // the gid and the name whose /etc/group memberships become the supplementary groups,
  // unless a group is given: then that group alone. The primary gid always leads the
  // supplementary list (moby since 20.10.24/23.0.3, GHSA-hmfx-3pcx-653p): without it, a
  // file whose group denies access (mode 0604, say) would let the process in once it
  // dropped that group with setgroups-free means such as newgrp.
  oci::User u;
  auto parts = split(spec, ':');
  std::string_view user = parts[0];
  std::optional<std::string_view> group;
  if (parts.size() == 2) group = parts[1];
  const auto uid_arg = user.empty() ? std::optional<uid_t>{0} : parse_int<uid_t>(user);
  std::string matched;  // the passwd entry's name
  if (auto passwd = read_in_root(rootfs, "etc/passwd"))
    for (auto line : split(*passwd, '\n')) {
      auto f = split(line, ':');
      if (f.size() < 4) continue;
      auto uid = parse_int<uid_t>(f[2]);
      auto gid = parse_int<gid_t>(f[3]);
      if (!uid || !gid || (uid_arg ? *uid != *uid_arg : f[0] != user)) continue;
      u.uid = *uid;
      u.gid = *gid;
      matched = std::string(f[0]);
      break;
    }
  if (matched.empty()) {
    if (!uid_arg) return failf("unable to find user {}: no matching entries in passwd file", user);
    u.uid = *uid_arg;
  }
  auto add = [&](gid_t g) {
    if (std::find(u.additional_gids.begin(), u.additional_gids.end(), g) == u.additional_gids.end())
      u.additional_gids.push_back(g);
  };
  if (!group && matched.empty()) {
    add(u.gid);
    return u;
  }
  auto groups = read_in_root(rootfs, "etc/group");
  if (group) {
    // A gid need not be listed; a name must.
    auto gid = find_group(groups, *group);
    if (!gid) gid = parse_int<gid_t>(*group);
    if (!gid) return failf("unable to find group {}: no matching entries in group file", *group);
    u.gid = *gid;
    add(u.gid);
    return u;
  }
  add(u.gid);
  // Supplementary groups: every group listing the user's name.
  if (groups)
    for (auto line : split(*groups, '\n')) {
      auto f = split(line, ':');
      if (f.size() < 4) continue;
      for (auto m : split(f[3], ','))
        if (m == matched)
          if (auto g = parse_int<gid_t>(f[2])) add(*g);
    }
  return u;
}

Result<oci::User> resolve_process_user(const std::string& rootfs, const std::string& spec,
                                       const std::vector<std::string>& group_add) {
  oci::User u = HULL_TRY(resolve_user(rootfs, spec));
  auto groups = group_add.empty() ? Result<std::string>{} : read_in_root(rootfs, "etc/group");
  for (const auto& want : group_add) {
    auto gid = find_group(groups, want);
    if (!gid) gid = parse_int<gid_t>(want);
    if (!gid)
      return failf("--group-add: unable to find group {}: no matching entries in group file", want);
    if (std::find(u.additional_gids.begin(), u.additional_gids.end(), *gid) ==
        u.additional_gids.end())
      u.additional_gids.push_back(*gid);
  }
  // A user namespace with one id mapping (rootless) denies setgroups: the process keeps
  // the groups it has, as runc leaves them there. What /etc/group implies is dropped;
  // --group-add, asked for by name, cannot be given and is an error.
  if (userns::running_in_user_ns())
    if (auto sg = fs::read_file("/proc/self/setgroups");
        sg && sg->find("deny") != std::string::npos) {
      if (!group_add.empty())
        return fail(
            "--group-add: this user namespace denies setgroups (rootless with one id mapping)");
      u.additional_gids.clear();
    }
  return u;
}

}  // namespace hull::engine

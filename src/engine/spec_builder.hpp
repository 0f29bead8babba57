// `hull run`/`create` flags -> oci::Spec, docker's way: the image's config, then the
// flags, over secure defaults (docker's capability set, hull's seccomp profile, masked
// and read-only /proc paths, /dev/shm of 64M, generated /etc/hosts, /etc/hostname and
// /etc/resolv.conf). Every flag is validated here before anything is created, with an
// error that names the flag and the bad value.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/record.hpp"
#include "oci/spec.hpp"

namespace hull::engine {

// Flags as typed; validated by build_spec.
struct RunOptions {
  std::string image;
  std::vector<std::string> command;
  bool detach = false, interactive = false, tty = false, rm = false;
  std::string name;
  std::vector<std::string> env, env_files;
  std::string workdir, user, hostname;
  std::vector<std::string> group_add;
  std::optional<std::string> entrypoint;
  std::vector<std::string> volumes, mounts, tmpfs;
  bool read_only = false;
  std::string memory, memory_swap, cpus, cpuset_cpus;
  std::optional<int64_t> cpu_shares, pids_limit;
  std::vector<std::string> ulimits, cap_add, cap_drop;
  bool privileged = false;
  std::vector<std::string> security_opts;
  bool init = false;
  std::string stop_signal;
  std::optional<int> stop_timeout;
  std::string restart = "no";
  std::vector<std::string> labels;
  std::string pull = "missing", platform;
  std::string pid_mode, ipc_mode, uts_mode;
  std::vector<std::string> sysctls;
  std::string shm_size;
  std::vector<std::string> log_opts;
  std::string network;  // "" = default
  std::vector<std::string> publish;
  std::vector<std::string> network_aliases;
  bool publish_all = false;  // -P: every ExposedPorts entry of the image
  std::vector<std::string> add_hosts, dns, dns_search, dns_options;
  std::string ip;           // --ip
  std::string mac_address;  // --mac-address: eth0's MAC on a bridge network
  std::string domainname;   // --domainname: the UTS namespace's NIS domain name
  std::string rootfs;       // podman's --rootfs: a directory instead of an image
};

// What the image contributes (its config), already resolved by the image store.
struct ImageDefaults {
  std::vector<std::string> env, entrypoint, cmd;
  std::string workdir, user, stop_signal;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports;  // "80/tcp"
};

// Everything create needs, computed without side effects.
struct Plan {
  oci::Spec spec;
  ContainerConfig config;
  std::vector<std::string> named_volumes;         // to create under <root>/volumes
  std::string hosts, hostname_file, resolv_conf;  // contents of the generated files
  std::vector<PortMapping> publish;
};

struct BuildContext {
  std::string id;
  std::string root;           // hull's --root: volumes live in <root>/volumes
  std::string container_dir;  // <root>/containers/<id>: generated files, rootfs mount
  std::string host_resolv_conf = "/etc/resolv.conf";
  std::string default_network = "none";
  std::string init_path;  // the static hull-init binary for --init; empty: not found
  // The caller's environment, for bare `-e NAME`.
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

Result<Plan> build_spec(const RunOptions& o, const ImageDefaults& image, const BuildContext& ctx);

// Pieces, exported for unit tests and other verbs.
// --platform of run and create: os/arch[/variant] (image::parse_platform's rules) of this
// host. Engine::create checks it before it pulls the image; empty is the host's.
Status check_platform(std::string_view platform);
// docker's sizes: "64m", "1.5g", "512" (bytes), "10kb"; binary units.
Result<int64_t> parse_size(std::string_view text, std::string_view flag);
// docker refuses a memory limit (or reservation) below this: the runtime itself needs it.
inline constexpr int64_t kMinMemory = 6 << 20;
// --cpus: a number of CPUs above 0, up to 1024 ("1.5").
Result<double> parse_cpus(std::string_view text);
// --cpuset-cpus, --cpuset-mems: "0-2,4".
bool valid_cpuset(std::string_view s);
Result<oci::Rlimit> parse_ulimit(std::string_view text);
Result<std::vector<std::string>> read_env_file(const std::string& path, const BuildContext& ctx);
// Docker's default capability set.
std::vector<int> default_capabilities();
// The resolv.conf a container gets: the host's with loopback nameservers dropped (they do
// not answer inside another network namespace); docker's fallback servers if none remain.
std::string container_resolv_conf(std::string_view host);

// `-u`: "name", "uid", "name:group", "uid:gid" or "" (uid 0), resolved in the rootfs's
// /etc/passwd and /etc/group (read confined to the rootfs: the image is untrusted). The
// supplementary groups start with the primary gid, as docker's.
Result<oci::User> resolve_user(const std::string& rootfs, const std::string& spec);
// The user of a process of the container (run, start, exec): `-u` as resolve_user, then
// each `--group-add` (a group name of the image's /etc/group, or any gid) as docker adds
// them to the supplementary groups.
Result<oci::User> resolve_process_user(const std::string& rootfs, const std::string& spec,
                                       const std::vector<std::string>& group_add);

}  // namespace hull::engine

// The OCI runtime-spec (1.2) config.json model, Linux parts. Plain data: parsed and
// validated by parse_spec() before any process is cloned, then read by the runtime and
// written by the engine's spec builder. Field names follow the spec's JSON names.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"

namespace hull::oci {

inline constexpr const char* kSpecVersion = "1.2.0";

struct Rlimit {
  int type = 0;  // RLIMIT_* resolved from "RLIMIT_NOFILE" etc.
  std::string name;
  uint64_t hard = 0;
  uint64_t soft = 0;
  bool operator==(const Rlimit&) const = default;
};

struct Capabilities {
  // Capability numbers (CAP_*), resolved from names at parse time. An unknown name is
  // logged as a warning and skipped, as runc does (a newer engine may name newer caps).
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
  bool operator==(const Capabilities&) const = default;
};

struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<mode_t> umask;
  std::vector<gid_t> additional_gids;
  bool operator==(const User&) const = default;
};

struct ConsoleSize {
  unsigned height = 0;
  unsigned width = 0;
  bool operator==(const ConsoleSize&) const = default;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile;
  std::string selinux_label;
  bool operator==(const Process&) const = default;
};

struct Root {
  std::string path;  // as written; resolved against the bundle by the runtime
  bool readonly = false;
  bool operator==(const Root&) const = default;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;  // raw, as in config.json
  // Parsed from options by parse_mount_options():
  unsigned long flags = 0;        // MS_* to set
  unsigned long clear_flags = 0;  // MS_* explicitly cleared (rw, suid, dev, exec, ...)
  unsigned long propagation = 0;  // MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE (| MS_REC)
  std::string data;               // options the kernel takes as data (size=, mode=, ...)
  bool bind = false;              // bind or rbind
  bool recursive = false;         // rbind
  std::vector<uint32_t> uid_mappings_unused;  // idmapped mounts: not supported yet
  // Added with the parser:
  bool copy_up = false;       // "tmpcopyup": copy the destination's content into the tmpfs
  uint64_t rec_attr_set = 0;  // MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE): "rro", ...
  uint64_t rec_attr_clr = 0;  // MOUNT_ATTR_* to clear recursively: "rrw", "rsuid", ...
  bool operator==(const Mount&) const = default;
};

// Result of turning a mount's options into flags; shared with the engine's --mount flag.
// As runc: recognised names map to MS_* flags (the last of "ro"/"rw" wins), "x-*" options
// are ignored, anything else goes into data for the filesystem (tmpfs "size=", "mode=").
// bind/rbind are reported as bind/recursive, not as MS_BIND/MS_REC in flags: flags are
// what a (re)mount must apply. A bind mount has no data, so an unknown option on one is an
// error (`unknown mount option "rwx"`); idmap/ridmap are refused (not supported).
struct MountOptions {
  unsigned long flags = 0;
  unsigned long clear_flags = 0;
  unsigned long propagation = 0;
  std::string data;
  bool bind = false;
  bool recursive = false;
  bool copy_up = false;       // tmpcopyup
  uint64_t rec_attr_set = 0;  // MOUNT_ATTR_*, applied recursively with mount_setattr
  uint64_t rec_attr_clr = 0;
  bool operator==(const MountOptions&) const = default;
};
Result<MountOptions> parse_mount_options(const std::vector<std::string>& options);
// The same with the mount's type: type "bind" makes it a bind mount (as crun does).
Result<MountOptions> parse_mount_options(const std::vector<std::string>& options,
                                         std::string_view type);
// Every option name parse_mount_options recognises (the features document lists them).
std::span<const std::string_view> mount_option_names();

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds
  bool operator==(const Hook&) const = default;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
  bool empty() const {
    return prestart.empty() && create_runtime.empty() && create_container.empty() &&
           start_container.empty() && poststart.empty() && poststop.empty();
  }
  bool operator==(const Hooks&) const = default;
};

enum class NamespaceType { pid, network, mount, ipc, uts, user, cgroup, time };

struct Namespace {
  NamespaceType type;
  std::string path;  // empty: create a new one
  bool operator==(const Namespace&) const = default;
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
  bool operator==(const IdMapping&) const = default;
};

struct Device {
  std::string path;
  char type = 'c';  // 'c', 'b', 'u' (unbuffered char), 'p' (fifo)
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<mode_t> file_mode;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  bool operator==(const Device&) const = default;
};

// cgroup resources: every field optional, so "not set" differs from zero.
struct DeviceRule {
  bool allow = false;
  std::string type;  // "a", "c", "b" (empty = all)
  std::optional<int64_t> major, minor;
  std::string access;  // subset of "rwm"
  bool operator==(const DeviceRule&) const = default;
};

struct MemoryResources {
  std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
  bool operator==(const MemoryResources&) const = default;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus, mems;
  std::optional<bool> idle;
  bool operator==(const CpuResources&) const = default;
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
  bool operator==(const WeightDevice&) const = default;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
  bool operator==(const ThrottleDevice&) const = default;
};

struct BlockIoResources {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps_device, throttle_write_bps_device,
      throttle_read_iops_device, throttle_write_iops_device;
  bool operator==(const BlockIoResources&) const = default;
};

struct HugepageLimit {
  std::string page_size;  // "2MB"
  uint64_t limit = 0;
  bool operator==(const HugepageLimit&) const = default;
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<int64_t> pids_limit;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::map<std::string, std::string> unified;
  bool operator==(const Resources&) const = default;
};

enum class SeccompAction {
  kill,
  kill_process,
  kill_thread,
  trap,
  errno_,
  trace,
  allow,
  log,
  notify
};

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_NE, SCMP_CMP_EQ, ...
  bool operator==(const SeccompArg&) const = default;
};

struct SeccompSyscall {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::allow;
  std::optional<unsigned> errno_ret;
  std::vector<SeccompArg> args;
  bool operator==(const SeccompSyscall&) const = default;
};

struct Seccomp {
  SeccompAction default_action = SeccompAction::allow;
  std::optional<unsigned> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_X86_64, ...
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
  bool operator==(const Seccomp&) const = default;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;  // "", "private", "rprivate", "slave", "rslave", "shared", ...
  std::vector<std::string> masked_paths, readonly_paths;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
  std::string mount_label;
  struct TimeOffset {
    int64_t secs = 0;
    uint32_t nanosecs = 0;
    bool operator==(const TimeOffset&) const = default;
  };
  // timeOffsets: "monotonic" and "boottime", applied to a new time namespace.
  std::map<std::string, TimeOffset> time_offsets;
  // personality.domain: "" (absent), "LINUX" or "LINUX32" (uname -m of a 32-bit host).
  std::string personality;

  bool has_namespace(NamespaceType t) const {
    for (const auto& n : namespaces)
      if (n.type == t) return true;
    return false;
  }
  const Namespace* find_namespace(NamespaceType t) const {
    for (const auto& n : namespaces)
      if (n.type == t) return &n;
    return nullptr;
  }
  bool operator==(const Linux&) const = default;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;  // required by create; optional in the spec for others
  Root root;
  std::string hostname, domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Linux linux;
  bool operator==(const Spec&) const = default;
};

// Parses and validates config.json text. Errors name the JSON field, e.g.
// `config.json: linux.namespaces[2].type: unknown namespace type "pidd"`.
Result<Spec> parse_spec(std::string_view text);
Result<Spec> load_spec(const std::string& bundle_dir);  // <bundle>/config.json
Result<Process> parse_process(std::string_view text, std::string_view source);  // exec --process
Result<Resources> parse_resources(std::string_view text, std::string_view source);  // update
Result<Seccomp> parse_seccomp(const Json& j, std::string_view field);

// Serialisation (engine spec builder, `spec` verb).
Json to_json(const Spec& spec);
Json to_json(const Process& process);
Json to_json(const Resources& resources);

// A working default config.json (runc's `spec` defaults); rootless adds a user namespace
// mapping the caller's uid/gid, drops network namespace, binds /sys.
Spec default_spec(bool rootless);
// Writes <bundle_dir>/config.json (tab-indented), failing if one exists already.
Status create_spec_file(const std::string& bundle_dir, const Spec& spec);

std::string_view namespace_name(NamespaceType t);       // "pid", "network", ...
int namespace_clone_flag(NamespaceType t);              // CLONE_NEWPID, ...
std::string_view namespace_proc_name(NamespaceType t);  // "pid", "net", "mnt", ... (/proc/PID/ns/)
std::optional<NamespaceType> namespace_from_name(std::string_view name);  // config.json's name
std::span<const NamespaceType> all_namespace_types();

}  // namespace hull::oci

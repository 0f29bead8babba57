// The `spec` verb's config.json: runc's defaults (libcontainer/specconv Example and
// ToRootless), with "hull" as the hostname.
#include <linux/capability.h>
#include <sys/resource.h>
#include <unistd.h>

#include "oci/spec.hpp"

namespace hull::oci {
namespace {

Mount make_mount(std::string destination, std::string type, std::string source,
                 std::vector<std::string> options) {
  Mount m;
  m.destination = std::move(destination);
  m.type = std::move(type);
  m.source = std::move(source);
  m.options = std::move(options);
  // The options above are all known, so this cannot fail.
  if (auto o = parse_mount_options(m.options, m.type)) {
    m.flags = o->flags;
    m.clear_flags = o->clear_flags;
    m.propagation = o->propagation;
    m.data = std::move(o->data);
    m.bind = o->bind;
    m.recursive = o->recursive;
    m.copy_up = o->copy_up;
    m.rec_attr_set = o->rec_attr_set;
    m.rec_attr_clr = o->rec_attr_clr;
  }
  return m;
}

}  // namespace

Spec default_spec(bool rootless) {
  Spec s;
  s.oci_version = kSpecVersion;

  Process& p = s.process.emplace();
  p.terminal = true;
  p.args = {"sh"};
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  std::vector<int> caps{CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE};
  // No inheritable set: CVE-2022-29162 (runc 1.1.2 stopped granting it by default).
  p.capabilities = Capabilities{caps, caps, {}, caps, {}};
  p.rlimits = {Rlimit{RLIMIT_NOFILE, "RLIMIT_NOFILE", 1024, 1024}};
  p.no_new_privileges = true;

  s.root.path.assign("rootfs");
  s.root.readonly = true;
  s.hostname = "hull";

  s.mounts.push_back(make_mount("/proc", "proc", "proc", {}));
  s.mounts.push_back(
      make_mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  std::vector<std::string> devpts{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
  // A rootless container has no group 5 (tty) mapped: gid=5 would fail the mount.
  if (!rootless) devpts.push_back("gid=5");
  s.mounts.push_back(make_mount("/dev/pts", "devpts", "devpts", std::move(devpts)));
  s.mounts.push_back(make_mount("/dev/shm", "tmpfs", "shm",
                                {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  s.mounts.push_back(make_mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (rootless) {
    // sysfs cannot be mounted without owning the network namespace; bind the host's.
    s.mounts.push_back(
        make_mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  } else {
    s.mounts.push_back(make_mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  }
  s.mounts.push_back(make_mount("/sys/fs/cgroup", "cgroup", "cgroup",
                                {"nosuid", "noexec", "nodev", "relatime", "ro"}));

  Linux& l = s.linux;
  l.namespaces = {{NamespaceType::pid, {}},
                  {NamespaceType::ipc, {}},
                  {NamespaceType::uts, {}},
                  {NamespaceType::mount, {}},
                  {NamespaceType::cgroup, {}}};
  if (rootless) {
    l.namespaces.push_back({NamespaceType::user, {}});
    l.uid_mappings = {IdMapping{0, geteuid(), 1}};
    l.gid_mappings = {IdMapping{0, getegid(), 1}};
  } else {
    l.namespaces.insert(l.namespaces.begin() + 1, Namespace{NamespaceType::network, {}});
    // Deny all devices; the runtime adds the default ones (null, zero, ...) itself.
    l.resources = Resources{};
    l.resources->devices = {DeviceRule{false, {}, {}, {}, "rwm"}};
  }
  l.masked_paths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                    "/proc/scsi"};
  l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  return s;
}

}  // namespace hull::oci

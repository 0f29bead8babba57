#include "runtime/process_setup.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/strings.hpp"

namespace hull::runtime {
namespace {

struct CapMask {
  uint64_t bits = 0;
  void set(const std::vector<int>& caps) {
    for (int c : caps)
      if (c >= 0 && c < 64) bits |= uint64_t{1} << c;
  }
  bool has(int c) const { return (bits >> c) & 1; }
};

// process.capabilities absent means every set empty, as runc and crun read it: root
// does not keep the runtime's capabilities (exec fills it from the container's config).
const oci::Capabilities& caps_of(const oci::Process& p) {
  static const oci::Capabilities kNone;
  return p.capabilities ? *p.capabilities : kNone;
}

}  // namespace

Status apply_rlimits(const oci::Process& p) {
  for (const auto& r : p.rlimits) {
    rlimit lim{r.soft, r.hard};
    if (::setrlimit(static_cast<__rlimit_resource>(r.type), &lim) < 0)
      return sys_failf("setrlimit {} (soft {}, hard {})", r.name, r.soft, r.hard);
  }
  return {};
}

Status apply_oom_score_adj(pid_t pid, const oci::Process& p) {
  if (!p.oom_score_adj) return {};
  return fs::write_existing(fmt::format("/proc/{}/oom_score_adj", pid),
                            std::to_string(*p.oom_score_adj));
}

Status drop_bounding_set(const oci::Process& p) {
  CapMask keep;
  keep.set(caps_of(p).bounding);
  // Up to the first number the kernel calls invalid (EINVAL): that is cap_last_cap + 1,
  // found without reading /proc/sys/kernel/cap_last_cap, and it covers capabilities
  // newer than this binary's headers too.
  for (int c = 0; c < 64; ++c) {
    if (keep.has(c)) continue;
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
      if (errno == EINVAL) return {};
      return sys_failf("drop capability {} from the bounding set", c);
    }
  }
  return {};
}

Status apply_user_and_caps(const oci::Process& p, bool setgroups_allowed) {
  const auto& u = p.user;
  const oci::Capabilities& caps = caps_of(p);
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return sys_fail("keepcaps");
  if (setgroups_allowed || !u.additional_gids.empty()) {
    if (::setgroups(u.additional_gids.size(), u.additional_gids.data()) < 0)
      return sys_fail("setgroups");
  }
  if (::setresgid(u.gid, u.gid, u.gid) < 0) return sys_failf("setresgid {}", u.gid);
  if (::setresuid(u.uid, u.uid, u.uid) < 0) return sys_failf("setresuid {}", u.uid);
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return sys_fail("keepcaps");
  CapMask eff, perm, inh;
  eff.set(caps.effective);
  perm.set(caps.permitted);
  inh.set(caps.inheritable);
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(eff.bits >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(perm.bits >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(inh.bits >> (32 * i));
  }
  if (::syscall(SYS_capset, &hdr, data) < 0) return sys_fail("capset");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return sys_fail("clear ambient capabilities");
  for (int c : caps.ambient) {
    // The kernel raises an ambient capability only if it is also permitted and
    // inheritable. runc's default spec lists ambient caps that are neither, and runc
    // and crun skip those rather than fail: do the same, so such configs run alike.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) {
      if (errno != EPERM && errno != EINVAL) return sys_failf("raise ambient capability {}", c);
    }
  }
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return sys_fail("no_new_privs");
  return {};
}

Status check_lsm_support(const oci::Process& p) {
  if (!p.apparmor_profile.empty()) {
    auto on = fs::read_file("/sys/module/apparmor/parameters/enabled");
    if (!on || !on->starts_with('Y'))
      return failf(
          "config.json: process.apparmorProfile \"{}\": AppArmor is not enabled on this host",
          p.apparmor_profile);
  }
  if (!p.selinux_label.empty() && !fs::exists("/sys/fs/selinux/enforce"))
    return failf("config.json: process.selinuxLabel \"{}\": SELinux is not enabled on this host",
                 p.selinux_label);
  return {};
}

Status apply_lsm_labels(const oci::Process& p) {
  if (!p.apparmor_profile.empty()) {
    std::string v = "exec " + p.apparmor_profile;
    // The LSM-specific file is new in Linux 5.8; before, attr/exec is AppArmor's.
    auto r = fs::write_existing("/proc/thread-self/attr/apparmor/exec", v);
    if (!r && r.error().code == ENOENT) r = fs::write_existing("/proc/thread-self/attr/exec", v);
    if (!r)
      return std::unexpected(
          r.error().wrap(fmt::format("apply AppArmor profile \"{}\"", p.apparmor_profile)));
  }
  if (!p.selinux_label.empty()) {
    if (auto r = fs::write_existing("/proc/thread-self/attr/exec", p.selinux_label); !r)
      return std::unexpected(
          r.error().wrap(fmt::format("set SELinux label \"{}\"", p.selinux_label)));
  }
  return {};
}

Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env) {
  auto check = [](const std::string& path) -> int {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) return errno;
    if (S_ISDIR(st.st_mode)) return EACCES;
    if (::faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) < 0) return errno;
    return 0;
  };
  if (name.find('/') != std::string::npos) {
    int err = check(name);
    if (err == 0) return name;
    if (err == EACCES) return fail(fmt::format("exec: \"{}\": permission denied", name), EACCES);
    return fail(fmt::format("exec: \"{}\": stat {}: {}", name, name, errno_string(err)), err);
  }
  // No PATH in process.env: nothing is searched, as in runc (Go's LookPath) and crun.
  std::string_view path;
  for (const auto& e : env)
    if (e.starts_with("PATH=")) path = std::string_view(e).substr(5);
  bool denied = false;
  for (auto dir : path.empty() ? std::vector<std::string_view>{} : split(path, ':')) {
    std::string cand = fmt::format("{}/{}", dir.empty() ? "." : dir, name);
    int err = check(cand);
    if (err == 0) return cand;
    if (err == EACCES) denied = true;
  }
  if (denied) return fail(fmt::format("exec: \"{}\": permission denied", name), EACCES);
  return fail(fmt::format("exec: \"{}\": executable file not found in $PATH", name), ENOENT);
}

Status join_session_keyring(const std::string& name) {
  long id = ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str());
  if (id < 0) {
    if (errno == ENOSYS || errno == EPERM) return {};
    return sys_failf("join session keyring {}", name);
  }
  // The kernel's KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ | KEY_USR_LINK plus
  // KEY_USR_SEARCH, as runc's ModKeyringPerm leaves it: an exec as the same user joins it.
  constexpr unsigned long kPerm = 0x3f1b0000;
  if (::syscall(SYS_keyctl, KEYCTL_SETPERM, id, kPerm) < 0 && errno != EACCES)
    return sys_failf("set permissions of session keyring {}", name);
  return {};
}

}  // namespace hull::runtime

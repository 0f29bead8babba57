// Mount options to flags, runc's table (libcontainer/specconv parseMountOptions) plus the
// recursive mount_setattr attributes ("rro", ...) and the "tmpcopyup" extension.
#include <sys/mount.h>

#include <algorithm>
#include <array>

#include "oci/spec.hpp"

namespace hull::oci {
namespace {

enum class Kind : uint8_t {
  set,          // flags |= value
  clear,        // flags &= ~value, remembered in clear_flags
  propagation,  // MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE, | MS_REC for the r* forms
  bind,         // value: 0 bind, MS_REC rbind
  attr_set,     // MOUNT_ATTR_* set recursively
  attr_clr,     // MOUNT_ATTR_* cleared recursively
  copy_up,      // tmpcopyup
  unsupported,  // idmap, ridmap
};

struct Option {
  std::string_view name;
  Kind kind;
  uint64_t value;
};

// The atime attributes are a 3-valued field in mount_setattr: clearing relatime means
// clearing the whole MOUNT_ATTR__ATIME field (Linux 5.12 mount_setattr(2)).
constexpr uint64_t kAtimeField = MOUNT_ATTR__ATIME;

// Sorted by name for binary search (checked below).
constexpr std::array kOptions = std::to_array<Option>({
    {"async", Kind::clear, MS_SYNCHRONOUS},
    {"atime", Kind::clear, MS_NOATIME},
    {"bind", Kind::bind, 0},
    {"defaults", Kind::set, 0},
    {"dev", Kind::clear, MS_NODEV},
    {"diratime", Kind::clear, MS_NODIRATIME},
    {"dirsync", Kind::set, MS_DIRSYNC},
    {"exec", Kind::clear, MS_NOEXEC},
    {"idmap", Kind::unsupported, 0},
    {"iversion", Kind::set, MS_I_VERSION},
    {"lazytime", Kind::set, MS_LAZYTIME},
    {"loud", Kind::clear, MS_SILENT},
    {"mand", Kind::set, MS_MANDLOCK},
    {"noatime", Kind::set, MS_NOATIME},
    {"nodev", Kind::set, MS_NODEV},
    {"nodiratime", Kind::set, MS_NODIRATIME},
    {"noexec", Kind::set, MS_NOEXEC},
    {"noiversion", Kind::clear, MS_I_VERSION},
    {"nolazytime", Kind::clear, MS_LAZYTIME},
    {"nomand", Kind::clear, MS_MANDLOCK},
    {"norelatime", Kind::clear, MS_RELATIME},
    {"nostrictatime", Kind::clear, MS_STRICTATIME},
    {"nosuid", Kind::set, MS_NOSUID},
    {"nosymfollow", Kind::set, MS_NOSYMFOLLOW},  // Linux 5.10
    {"private", Kind::propagation, MS_PRIVATE},
    {"ratime", Kind::attr_clr, MOUNT_ATTR_NOATIME},
    {"rbind", Kind::bind, MS_REC},
    {"rdev", Kind::attr_clr, MOUNT_ATTR_NODEV},
    {"rdiratime", Kind::attr_clr, MOUNT_ATTR_NODIRATIME},
    {"relatime", Kind::set, MS_RELATIME},
    {"remount", Kind::set, MS_REMOUNT},
    {"rexec", Kind::attr_clr, MOUNT_ATTR_NOEXEC},
    {"ridmap", Kind::unsupported, 0},
    {"rnoatime", Kind::attr_set, MOUNT_ATTR_NOATIME},
    {"rnodev", Kind::attr_set, MOUNT_ATTR_NODEV},
    {"rnodiratime", Kind::attr_set, MOUNT_ATTR_NODIRATIME},
    {"rnoexec", Kind::attr_set, MOUNT_ATTR_NOEXEC},
    {"rnorelatime", Kind::attr_clr, MOUNT_ATTR_RELATIME},
    {"rnostrictatime", Kind::attr_clr, MOUNT_ATTR_STRICTATIME},
    {"rnosuid", Kind::attr_set, MOUNT_ATTR_NOSUID},
    {"rnosymfollow", Kind::attr_set, MOUNT_ATTR_NOSYMFOLLOW},
    {"ro", Kind::set, MS_RDONLY},
    {"rprivate", Kind::propagation, MS_PRIVATE | MS_REC},
    {"rrelatime", Kind::attr_set, MOUNT_ATTR_RELATIME},
    {"rro", Kind::attr_set, MOUNT_ATTR_RDONLY},
    {"rrw", Kind::attr_clr, MOUNT_ATTR_RDONLY},
    {"rshared", Kind::propagation, MS_SHARED | MS_REC},
    {"rslave", Kind::propagation, MS_SLAVE | MS_REC},
    {"rstrictatime", Kind::attr_set, MOUNT_ATTR_STRICTATIME},
    {"rsuid", Kind::attr_clr, MOUNT_ATTR_NOSUID},
    {"rsymfollow", Kind::attr_clr, MOUNT_ATTR_NOSYMFOLLOW},
    {"runbindable", Kind::propagation, MS_UNBINDABLE | MS_REC},
    {"rw", Kind::clear, MS_RDONLY},
    {"shared", Kind::propagation, MS_SHARED},
    {"silent", Kind::set, MS_SILENT},
    {"slave", Kind::propagation, MS_SLAVE},
    {"strictatime", Kind::set, MS_STRICTATIME},
    {"suid", Kind::clear, MS_NOSUID},
    {"symfollow", Kind::clear, MS_NOSYMFOLLOW},
    {"sync", Kind::set, MS_SYNCHRONOUS},
    {"tmpcopyup", Kind::copy_up, 0},
    {"unbindable", Kind::propagation, MS_UNBINDABLE},
});

constexpr bool sorted() {
  for (size_t i = 1; i < kOptions.size(); ++i)
    if (!(kOptions[i - 1].name < kOptions[i].name)) return false;
  return true;
}
static_assert(sorted(), "kOptions must be sorted by name");

constexpr auto kNames = [] {
  std::array<std::string_view, kOptions.size()> names{};
  for (size_t i = 0; i < kOptions.size(); ++i) names[i] = kOptions[i].name;
  return names;
}();

const Option* find_option(std::string_view name) {
  auto it = std::lower_bound(kOptions.begin(), kOptions.end(), name,
                             [](const Option& o, std::string_view n) { return o.name < n; });
  if (it == kOptions.end() || it->name != name) return nullptr;
  return &*it;
}

// The relatime/noatime/strictatime family is one field for mount_setattr: setting one
// member must replace the others.
void set_attr(MountOptions& m, uint64_t attr) {
  if (attr == MOUNT_ATTR_NOATIME || attr == MOUNT_ATTR_STRICTATIME || attr == MOUNT_ATTR_RELATIME) {
    m.rec_attr_clr |= kAtimeField;
    m.rec_attr_set &= ~kAtimeField;
  } else {
    m.rec_attr_clr &= ~attr;
  }
  m.rec_attr_set |= attr;
}

void clear_attr(MountOptions& m, uint64_t attr) {
  if (attr == MOUNT_ATTR_NOATIME || attr == MOUNT_ATTR_STRICTATIME || attr == MOUNT_ATTR_RELATIME) {
    // "ratime", "rnorelatime", ...: back to the default, relatime.
    m.rec_attr_clr |= kAtimeField;
    m.rec_attr_set = (m.rec_attr_set & ~kAtimeField) | MOUNT_ATTR_RELATIME;
    return;
  }
  m.rec_attr_set &= ~attr;
  m.rec_attr_clr |= attr;
}

}  // namespace

std::span<const std::string_view> mount_option_names() {
  return kNames;
}

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options,
                                         std::string_view type) {
  MountOptions m;
  m.bind = type == "bind";
  std::string_view first_unknown;
  for (const std::string& o : options) {
    if (o.empty() || o.starts_with("x-")) continue;  // x-*: for userspace tools, not the kernel
    const Option* opt = find_option(o);
    if (!opt) {
      if (first_unknown.empty()) first_unknown = o;
      if (!m.data.empty()) m.data += ',';
      m.data += o;
      continue;
    }
    switch (opt->kind) {
      case Kind::set:
        m.flags |= opt->value;
        m.clear_flags &= ~opt->value;
        break;
      case Kind::clear:
        m.flags &= ~opt->value;
        m.clear_flags |= opt->value;
        break;
      case Kind::propagation:
        m.propagation = opt->value;
        break;
      case Kind::bind:
        m.bind = true;
        m.recursive = m.recursive || opt->value != 0;
        break;
      case Kind::attr_set:
        set_attr(m, opt->value);
        break;
      case Kind::attr_clr:
        clear_attr(m, opt->value);
        break;
      case Kind::copy_up:
        m.copy_up = true;
        break;
      case Kind::unsupported:
        return failf("mount option \"{}\": idmapped mounts are not supported", o);
    }
  }
  if (m.bind && !first_unknown.empty()) return failf("unknown mount option \"{}\"", first_unknown);
  return m;
}

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options) {
  return parse_mount_options(options, {});
}

}  // namespace hull::oci

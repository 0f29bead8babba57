#include "image/rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/userns.hpp"
#include "image/wrap.hpp"

namespace hull::image {
namespace {

// The kernel's own message for a failed fsconfig, read from the fs context fd.
std::string fs_context_log(int fsfd) {
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fsfd, buf, sizeof buf - 1);
    if (n <= 0) break;
    if (!out.empty()) out += "; ";
    out.append(buf, size_t(n));
    while (!out.empty() && out.back() == '\n') out.pop_back();
  }
  return out;
}

// An overlay mount that is attached nowhere yet: one "lowerdir+" per layer (Linux >= 6.8,
// so the mount options page limit never applies), else the layers in one "lowerdir"
// string when lowerdir_string is set. upper empty: read-only, the lowers alone.
// EINVAL-coded errors when the kernel lacks lowerdir+, so the caller can fall back.
Result<UniqueFd> overlay_fsmount(const std::vector<std::string>& lowers_top_first,
                                 const RootfsMount& m, bool volatile_upper,
                                 bool lowerdir_string = false) {
  UniqueFd fsfd(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fsfd) return sys_fail("fsopen overlay");
  auto set = [&](const char* key, const std::string& value) -> Status {
    if (::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) < 0) {
      int err = errno;
      std::string klog = fs_context_log(fsfd.get());
      return sys_fail(fmt::format("fsconfig overlay {}={}{}", key, value,
                                  klog.empty() ? "" : " (" + klog + ")"),
                      err);
    }
    return {};
  };
  if (lowerdir_string) {
    std::string all;
    for (auto& l : lowers_top_first) all += (all.empty() ? "" : ":") + l;
    HULL_CHECK(set("lowerdir", all));
  } else {
    for (auto& l : lowers_top_first) HULL_CHECK(set("lowerdir+", l));
  }
  if (!m.upper.empty()) {
    HULL_CHECK(set("upperdir", m.upper));
    HULL_CHECK(set("workdir", m.work));
  }
  if (volatile_upper && ::fsconfig(fsfd.get(), FSCONFIG_SET_FLAG, "volatile", nullptr, 0) < 0)
    return sys_fail("fsconfig overlay volatile");
  // In a user namespace overlay keeps its attributes as user.overlay.* (trusted.* needs
  // the initial namespace's CAP_SYS_ADMIN); unpack wrote the layers' opaque dirs so.
  if (userns::running_in_user_ns() &&
      ::fsconfig(fsfd.get(), FSCONFIG_SET_FLAG, "userxattr", nullptr, 0) < 0)
    return sys_fail("fsconfig overlay userxattr");
  if (::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    int err = errno;
    std::string klog = fs_context_log(fsfd.get());
    return sys_fail(
        fmt::format("create overlay for {}{}", m.merged, klog.empty() ? "" : " (" + klog + ")"),
        err == EINVAL ? EIO : err);
  }
  UniqueFd mfd(::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, m.upper.empty() ? MOUNT_ATTR_RDONLY : 0));
  if (!mfd) return sys_failf("fsmount overlay for {}", m.merged);
  return mfd;
}

Status mount_new_api(const std::vector<std::string>& lowers_top_first, const RootfsMount& m,
                     bool volatile_upper) {
  UniqueFd mfd = HULL_TRY(overlay_fsmount(lowers_top_first, m, volatile_upper));
  if (::move_mount(mfd.get(), "", AT_FDCWD, m.merged.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return sys_failf("move_mount overlay on {}", m.merged);
  return {};
}

// Older kernels: mount(2) with one option string of at most a page. Lower dirs are given
// as short relative names ("l/ABC...") from a child whose cwd is the store root, which
// fits about 170 layers where absolute layer paths would fit 40.
Status mount_legacy(const std::string& root, const std::vector<std::string>& short_top_first,
                    const RootfsMount& m, bool volatile_upper) {
  std::string opts = "lowerdir=";
  for (size_t i = 0; i < short_top_first.size(); ++i) {
    if (i) opts += ':';
    opts += "l/";
    opts += short_top_first[i];
  }
  opts += ",upperdir=" + m.upper + ",workdir=" + m.work;
  if (volatile_upper) opts += ",volatile";
  if (userns::running_in_user_ns()) opts += ",userxattr";
  long page = ::sysconf(_SC_PAGESIZE);
  if (long(opts.size()) >= page)
    return failf(
        "overlay for {}: {} layers need {} bytes of mount options, over the {} byte "
        "limit of mount(2) on this kernel (Linux >= 6.8 has no limit)",
        m.merged, short_top_first.size(), opts.size(), page);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return sys_fail("pipe2");
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  pid_t pid = ::fork();
  if (pid < 0) return sys_fail("fork");
  if (pid == 0) {
    // Only async-signal-safe calls here: the engine may have threads.
    int err = 0;
    if (::chdir(root.c_str()) < 0 ||
        ::mount("overlay", m.merged.c_str(), "overlay", 0, opts.c_str()) < 0)
      err = errno;
    (void)!::write(wr.get(), &err, sizeof err);
    ::_exit(err ? 1 : 0);
  }
  wr.reset();
  int err = EIO;
  ssize_t n = ::read(rd.get(), &err, sizeof err);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != sizeof err) err = EIO;
  if (err) return sys_fail(fmt::format("mount overlay on {}", m.merged), err);
  return {};
}

// The image's layer dirs, top first, each checked to be in the store.
Result<std::vector<std::string>> layer_lowers(const Store& store, const std::string& image_id,
                                              const std::vector<LayerRecord>& layers) {
  std::vector<std::string> lowers;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    std::string dir = store.layer_dir(it->diff_id);
    if (!fs::exists(dir))
      return failf("image {}: layer {} is missing from the store ({})", image_id, it->diff_id, dir);
    lowers.push_back(std::move(dir));
  }
  return lowers;
}

// An empty lower dir in the container's dir: the one lower of an image with no layers
// (docker's "scratch"), or what a read-only overlay needs below the lowers it has (two
// at least; the same dir twice is refused: ELOOP). n numbers them.
Result<std::string> empty_lower(const std::string& container_dir, size_t n = 0) {
  std::string empty = container_dir + (n == 0 ? "/empty" : fmt::format("/empty{}", n));
  if (::mkdir(empty.c_str(), 0755) < 0 && errno != EEXIST) return sys_failf("mkdir {}", empty);
  return empty;
}

}  // namespace

Result<RootfsMount> mount_rootfs(Store& store, const std::string& image_id,
                                 const std::string& container_dir, bool volatile_upper) {
  auto layers = HULL_TRY(store.layers(image_id));
  RootfsMount m{container_dir + "/merged", container_dir + "/upper", container_dir + "/work"};
  HULL_CHECK(fs::mkdir_p(container_dir, 0700));
  for (auto* d : {&m.upper, &m.work, &m.merged})
    if (::mkdir(d->c_str(), 0755) < 0 && errno != EEXIST) return sys_failf("mkdir {}", *d);
  std::vector<std::string> lowers = HULL_TRY(layer_lowers(store, image_id, layers)), shorts;
  for (const auto& dir : lowers) {
    std::string link_path = dir;
    link_path.replace(link_path.rfind('/') + 1, std::string::npos, "link");
    auto link = fs::read_file(link_path);
    shorts.push_back(link ? std::string(trim(*link)) : std::string());
  }
  if (lowers.empty()) lowers.push_back(HULL_TRY(empty_lower(container_dir)));
  // HULL_OVERLAY_LEGACY=1 takes the pre-6.8 path on any kernel, so tests cover it.
  const char* legacy = getenv("HULL_OVERLAY_LEGACY");
  Status st = legacy && *legacy == '1' ? Status(std::unexpected(Error{EINVAL, "legacy forced"}))
                                       : mount_new_api(lowers, m, volatile_upper);
  if (!st && (st.error().code == EINVAL || st.error().code == ENOSYS) && !layers.empty()) {
    bool have_shorts =
        std::all_of(shorts.begin(), shorts.end(), [](auto& s) { return !s.empty(); });
    if (have_shorts) st = mount_legacy(store.root(), shorts, m, volatile_upper);
  }
  if (!st) return std::unexpected(std::move(st).error());
  return m;
}

Result<UniqueFd> mount_rootfs_detached(Store& store, const std::string& image_id,
                                       const std::string& container_dir, bool writable) {
  auto layers = HULL_TRY(store.layers(image_id));
  RootfsMount m{container_dir + "/merged", "", ""};
  std::vector<std::string> lowers;
  std::string upper = container_dir + "/upper";
  if (writable) {
    m.upper = upper;
    m.work = container_dir + "/work";
    for (auto* d : {&m.upper, &m.work})
      if (::mkdir(d->c_str(), 0755) < 0 && errno != EEXIST) return sys_failf("mkdir {}", *d);
  } else if (fs::exists(upper)) {
    lowers.push_back(upper);  // its whiteouts and opaque dirs hide the image's files
  }
  for (auto& dir : HULL_TRY(layer_lowers(store, image_id, layers))) lowers.push_back(dir);
  // A read-only overlay needs two lowers, a writable one one. Never a lone dir as the root:
  // overlay is what turns the whiteouts in the upper dir (and in a layer) into absences.
  for (size_t n = 0; lowers.size() < (writable ? 1u : 2u); ++n)
    lowers.push_back(HULL_TRY(empty_lower(container_dir, n)));
  auto mfd = overlay_fsmount(lowers, m, false);
  if (!mfd && (mfd.error().code == EINVAL || mfd.error().code == ENOSYS))
    mfd = overlay_fsmount(lowers, m, false, true);
  return mfd;
}

Status unmount_rootfs(const std::string& container_dir) {
  std::string merged = container_dir + "/merged";
  if (::umount2(merged.c_str(), UMOUNT_NOFOLLOW) == 0) return {};
  if (errno == EINVAL || errno == ENOENT) return {};  // not mounted
  if (errno == EBUSY && ::umount2(merged.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) return {};
  return sys_failf("umount {}", merged);
}

}  // namespace hull::image

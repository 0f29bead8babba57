#include "engine/volume_admin.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <dirent.h>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "common/unique_fd.hpp"

namespace hull::engine {
namespace {

std::string volume_dir(const std::string& root, const std::string& name) {
  return root + "/volumes/" + name;
}

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// Which containers mount each volume.
Result<std::map<std::string, std::vector<std::string>>> volume_users(Db& db) {
  std::map<std::string, std::vector<std::string>> users;
  for (const auto& c : HULL_TRY(db.list()))
    for (const auto& m : c.config.mounts)
      if (m.type == "volume") users[m.name].push_back(c.config.id);
  return users;
}

Volume from_row(const Db::VolumeRow& r, std::vector<std::string> users) {
  Volume v;
  v.name = r.name;
  v.created = r.created;
  v.anonymous = r.anonymous;
  v.users = std::move(users);
  if (auto j = parse_json(r.labels_json, "volume labels"); j && j->is_object())
    for (const auto& [k, val] : j->items())
      if (val.is_string()) v.labels[k] = val.get<std::string>();
  return v;
}

// Sums st_size of the regular files below dirfd, crossing no mount and following nothing.
uint64_t bytes_at(int dirfd, dev_t dev, int depth) {
  if (depth > 256) return 0;
  DIR* d = ::fdopendir(dirfd);
  if (!d) {
    ::close(dirfd);
    return 0;
  }
  uint64_t total = 0;
  while (auto* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
      continue;
    if (S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_size);
    } else if (S_ISDIR(st.st_mode)) {
      int fd = ::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) total += bytes_at(fd, dev, depth + 1);
    }
  }
  ::closedir(d);
  return total;
}

}  // namespace

Status check_volume_name(std::string_view name) {
  if (name.size() < 2)
    return failf(
        "create {}: volume name is too short, names should be at least two alphanumeric "
        "characters",
        name);
  if (!std::isalnum(static_cast<unsigned char>(name[0])) ||
      !std::all_of(name.begin(), name.end(), name_char))
    return failf(
        "create {:?}: includes invalid characters for a local volume name, only "
        "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed; a host directory is an absolute path",
        name);
  return {};
}

Status create_volume(Db& db, const std::string& name,
                     const std::map<std::string, std::string>& labels, bool anonymous) {
  HULL_CHECK(check_volume_name(name));
  HULL_CHECK(fs::mkdir_p(volume_dir(db.root(), name) + "/_data", 0755));
  return db.add_volume(name, Json(labels).dump(), anonymous);
}

Result<std::vector<Volume>> list_volumes(Db& db) {
  auto users = HULL_TRY(volume_users(db));
  std::vector<Volume> out;
  for (const auto& r : HULL_TRY(db.volumes())) out.push_back(from_row(r, users[r.name]));
  return out;
}

Result<Volume> find_volume(Db& db, const std::string& name) {
  auto row = HULL_TRY(db.volume(name));
  if (!row) return failf("get {}: no such volume", name);
  auto users = HULL_TRY(volume_users(db));
  return from_row(*row, users[name]);
}

Json volume_json(const Volume& v, const std::string& root) {
  Json labels = Json(nullptr);
  if (!v.labels.empty() || v.anonymous) {
    labels = Json(v.labels);
    if (v.anonymous) labels["com.docker.volume.anonymous"] = "";
  }
  return {{"CreatedAt", format_rfc3339(v.created / 1'000'000'000)},
          {"Driver", "local"},
          {"Labels", labels},
          {"Mountpoint", volume_dir(root, v.name) + "/_data"},
          {"Name", v.name},
          {"Options", Json(nullptr)},
          {"Scope", "local"}};
}

Status remove_volume(Db& db, const Volume& v) {
  if (!v.users.empty()) {
    std::string ids;
    for (const auto& id : v.users) ids += (ids.empty() ? "" : ", ") + id;
    return failf("remove {}: volume is in use - [{}]", v.name, ids);
  }
  HULL_CHECK(fs::remove_all(volume_dir(db.root(), v.name)));
  return db.remove_volume(v.name);
}

void remove_anonymous_volumes(Db& db, const ContainerConfig& c) {
  bool any = std::any_of(c.mounts.begin(), c.mounts.end(),
                         [](const MountRecord& m) { return m.type == "volume"; });
  if (!any) return;
  // Called once the container's record is gone: any user left is another container. The
  // row says which volume is anonymous (records older than the flag lack it there).
  auto users = volume_users(db);
  if (!users) return;
  for (const auto& m : c.mounts) {
    if (m.type != "volume" || users->contains(m.name)) continue;
    auto row = db.volume(m.name);
    if (!row || !*row || !(*row)->anonymous) continue;
    if (fs::remove_all(volume_dir(db.root(), m.name))) (void)db.remove_volume(m.name);
  }
}

uint64_t volume_bytes(const std::string& root, const std::string& name) {
  std::string dir = volume_dir(root, name) + "/_data";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st {};
  if (::fstat(fd, &st) < 0) {
    ::close(fd);
    return 0;
  }
  return bytes_at(fd, st.st_dev, 0);
}

Result<VolumePrune> prune_volumes(Db& db, bool all,
                                  const std::function<bool(const Volume&)>& wanted) {
  VolumePrune out;
  for (const auto& v : HULL_TRY(list_volumes(db))) {
    if (!v.users.empty() || (!all && !v.anonymous) || (wanted && !wanted(v))) continue;
    uint64_t bytes = volume_bytes(db.root(), v.name);
    if (auto r = remove_volume(db, v); !r) {
      log::warn("{}", r.error().message);
      continue;
    }
    out.removed.push_back(v.name);
    out.reclaimed += bytes;
  }
  return out;
}

}  // namespace hull::engine

#include "runtime/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/strings.hpp"

namespace hull::runtime {
namespace {

constexpr const char* kStateFile = "state.json";
// Where a create notes its cgroup until state.json: an extended attribute of the state dir
// (one syscall, gone with the dir; trusted.* as root, user.* where the filesystem lets an
// unprivileged owner), else a file.
constexpr const char* kCgroupXattrs[] = {"trusted.hull.cgroup", "user.hull.cgroup"};
constexpr const char* kCgroupFile = "cgroup.json";

}  // namespace

// No fsync: state.json describes processes, which do not survive a crash of the host
// either (runc and crun do not sync it). On ext4 an fsync cost 10-20 ms per start, more
// than the rest of `run`. The rename still keeps readers from seeing a partial file.
Status write_state_file(int dirfd, const std::string& name, std::string_view data) {
  std::string tmp = name + ".tmp";
  UniqueFd fd(::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return sys_failf("open {}", tmp);
  Status st;
  for (size_t off = 0; st && off < data.size();) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      st = sys_failf("write {}", tmp);
    else
      off += static_cast<size_t>(n);
  }
  if (st && ::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) < 0)
    st = sys_failf("rename {} to {}", tmp, name);
  if (!st) ::unlinkat(dirfd, tmp.c_str(), 0);
  return st;
}

namespace {

Json hooks_to_json(const std::vector<oci::Hook>& hooks) {
  Json arr = Json::array();
  for (const auto& h : hooks) {
    Json j{{"path", h.path}};
    if (!h.args.empty()) j["args"] = h.args;
    if (!h.env.empty()) j["env"] = h.env;
    if (h.timeout) j["timeout"] = *h.timeout;
    arr.push_back(std::move(j));
  }
  return arr;
}

std::vector<oci::Hook> hooks_from_json(const Json& arr) {
  std::vector<oci::Hook> out;
  if (!arr.is_array()) return out;
  for (const auto& j : arr) {
    oci::Hook h;
    h.path = j.value("path", "");
    h.args = j.value("args", std::vector<std::string>{});
    h.env = j.value("env", std::vector<std::string>{});
    if (j.contains("timeout")) h.timeout = j["timeout"].get<int>();
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace

std::string_view status_name(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::creating:
      return "creating";
    case ContainerStatus::created:
      return "created";
    case ContainerStatus::running:
      return "running";
    case ContainerStatus::paused:
      return "paused";
    case ContainerStatus::stopped:
      return "stopped";
  }
  return "stopped";
}

Json State::to_json() const {
  Json j{{"id", id},
         {"pid", pid},
         {"pid_start_time", pid_start_time},
         {"bundle", bundle},
         {"rootfs", rootfs},
         {"created", created},
         {"owner", owner},
         {"created_user_ns", created_user_ns},
         {"own_pid_ns", own_pid_ns},
         {"no_new_keyring", no_new_keyring}};
  if (!annotations.empty()) j["annotations"] = annotations;
  if (!cgroup.is_null()) j["cgroup"] = cgroup;
  if (!resources.is_null()) j["resources"] = resources;
  // Only the hooks later verbs run are kept: poststart (start) and poststop (delete).
  if (!hooks.poststart.empty()) j["hooks"]["poststart"] = hooks_to_json(hooks.poststart);
  if (!hooks.poststop.empty()) j["hooks"]["poststop"] = hooks_to_json(hooks.poststop);
  return j;
}

Result<State> State::from_json(const Json& j) {
  try {
    State s;
    s.id = j.at("id").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.pid_start_time = j.at("pid_start_time").get<uint64_t>();
    s.bundle = j.value("bundle", "");
    s.rootfs = j.value("rootfs", "");
    s.created = j.value("created", "");
    s.owner = j.value("owner", "");
    s.created_user_ns = j.value("created_user_ns", false);
    s.own_pid_ns = j.value("own_pid_ns", false);
    s.no_new_keyring = j.value("no_new_keyring", false);
    s.annotations = j.value("annotations", std::map<std::string, std::string>{});
    if (j.contains("cgroup")) s.cgroup = j["cgroup"];
    if (j.contains("resources")) s.resources = j["resources"];
    if (j.contains("hooks")) {
      s.hooks.poststart = hooks_from_json(j["hooks"].value("poststart", Json()));
      s.hooks.poststop = hooks_from_json(j["hooks"].value("poststop", Json()));
    }
    return s;
  } catch (const Json::exception& e) {
    return failf("state.json: {}", e.what());
  }
}

Json oci_state(const State& s, ContainerStatus status) {
  Json j{{"ociVersion", oci::kSpecVersion},
         {"id", s.id},
         {"status", status_name(status)},
         {"bundle", s.bundle}};
  if (status != ContainerStatus::stopped) j["pid"] = s.pid;
  j["annotations"] = s.annotations;
  return j;
}

Result<uint64_t> process_start_time(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", path);
  char buf[1024];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return sys_failf("read {}", path);
  std::string_view s(buf, static_cast<size_t>(n));
  // comm may hold spaces and parentheses: fields start after the last ')'.
  size_t close = s.rfind(')');
  if (close == std::string_view::npos) return failf("{}: malformed", path);
  auto fields = split(trim(s.substr(close + 2)), ' ');
  // fields[0] is field 3 (state); starttime is field 22.
  if (fields.size() < 20) return failf("{}: malformed", path);
  if (fields[0] == "Z" || fields[0] == "X") return fail(fmt::format("{}: zombie", path), ESRCH);
  auto v = parse_int<uint64_t>(fields[19]);
  if (!v) return failf("{}: malformed start time", path);
  return *v;
}

bool process_alive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto t = process_start_time(pid);
  return t && *t == start_time;
}

Status validate_id(const std::string& id) {
  if (id.empty()) return fail("container id must not be empty");
  if (id.size() > 1024) return fail("container id is longer than 1024 bytes");
  if (id == "." || id == "..") return failf("invalid container id \"{}\"", id);
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return failf("invalid container id \"{}\": only [A-Za-z0-9_.-] allowed", id);
  }
  return {};
}

Result<UniqueFd> StateStore::create_dir(const std::string& id) const {
  HULL_CHECK(validate_id(id));
  if (::mkdir(root_.c_str(), 0711) < 0 && errno != EEXIST) {
    HULL_CHECK(fs::mkdir_p(root_, 0711));
  }
  std::string d = dir(id);
  if (::mkdir(d.c_str(), 0711) < 0) {
    if (errno == EEXIST) return failf("container with id \"{}\" already exists", id);
    return sys_failf("mkdir {}", d);
  }
  UniqueFd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", d);
  return fd;
}

hull::Status StateStore::save(const State& s) const {
  UniqueFd dfd(::open(dir(s.id).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return sys_failf("open {}", dir(s.id));
  return save_at(dfd.get(), s);
}

hull::Status StateStore::save_at(int dirfd, const State& s) const {
  return write_state_file(dirfd, kStateFile, s.to_json().dump());
}

hull::Status StateStore::save_cgroup_at(int dirfd, const Json& cgroup) const {
  std::string text = cgroup.dump();
  for (const char* name : kCgroupXattrs)
    if (::fsetxattr(dirfd, name, text.data(), text.size(), 0) == 0) return {};
  return write_state_file(dirfd, kCgroupFile, text);
}

Result<Json> StateStore::load_cgroup(const std::string& id) const {
  HULL_CHECK(validate_id(id));
  const std::string d = dir(id);
  for (const char* name : kCgroupXattrs) {
    ssize_t n = ::getxattr(d.c_str(), name, nullptr, 0);
    if (n < 0) continue;
    std::string text(static_cast<size_t>(n), '\0');
    n = ::getxattr(d.c_str(), name, text.data(), text.size());
    if (n < 0) continue;
    text.resize(static_cast<size_t>(n));
    return parse_json(text, d + " " + name);
  }
  const std::string path = d + "/" + kCgroupFile;
  return parse_json(HULL_TRY(fs::read_file(path)), path);
}

Result<State> StateStore::load(const std::string& id) const {
  HULL_CHECK(validate_id(id));
  auto text = fs::read_file(dir(id) + "/" + kStateFile);
  if (!text) {
    if (text.error().code == ENOENT)
      return fail(fmt::format("container \"{}\" does not exist", id), ENOENT);
    return std::unexpected(text.error());
  }
  auto j = HULL_TRY(parse_json(*text, dir(id) + "/state.json"));
  return State::from_json(j);
}

hull::Status StateStore::remove(const std::string& id) const {
  HULL_CHECK(validate_id(id));
  // After `run` the directory holds state.json alone: two syscalls instead of a walk.
  std::string d = dir(id);
  (void)::unlink((d + "/" + kStateFile).c_str());
  if (::rmdir(d.c_str()) == 0 || errno == ENOENT) return {};
  return fs::remove_all(d);
}

Result<std::vector<std::string>> StateStore::list() const {
  std::vector<std::string> ids;
  DIR* d = ::opendir(root_.c_str());
  if (!d) {
    if (errno == ENOENT) return ids;
    return sys_failf("open {}", root_);
  }
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) ids.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

ContainerStatus StateStore::status_of(const State& s) const {
  if (!process_alive(s.pid, s.pid_start_time)) return ContainerStatus::stopped;
  // Paused first: a created container can be paused (runc says "paused" for it too).
  if (fs::exists(dir(s.id) + "/paused")) return ContainerStatus::paused;
  struct stat st {};
  if (::stat((dir(s.id) + "/exec.fifo").c_str(), &st) == 0) return ContainerStatus::created;
  return ContainerStatus::running;
}

}  // namespace hull::runtime

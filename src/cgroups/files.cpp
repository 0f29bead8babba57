#include "cgroups/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

namespace hull::cgroups::detail {
namespace {

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    if (e->d_type == DT_DIR) out.emplace_back(n);
  }
  ::closedir(d);
  return out;
}

}  // namespace

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string join_path(std::string_view base, std::string_view rel) {
  std::string out(base);
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  for (auto part : split(rel, '/')) {
    if (part.empty() || part == ".") continue;
    if (out != "/") out += '/';
    out += part;
  }
  return out;
}

Status Files::write(const std::string& dir, std::string_view file, std::string_view value) const {
  std::string path = dir + "/" + std::string(file);
  if (fake) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fd) return sys_failf("open {}", path);
    std::string line = std::string(value) + "\n";
    if (::write(fd.get(), line.data(), line.size()) < 0) return sys_failf("write {}", path);
    return {};
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", path);
  if (::write(fd.get(), value.data(), value.size()) < 0)
    return sys_failf("write \"{}\" to {}", value, path);
  return {};
}

Status Files::write_lines(const std::string& dir, const std::vector<Line>& lines) const {
  if (fake) {
    for (const auto& l : lines) HULL_CHECK(write(dir, l.file, l.value));
    return {};
  }
  UniqueFd fd;
  std::string open_file;
  for (const auto& l : lines) {
    std::string path = dir + "/" + l.file;
    if (!fd || open_file != l.file) {
      fd.reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd) return sys_failf("open {}", path);
      open_file = l.file;
    }
    if (::write(fd.get(), l.value.data(), l.value.size()) < 0)
      return sys_failf("write \"{}\" to {}", l.value, path);
  }
  return {};
}

Result<std::string> Files::read(const std::string& dir, std::string_view file) const {
  return fs::read_file(dir + "/" + std::string(file));
}

bool Files::has(const std::string& dir, std::string_view file) const {
  return fs::exists(dir + "/" + std::string(file));
}

uint64_t Files::read_u64(const std::string& dir, std::string_view file) const {
  auto s = read(dir, file);
  if (!s) return 0;
  auto t = trim(*s);
  if (t == "max") return UINT64_MAX;
  // v1 reads -1 as a huge number already; a negative value means unlimited.
  if (auto v = parse_int<uint64_t>(t)) return *v;
  if (auto v = parse_int<int64_t>(t); v && *v < 0) return UINT64_MAX;
  return 0;
}

uint64_t Files::read_keyed(const std::string& dir, std::string_view file,
                           std::string_view key) const {
  auto s = read(dir, file);
  if (!s) return 0;
  for (auto line : split(*s, '\n')) {
    auto sp = line.find(' ');
    if (sp == std::string_view::npos || line.substr(0, sp) != key) continue;
    if (auto v = parse_int<uint64_t>(trim(line.substr(sp + 1)))) return *v;
  }
  return 0;
}

Result<std::vector<std::string>> Files::make_dirs(
    const std::string& dir,
    const std::function<Status(const std::vector<std::string>&)>& before_parents) const {
  // The leaf first: its parents almost always exist (one mkdir per hierarchy on the hot
  // path). On ENOENT, the missing parents are found with stat, handed to before_parents,
  // then created downwards. `made` lists, top down, what this call created, for the
  // caller to remove.
  std::vector<std::string> made, missing;
  if (::mkdir(dir.c_str(), 0755) == 0) return std::vector<std::string>{dir};
  if (errno == EEXIST) return made;
  if (errno != ENOENT) return sys_fail(fmt::format("mkdir {}", dir));
  missing.push_back(dir);
  for (std::string cur = dir.substr(0, dir.find_last_of('/')); !cur.empty() && cur != "/";
       cur = cur.substr(0, cur.find_last_of('/'))) {
    struct stat st {};
    if (::stat(cur.c_str(), &st) == 0) break;
    missing.push_back(cur);
  }
  if (before_parents)
    HULL_CHECK(before_parents(std::vector<std::string>(missing.rbegin(), missing.rend())));
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) == 0) {
      made.push_back(*it);
    } else if (errno != EEXIST) {
      int err = errno;
      for (auto m = made.rbegin(); m != made.rend(); ++m) ::rmdir(m->c_str());
      return sys_fail(fmt::format("mkdir {}", *it), err);
    }
  }
  return made;
}

Result<std::vector<pid_t>> Files::procs_recursive(const std::string& dir) const {
  std::vector<pid_t> out;
  auto s = read(dir, "cgroup.procs");
  if (!s) {
    if (s.error().code == ENOENT && !fs::exists(dir)) return out;
    return std::unexpected(s.error());
  }
  for (auto line : split(*s, '\n'))
    if (auto p = parse_int<pid_t>(trim(line)); p && *p > 0) out.push_back(*p);
  for (const auto& sub : subdirs(dir)) {
    auto more = HULL_TRY(procs_recursive(dir + "/" + sub));
    out.insert(out.end(), more.begin(), more.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status Files::remove_tree(const std::string& dir, int timeout_ms) const {
  for (const auto& sub : subdirs(dir)) HULL_CHECK(remove_tree(dir + "/" + sub, timeout_ms));
  if (fake) {
    // Plain files stand in for control files: clear them so rmdir can succeed.
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* e = ::readdir(d))
        if (e->d_type == DT_REG) ::unlinkat(dirfd(d), e->d_name, 0);
      ::closedir(d);
    }
  }
  int waited = 0;
  for (int delay = 1;; delay = std::min(delay * 2, 50)) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    int err = errno;
    if (err != EBUSY || waited >= timeout_ms) return sys_fail(fmt::format("rmdir {}", dir), err);
    // Processes that are still in it (a fork that raced a kill, or not yet reaped
    // zombies leaving): kill what is left and retry.
    if (auto pids = procs_recursive(dir))
      for (pid_t p : *pids) ::kill(p, SIGKILL);
    sleep_ms(delay);
    waited += delay;
  }
}

void Files::remove_created(const std::vector<std::string>& created, const std::string& leaf) const {
  for (auto it = created.rbegin(); it != created.rend(); ++it)
    if (*it != leaf) ::rmdir(it->c_str());  // EBUSY/ENOTEMPTY: still in use, keep it
}

}  // namespace hull::cgroups::detail

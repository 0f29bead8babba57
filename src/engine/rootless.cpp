// Rootless hull: the pause process that holds the user's namespaces, the checks a
// rootless run needs, and pasta for its network (rootless.hpp describes the design).
#include "engine/rootless.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <initializer_list>

#include "cgroups/manager.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/userns.hpp"
#include "net/network.hpp"
#include "runtime/state.hpp"

namespace hull::engine::rootless {
namespace {

// "<pid> <start time>" files: the pause process and each container's pasta.
constexpr const char* kPauseComm = "hull-pause";

struct PidRecord {
  pid_t pid = 0;
  uint64_t start = 0;
};

std::optional<PidRecord> read_record(const std::string& path) {
  auto text = fs::read_file(path);
  if (!text) return std::nullopt;
  auto parts = split(trim(*text), ' ');
  if (parts.size() != 2) return std::nullopt;
  auto pid = parse_int<pid_t>(parts[0]);
  auto start = parse_int<uint64_t>(parts[1]);
  if (!pid || *pid <= 0 || !start) return std::nullopt;
  return PidRecord{*pid, *start};
}

using Names = std::initializer_list<std::string_view>;
// pasta's comm: "pasta", or "passt.avx2" once it has re-executed its AVX2 build (found
// through /proc/self/exe, the passt binary that pasta links to).
const Names kPastaComms = {"pasta", "passt"};

// Whether pid's comm is one of names, or one of them with a ".SUFFIX".
bool comm_is(pid_t pid, Names names) {
  auto comm = fs::read_file(fmt::format("/proc/{}/comm", pid));
  if (!comm) return false;
  auto c = trim(*comm);
  for (auto name : names)
    if (c == name || (c.starts_with(name) && c.substr(name.size()).starts_with('.'))) return true;
  return false;
}

// A pidfd for the process a record names while it is still that process: opened first,
// then its start time and comm checked, so a signal or setns through it reaches that
// process or fails with ESRCH, never one that reused the pid (a record can outlive a
// reboot where /tmp is on disk: the start time alone could then match).
UniqueFd open_recorded(const std::optional<PidRecord>& rec, Names comm) {
  if (!rec) return {};
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, rec->pid, 0)));
  if (!fd || !runtime::process_alive(rec->pid, rec->start) || !comm_is(rec->pid, comm)) return {};
  return fd;
}

bool signal_pidfd(const UniqueFd& fd, int sig) {
  return fd && ::syscall(SYS_pidfd_send_signal, fd.get(), sig, nullptr, 0) == 0;
}

Status write_record(const std::string& path, pid_t pid) {
  auto start = HULL_TRY(runtime::process_start_time(pid));
  std::string tmp = path + ".tmp";
  HULL_CHECK(fs::write_file(tmp, fmt::format("{} {}\n", pid, start), 0600));
  if (::rename(tmp.c_str(), path.c_str()) < 0) return sys_failf("rename {}", tmp);
  return {};
}

std::optional<std::string> find_program(const char* name) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"}) {
    std::string p = fmt::format("{}/{}", dir, name);
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

// Runs argv (an absolute path first) and waits; stderr's last line goes in the error.
Status run_helper(const std::vector<std::string>& args) {
  int pfd[2];
  if (::pipe2(pfd, O_CLOEXEC) < 0) return sys_fail("pipe");
  UniqueFd rd(pfd[0]), wr(pfd[1]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return sys_fail("fork");
  if (pid == 0) {
    ::dup2(wr.get(), 2);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  wr.reset();
  // Only for the message: what could not be read is left out of it.
  std::string out = fs::read_fd(rd.get(), args[0]).value_or("");
  rd.reset();  // a helper still writing (past the limit) gets EPIPE instead of blocking
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return sys_failf("waitpid {}", args[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return failf("{} failed (status {}): {}", fmt::join(args, " "), status, trim(out));
}

// Writes the pause process's id maps from outside its namespace: the user's /etc/subuid
// and /etc/subgid ranges through newuidmap/newgidmap when there are any, else the single
// mapping an unprivileged process may write itself (uid and gid to 0, setgroups denied).
Status write_maps(pid_t pid) {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  std::string user;
  if (passwd* pw = ::getpwuid(uid)) user = pw->pw_name;
  auto sub_u = fs::read_file("/etc/subuid");
  auto sub_g = fs::read_file("/etc/subgid");
  auto ranges_u = sub_u ? parse_subid(*sub_u, user, uid) : std::vector<IdRange>{};
  auto ranges_g = sub_g ? parse_subid(*sub_g, user, uid) : std::vector<IdRange>{};
  auto newuidmap = find_program("newuidmap"), newgidmap = find_program("newgidmap");
  const std::string p = std::to_string(pid);
  if (!ranges_u.empty() && !ranges_g.empty() && newuidmap && newgidmap) {
    std::vector<std::string> u = {*newuidmap, p}, g = {*newgidmap, p};
    for (auto& a : id_map_args(uid, ranges_u)) u.push_back(a);
    for (auto& a : id_map_args(gid, ranges_g)) g.push_back(a);
    auto r = run_helper(u);
    if (r) r = run_helper(g);
    if (r) return {};
    // A uid map may be written once: with it written there is no falling back.
    auto map = fs::read_file(fmt::format("/proc/{}/uid_map", pid));
    if (map && !trim(*map).empty()) return r;
    log::warn("{}; using a single mapping (uid {} as root only)", r.error().message, uid);
  }
  const std::string base = fmt::format("/proc/{}/", pid);
  HULL_CHECK(fs::write_existing(base + "uid_map", fmt::format("0 {} 1\n", uid)));
  HULL_CHECK(fs::write_existing(base + "setgroups", "deny"));
  HULL_CHECK(fs::write_existing(base + "gid_map", fmt::format("0 {} 1\n", gid)));
  return {};
}

bool read_byte(int fd, char* c) {
  for (;;) {
    ssize_t n = ::read(fd, c, 1);
    if (n < 0 && errno == EINTR) continue;
    return n == 1;
  }
}

struct Pause {
  pid_t pid = 0;
  UniqueFd pidfd;
};

// Forks the pause process (double fork: it belongs to no hull, and init reaps it). It
// unshares a user and a mount namespace, waits until the maps are written, then sleeps.
Result<Pause> start_pause() {
  int up[2], down[2];
  if (::pipe2(up, O_CLOEXEC) < 0) return sys_fail("pipe");
  UniqueFd up_r(up[0]), up_w(up[1]);
  if (::pipe2(down, O_CLOEXEC) < 0) return sys_fail("pipe");
  UniqueFd down_r(down[0]), down_w(down[1]);
  pid_t mid = ::fork();
  if (mid < 0) return sys_fail("fork pause process");
  if (mid == 0) {
    ::setsid();
    pid_t pause = ::fork();
    if (pause != 0) ::_exit(pause < 0 ? 1 : 0);
    // The pause process: nothing here may depend on the maps until they are written.
    int err = ::unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? errno : 0;
    struct {
      pid_t pid;
      int err;
    } msg{::getpid(), err};
    (void)!::write(up_w.get(), &msg, sizeof msg);
    if (err) ::_exit(1);
    char c;
    if (!read_byte(down_r.get(), &c) || c != 'k') ::_exit(1);
    ::prctl(PR_SET_NAME, kPauseComm, 0, 0, 0);
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
    // Every other fd (the lock among them, whose flock it must not keep) goes.
    ::syscall(SYS_close_range, 3U, ~0U, 0);
    if (::chdir("/") < 0) ::_exit(1);
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGTERM);
    sigdelset(&all, SIGKILL);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    ::signal(SIGTERM, SIG_DFL);
    for (;;) ::pause();
  }
  up_w.reset();
  down_r.reset();
  int status = 0;
  while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  struct {
    pid_t pid;
    int err;
  } msg{0, 0};
  ssize_t n;
  do n = ::read(up_r.get(), &msg, sizeof msg);
  while (n < 0 && errno == EINTR);
  if (n != sizeof msg || msg.pid <= 0) return fail("pause process: exited before it started");
  if (msg.err)
    return sys_fail(
        "pause process: unshare user and mount namespaces (are unprivileged user "
        "namespaces disabled? see kernel.unprivileged_userns_clone / "
        "user.max_user_namespaces)",
        msg.err);
  // It waits for our 'k' and cannot end by itself before: this pidfd is its own.
  Pause p{msg.pid, UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, msg.pid, 0)))};
  if (!p.pidfd) return sys_failf("pidfd_open pause process {}", msg.pid);
  if (auto r = write_maps(msg.pid); !r) {
    signal_pidfd(p.pidfd, SIGKILL);
    return std::unexpected(r.error().wrap("pause process: id maps"));
  }
  if (::write(down_w.get(), "k", 1) != 1) {
    signal_pidfd(p.pidfd, SIGKILL);
    return sys_fail("pause process: go");
  }
  return p;
}

Result<uint16_t> free_port(const std::string& proto, const std::string& ip, uint16_t first,
                           uint16_t last) {
  const int type = proto == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  for (uint32_t p = first; p <= last; ++p) {
    UniqueFd s(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!s) return sys_fail("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(p));
    if (!ip.empty() && ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1)
      return failf("--publish: invalid host address \"{}\"", ip);
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) continue;
    socklen_t len = sizeof a;
    if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) < 0)
      return sys_fail("getsockname");
    return ntohs(a.sin_port);
  }
  return failf("--publish: no free host port in {}-{}/{}", first, last, proto);
}

}  // namespace

Result<Paths> default_paths(uid_t uid, const Getenv& getenv) {
  Paths p;
  auto set = [&](const char* name) -> std::optional<std::string> {
    auto v = getenv(name);
    // The XDG spec: relative paths are invalid and to be ignored.
    if (v && !v->empty() && v->front() == '/') return v;
    return std::nullopt;
  };
  if (auto d = set("XDG_DATA_HOME"))
    p.root = *d + "/hull";
  else if (auto h = set("HOME"))
    p.root = *h + "/.local/share/hull";
  else
    return fail("rootless hull: neither $XDG_DATA_HOME nor $HOME is set: use --root DIR");
  if (auto r = set("XDG_RUNTIME_DIR"))
    p.run_root = *r + "/hull";
  else
    p.run_root = fmt::format("/tmp/hull-{}", uid);
  return p;
}

std::vector<IdRange> parse_subid(std::string_view text, std::string_view user, uid_t uid) {
  std::vector<IdRange> out;
  const std::string uid_s = std::to_string(uid);
  for (auto line : split(text, '\n')) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto f = split(line, ':');
    if (f.size() != 3) continue;
    if (!(f[0] == uid_s || (!user.empty() && f[0] == user))) continue;
    auto start = parse_int<uint32_t>(trim(f[1]));
    auto count = parse_int<uint32_t>(trim(f[2]));
    if (!start || !count || *count == 0) continue;
    out.push_back({*start, *count});
  }
  return out;
}

std::vector<std::string> id_map_args(uint32_t own, const std::vector<IdRange>& ranges) {
  std::vector<std::string> a = {"0", std::to_string(own), "1"};
  uint64_t inside = 1;
  for (const auto& r : ranges) {
    if (inside + r.count > 0xffffffffULL) break;
    a.insert(a.end(), {std::to_string(inside), std::to_string(r.start), std::to_string(r.count)});
    inside += r.count;
  }
  return a;
}

Status check_trusted_path(std::string_view what, const std::string& path, uid_t uid) {
  if (path.empty() || path.front() != '/')
    return failf("{} \"{}\": not an absolute path", what, path);
  auto refuse = [&](const std::string& at, const std::string& why) {
    return failf("{} {}: {} {}: refusing it (use {})", what, path, at, why,
                 what == "store" ? "--root DIR" : "--run-root DIR");
  };
  // One name on the way (st: its lstat): a directory or symlink only uid or root may change.
  struct stat st {};
  auto check = [&](const std::string& at) -> Status {
    const bool link = S_ISLNK(st.st_mode);
    if (st.st_uid != 0 && st.st_uid != uid)
      return refuse(at,
                    fmt::format("is {}owned by uid {}, not {} or root{}", link ? "a symlink " : "",
                                st.st_uid, uid, link ? " (not followed)" : ""));
    if (link) return {};
    if (!S_ISDIR(st.st_mode)) return refuse(at, "is not a directory");
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
      return refuse(at,
                    fmt::format("is writable by {} (mode {:04o}) without the sticky bit",
                                st.st_mode & S_IWOTH ? "others" : "its group", st.st_mode & 07777));
    return {};
  };
  std::deque<std::string> todo;
  auto push_front = [&](std::string_view p) {
    auto parts = split(p, '/');
    for (auto it = parts.rbegin(); it != parts.rend(); ++it)
      if (!it->empty() && *it != ".") todo.emplace_front(*it);
  };
  push_front(path);
  if (::lstat("/", &st) < 0) return sys_failf("{} {}: stat /", what, path);
  HULL_CHECK(check("/"));
  std::string cur;  // resolved so far: "" is "/"
  int links = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == "..") {
      cur.resize(cur.rfind('/') == std::string::npos ? 0 : cur.rfind('/'));  // checked
      continue;
    }
    std::string at = cur + "/" + name;
    if (::lstat(at.c_str(), &st) < 0) {
      if (errno == ENOENT) return {};  // the rest is made by the caller, in a checked directory
      return sys_failf("{} {}: stat {}", what, path, at);
    }
    HULL_CHECK(check(at));
    if (S_ISLNK(st.st_mode)) {
      if (++links > 40) return failf("{} {}: too many levels of symlinks", what, path);
      std::string target(PATH_MAX, '\0');
      ssize_t n = ::readlink(at.c_str(), target.data(), target.size());
      if (n < 0) return sys_failf("{} {}: readlink {}", what, path, at);
      target.resize(static_cast<size_t>(n));
      if (target.starts_with('/')) cur.clear();
      push_front(target);
      continue;
    }
    cur = std::move(at);
  }
  const std::string last = cur.empty() ? std::string("/") : cur;
  if (::lstat(last.c_str(), &st) < 0) return sys_failf("{} {}: stat {}", what, path, last);
  if (st.st_uid != uid)
    return refuse(last, fmt::format("is owned by uid {}, not {}", st.st_uid, uid));
  return {};
}

Status ensure_private_dir(std::string_view what, const std::string& path, uid_t uid,
                          bool private_mode) {
  // Checked before anything is made through it, and again once it exists: mkdir of a
  // name another user planted meanwhile (a symlink, a directory of theirs) fails EEXIST
  // and the second check refuses it.
  HULL_CHECK(check_trusted_path(what, path, uid));
  if (::mkdir(path.c_str(), 0700) < 0 && errno != EEXIST) {
    if (errno != ENOENT) return sys_failf("mkdir {}", path);
    HULL_CHECK(fs::mkdir_p(path, 0700));
  }
  HULL_CHECK(check_trusted_path(what, path, uid));
  if (!private_mode) return {};
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat st {};
  if (!dir || ::fstat(dir.get(), &st) < 0) return sys_failf("open {}", path);
  if ((st.st_mode & 077) != 0 && ::fchmod(dir.get(), 0700) < 0)
    return sys_failf("chmod 0700 {}", path);
  return {};
}

std::optional<pid_t> pause_pid(const std::string& run_root) {
  auto rec = read_record(run_root + "/pause.pid");
  if (open_recorded(rec, {kPauseComm})) return rec->pid;
  return std::nullopt;
}

Status enter(const std::string& root, const std::string& run_root) {
  HULL_CHECK(ensure_private_dir("run root", run_root, ::geteuid(), true));
  HULL_CHECK(ensure_private_dir("store", root, ::geteuid(), false));
  const std::string lock_path = run_root + "/pause.lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!lock) return sys_failf("open {}", lock_path);
  while (::flock(lock.get(), LOCK_EX) < 0)
    if (errno != EINTR) return sys_failf("flock {}", lock_path);

  const std::string record = run_root + "/pause.pid";
  auto rec = read_record(record);
  Pause pause{rec ? rec->pid : 0, open_recorded(rec, {kPauseComm})};
  if (!pause.pidfd) {
    pause = HULL_TRY(start_pause());
    if (auto r = write_record(record, pause.pid); !r) {
      signal_pidfd(pause.pidfd, SIGKILL);
      return r;
    }
  }
  // The mount namespace's root becomes the cwd: come back to where the user was.
  UniqueFd cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  // Through the pidfd (Linux 5.8), both at once: not /proc/PID/ns/*, which name whatever
  // process has the pid when they are opened.
  if (::setns(pause.pidfd.get(), CLONE_NEWUSER | CLONE_NEWNS) < 0)
    return sys_failf("join the user and mount namespaces of pause process {}", pause.pid);
  if (cwd && ::fchdir(cwd.get()) < 0) (void)::chdir("/");
  userns::assume(true);
  ::setenv(kInUserNsEnv, "1", 1);
  return {};
}

Status check_run(const RunOptions& o, const std::string& network, bool delegated) {
  if (network != "pasta" && network != "none" && network != "host" &&
      !network.starts_with("container:"))
    return failf(
        "--network {}: bridge and user-defined networks need root; rootless hull uses pasta "
        "(the default: --network pasta), or none, host, container:NAME",
        network);
  if (delegated) return {};
  for (const auto& [given, flag] : {std::pair{!o.memory.empty(), "-m/--memory"},
                                    {!o.memory_swap.empty(), "--memory-swap"},
                                    {!o.cpus.empty(), "--cpus"},
                                    {!o.cpuset_cpus.empty(), "--cpuset-cpus"},
                                    {o.cpu_shares.has_value(), "--cpu-shares"},
                                    {o.pids_limit.has_value(), "--pids-limit"}})
    if (given)
      return failf(
          "{}: resource limits need a cgroup, and rootless hull has none on this host (it "
          "needs cgroup v2 with a cgroup delegated to the user, e.g. systemd's "
          "Delegate=yes)",
          flag);
  return {};
}

bool cgroup_delegated() {
  auto m = cgroups::make_manager({"hull-probe", "", true, {}});
  return m && (*m)->kind() != cgroups::Kind::disabled;
}

Result<std::vector<PortMapping>> start_network(const std::string& run_root, const std::string& id,
                                               const std::string& netns,
                                               const std::vector<PortMapping>& ports) {
  std::vector<PortMapping> mapped;
  net::PastaRequest rq;
  rq.netns_path = netns;
  // Beside, not in, netns/: prune takes every name there for a container's netns file.
  HULL_CHECK(fs::mkdir_p(run_root + "/pasta", 0700));
  rq.pid_file = run_root + "/pasta/" + id + ".pid";
  for (auto p : ports) {
    if (p.host_port == 0 || p.host_port_last > p.host_port) {
      uint16_t first = p.host_port ? p.host_port : 0;
      uint16_t last = p.host_port_last > p.host_port ? p.host_port_last : first;
      p.host_port = HULL_TRY(free_port(p.proto, p.host_ip, first, last));
    }
    p.host_port_last = 0;
    rq.ports.push_back({p.host_ip, p.host_port, p.container_port, p.proto, 0});
    mapped.push_back(p);
  }
  // hull is root of the user namespace that owns the netns: pasta needs no --userns.
  pid_t pid = HULL_TRY(net::start_pasta(rq));
  ::unlink(rq.pid_file.c_str());
  // pasta daemonised itself (no child of ours): the pid is checked to be a pasta before
  // it is recorded, and the record's start time pins it.
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!fd || !comm_is(pid, kPastaComms))
    return failf("pasta for netns \"{}\": process {} is gone", netns, pid);
  if (auto r = write_record(run_root + "/pasta/" + id, pid); !r) {
    signal_pidfd(fd, SIGTERM);
    return std::unexpected(r.error());
  }
  return mapped;
}

void stop_network(const std::string& run_root, const std::string& id) {
  const std::string path = run_root + "/pasta/" + id;
  // A pid that is no longer pasta's (a reboot, or a record outliving its process) is
  // not signalled, even with a matching start time.
  auto rec = read_record(path);
  if (UniqueFd fd = open_recorded(rec, kPastaComms); fd && signal_pidfd(fd, SIGTERM)) {
    // Gone when rm returns (it is not our child: the pidfd polls readable at its exit).
    pollfd p{fd.get(), POLLIN, 0};
    while (::poll(&p, 1, 2000) < 0 && errno == EINTR) {
    }
  }
  ::unlink(path.c_str());
}

}  // namespace hull::engine::rootless

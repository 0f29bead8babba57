// The monitor's hull parts: the launch before hull-monitor takes over, and the exit
// hand-over after it (monitor.hpp draws the sequence).
#include "engine/monitor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/loopback.hpp"
#include "common/sqlite_wal.hpp"
#include "common/userns.hpp"
#include "engine/engine.hpp"
#include "engine/monitor/hull-monitor.h"
#include "engine/rootfs.hpp"
#include "engine/rootless.hpp"
#include "engine/spec_builder.hpp"
#include "engine/volume_admin.hpp"
#include "net/network.hpp"
#include "runtime/cloned_binary.hpp"
#include "runtime/container.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace hull::engine {
namespace {

constexpr int64_t kBackoffStartMs = 100, kBackoffMaxMs = 60000;
constexpr int64_t kResetAfterNs = 10'000'000'000;  // docker: a 10 s run resets the back-off

void write_all(int fd, std::string_view s) {
  while (fd >= 0 && !s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads one byte, retrying on EINTR; 0 at EOF or error.
char read_byte(int fd) {
  char c = 0;
  ssize_t n;
  do n = ::read(fd, &c, 1);
  while (n < 0 && errno == EINTR);
  return n == 1 ? c : 0;
}

// Closes every fd but those listed (the CLI's sqlite and any other leaks).
void close_other_fds(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned next = 3;
  for (int fd : keep) {
    if (fd < 3) continue;
    if (static_cast<unsigned>(fd) > next) ::syscall(SYS_close_range, next, fd - 1, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, next, ~0U, 0);
}

// Updates only the fields the monitor owns (`stop` writes manual_stop meanwhile), read
// and written in one transaction; a record removed under us (rm -f) is left alone.
// A container's state, changed and saved. No one waits on hull __exited, so a database
// that fails (busy past its timeout, I/O) is tried again for a while: an exit left
// unrecorded shows as 255 ("the monitor died unseen") once the monitor is gone.
void save(Db* db, const std::string& id, const std::function<void(ContainerState&)>& change) {
  if (!db) return;
  for (int attempt = 0;; ++attempt) {
    auto saved = db->change_state(id, [&](ContainerState& s) {
      change(s);
      return true;
    });
    if (saved || saved.error().code == ENOENT) return;  // removed: nothing to record
    if (attempt == 20) {
      log::error("container {}: state not recorded: {}", id, saved.error().message);
      return;
    }
    ::usleep(100'000);
  }
}

// Bridge networks have a netns file of our own and an attachment (as --network none had
// before it used the monitor's own netns: removing a file that is not there is cheap);
// host and container:NAME have nothing to undo.
void teardown_network(const ContainerConfig& cfg, const std::string& root,
                      const std::string& run_root) {
  if (cfg.network == "host" || cfg.network.starts_with("container:")) return;
  if (cfg.network == "pasta")
    rootless::stop_network(run_root, cfg.id);
  else if (cfg.network != "none")
    if (auto nets = net::Networks::open(root)) (void)nets->detach(cfg.id);
  (void)net::remove_netns(run_root + "/netns/" + cfg.id);
}

// The pipes to an attached CLI and its stdio, as the monitor holds them.
struct AttachFds {
  int report = -1, control = -1, in = -1, out = -1, err = -1;
  std::string detach_keys;  // MonitorContext's
};

// How long exec_monitor waits for a program to end before it execs hull-monitor. Short:
// only an attached program's first output waits that long.
constexpr int kInProcessWaitMs = 10;

// The container whose hull-monitor code runs in this process (exec_monitor), for the
// hand-over that follows it (hull_monitor_handover).
struct InProcessMonitor {
  std::string root, run_root, id;
};
std::optional<InProcessMonitor> in_process_;

int exited(const MonitorHandover& h);

// The databases whose WALs `hull __exited` folds (sqlite::trim_wal), under the root.
constexpr const char* kTrimmedDbs[] = {"/containers.db", "/images.db"};

// --network none's namespace for the calling thread: a new netns with lo up.
Status new_loopback_netns() {
  if (::unshare(CLONE_NEWNET) < 0) return sys_fail("unshare CLONE_NEWNET");
  if (!loopback_up()) return sys_fail("bring lo up in the container's netns");
  return {};
}

// --network none's namespace, made on a thread of its own: unshare(CLONE_NEWNET) moves
// only the calling thread, and a new netns costs ~0.6 ms of the kernel's time, which
// then overlaps the state dir and the cgroups that the launch makes meanwhile. take()
// joins the thread and moves this one into the namespace, with lo up.
class NetnsMaker {
 public:
  NetnsMaker() : thread_([this] { made_ = make(); }) {}
  NetnsMaker(const NetnsMaker&) = delete;
  NetnsMaker& operator=(const NetnsMaker&) = delete;
  ~NetnsMaker() {
    if (thread_.joinable()) thread_.join();
  }
  Status take() {
    thread_.join();
    HULL_CHECK(made_);
    if (::setns(fd_.get(), CLONE_NEWNET) < 0) return sys_fail("setns to the new netns");
    fd_.reset();
    return {};
  }

 private:
  Status make() {
    HULL_CHECK(new_loopback_netns());
    fd_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!fd_) return sys_fail("open /proc/thread-self/ns/net");
    return {};
  }
  UniqueFd fd_;
  Status made_;
  std::thread thread_;  // last: started once the rest is constructed
};

// One launch of the container, by the first start and by every restart: prepare() with
// the databases (in the CLI before the monitor's fork, or in `hull __relaunch`), then
// run() (in the monitor).
class Launch {
 public:
  Launch(std::string root, std::string run_root, Container c, oci::Spec spec, Db* db,
         image::Store* images)
      : root_(std::move(root)),
        run_root_(std::move(run_root)),
        dir_(root_ + "/containers/" + c.config.id),
        c_(std::move(c)),
        spec_(std::move(spec)),
        db_(db),
        images_(images),
        store_(run_root_ + "/runtime") {}

  // The rootfs mount, the user, a container:NAME peer; undone on error.
  Status prepare();
  // The monitor's side (after fork it may not use the CLI's databases): the network,
  // then the launch. attach_in: the CLI's stdin when attached (-1 otherwise). go_fd: when
  // forked early, where the CLI's "r" comes once the record and the rootfs are there
  // (-1 otherwise); the user is then resolved here.
  std::expected<runtime::Launched, Error> run(int attach_in, int go_fd = -1);
  void forget_databases() {
    db_ = nullptr;
    images_ = nullptr;
  }
  // Replaces this process by hull-monitor watching `l`; returns only on failure.
  Error exec_monitor(const std::string& monitor, runtime::Launched& l, const AttachFds* att,
                     int64_t backoff_ms);
  // Undoes a launch whose monitor could not start.
  void undo();
  // Undoes prepare().
  void unprepare() { (void)release_rootfs(c_.config, root_, dir_); }
  // The container's state while this launch runs: the record's with this launch's fields.
  ContainerState running(const runtime::Launched& l) const {
    ContainerState s = c_.state;
    mark_running(s, l);
    return s;
  }
  // Records in the container's state that this launch runs.
  void save_running(const runtime::Launched& l) {
    save(db_, c_.config.id, [&](ContainerState& s) { mark_running(s, l); });
  }

 private:
  void mark_running(ContainerState& s, const runtime::Launched& l) const {
    s.status = ContainerStatus::running;
    s.pid = l.state.pid;
    s.started_at = now_ns();
    s.error.clear();
    s.exit_code = 0;
    s.ip = ip_;
    s.ports = ports_;
  }
  Status setup_network();
  std::string root_, run_root_, dir_;
  Container c_;
  oci::Spec spec_;
  std::optional<NetnsMaker> netns_;  // forked early with --network none (run)
  Db* db_;
  image::Store* images_;
  runtime::StateStore store_;
  UniqueFd out_r_, err_r_, console_, stdin_keep_;
  std::string ip_;
  std::vector<PortMapping> ports_;  // as attached: -p 80's host port resolved
};

void set_namespace_path(oci::Spec& spec, oci::NamespaceType type, const std::string& path) {
  for (auto& ns : spec.linux.namespaces)
    if (ns.type == type) {
      ns.path = path;
      return;
    }
  spec.linux.namespaces.push_back({type, path});
}

// --network none (as root): the monitor's own network namespace, made by unshare with lo
// brought up, is the container's: no netns file, no bind mount, nothing to remove (the
// namespace goes with its last process). Bridge networks live in a file of their own (so
// rm can always find and remove it), a veth on a bridge through src/net.
Status Launch::setup_network() {
  const auto& cfg = c_.config;
  const std::string& id = cfg.id;
  if (cfg.network == "host" || cfg.network.starts_with("container:")) return {};
  if (cfg.network == "none" && !userns::running_in_user_ns()) {
    HULL_CHECK(netns_ ? netns_->take() : new_loopback_netns());
    // A path (not the entry's removal): net.* sysctls need the container's own netns.
    set_namespace_path(spec_, oci::NamespaceType::network, "/proc/self/ns/net");
    return {};
  }
  HULL_CHECK(fs::mkdir_p(run_root_ + "/netns", 0700));
  const std::string netns = run_root_ + "/netns/" + id;
  (void)net::remove_netns(netns);  // left by a killed monitor
  HULL_CHECK(net::create_netns(netns));
  set_namespace_path(spec_, oci::NamespaceType::network, netns);
  if (cfg.network == "none") return {};  // rootless: lo only, in a netns of the user ns
  // Rootless (rootless.hpp): the netns belongs to the user namespace; pasta connects it.
  if (cfg.network == "pasta") {
    ports_ = HULL_TRY(rootless::start_network(run_root_, id, netns, cfg.ports));
    return {};
  }
  auto nets = HULL_TRY(net::Networks::open(root_));
  net::AttachRequest req;
  req.container_id = id;
  req.container_name = cfg.name;
  req.hostname = cfg.hostname;
  req.netns_path = netns;
  req.network = cfg.network;
  for (const auto& p : cfg.ports)
    req.ports.push_back({p.host_ip, p.host_port, p.container_port, p.proto, p.host_port_last});
  req.aliases = cfg.network_aliases;
  req.extra_hosts = cfg.extra_hosts;
  req.ip = cfg.ip;
  req.mac = cfg.mac_address;
  req.domainname = cfg.domainname;
  req.hosts_path = dir_ + "/hosts";
  auto att = HULL_TRY(nets.attach(req));
  ip_ = att.ip;
  ports_.clear();
  for (const auto& p : att.ports)
    ports_.push_back({p.host_ip, p.host_port, p.container_port, p.proto});
  return {};
}

void Launch::undo() {
  (void)runtime::destroy(store_, c_.config.id, true);
  teardown_network(c_.config, root_, run_root_);
  unprepare();
}

Status Launch::prepare() {
  const auto& cfg = c_.config;
  HULL_CHECK(prepare_rootfs(cfg, root_, dir_, images_));
  auto rest = [&]() -> Status {
    spec_.process->user = HULL_TRY(resolve_process_user(spec_.root.path, cfg.user, cfg.group_add));
    if (!joins_any_container(cfg)) return {};
    if (!db_) return fail("container:NAME: no container database");
    bool changed = false;
    HULL_CHECK(join_containers(*db_, store_, root_, c_.config, spec_, true, changed));
    if (changed) HULL_CHECK(db_->save_config(cfg.id, cfg));
    return {};
  };
  auto r = rest();
  if (!r) unprepare();
  return r;
}

std::expected<runtime::Launched, Error> Launch::run(int attach_in, int go_fd) {
  const auto& cfg = c_.config;
  // Forked early, only the networks that need nothing of the CLI's come first (a bridge
  // writes the container's hosts file): host. --network none's netns is made on a thread
  // alongside the launch and joined before the clone.
  const bool rootless = userns::running_in_user_ns();
  if (go_fd >= 0 && cfg.network == "none" && !rootless) {
    try {
      netns_.emplace();
    } catch (const std::system_error&) {
      // No thread to be had (a pids limit): setup_network unshares here instead.
    }
  }
  const bool network_first =
      go_fd < 0 || cfg.network == "host" || (cfg.network == "none" && rootless);
  if (auto r = network_first ? setup_network() : Status{}; !r) {
    teardown_network(cfg, root_, run_root_);
    unprepare();
    return std::unexpected(r.error().wrap("network"));
  }
  // The program's stdio: a pty (the runtime makes it), or pipes to the monitor.
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd in_r, out_w, err_w;
  int fds[2];
  if (!spec_.process->terminal) {
    if (cfg.interactive && attach_in >= 0) {
      in_r.reset(::fcntl(attach_in, F_DUPFD_CLOEXEC, 3));
    } else if (cfg.interactive) {
      // -di: stdin stays open with nobody writing, as docker keeps it.
      if (::pipe2(fds, O_CLOEXEC) < 0) return sys_fail("pipe");
      in_r.reset(fds[0]);
      stdin_keep_.reset(fds[1]);
    }
    if (::pipe2(fds, O_CLOEXEC) < 0) return sys_fail("pipe");
    out_r_.reset(fds[0]);
    out_w.reset(fds[1]);
    if (::pipe2(fds, O_CLOEXEC) < 0) return sys_fail("pipe");
    err_r_.reset(fds[0]);
    err_w.reset(fds[1]);
  }
  ::dup2(in_r ? in_r.get() : null.get(), 0);
  ::dup2(out_w ? out_w.get() : null.get(), 1);
  ::dup2(err_w ? err_w.get() : null.get(), 2);
  runtime::CreateOptions opts;
  opts.id = cfg.id;
  opts.bundle = dir_;
  opts.default_signals = true;
  opts.in_engine_monitor = true;
  if (go_fd >= 0)
    opts.before_clone = [&]() -> Status {
      if (read_byte(go_fd) != 'r') return fail("the CLI gave up before the container started");
      if (!network_first)
        if (auto r = setup_network(); !r) return std::unexpected(r.error().wrap("network"));
      spec_.process->user =
          HULL_TRY(resolve_process_user(spec_.root.path, cfg.user, cfg.group_add));
      return {};
    };
  auto launched = runtime::launch(store_, opts, runtime::LaunchMode::run, spec_);
  // The monitor keeps no write end of the program's output: EOF must mean it closed.
  ::dup2(null.get(), 0);
  ::dup2(null.get(), 1);
  ::dup2(null.get(), 2);
  if (!launched) {
    undo();
    return std::unexpected(launched.error());
  }
  console_ = std::move(launched->console);
  if (console_ && attach_in >= 0) {
    winsize ws{};
    if (::ioctl(attach_in, TIOCGWINSZ, &ws) == 0) ::ioctl(console_.get(), TIOCSWINSZ, &ws);
  }
  return std::move(*launched);
}

Error Launch::exec_monitor(const std::string& monitor, runtime::Launched& l, const AttachFds* att,
                           int64_t backoff_ms) {
  const auto& cfg = c_.config;
  std::vector<std::string> args = {monitor,
                                   "--hull",
                                   hull_binary(),
                                   "--root",
                                   root_,
                                   "--run-root",
                                   run_root_,
                                   "--id",
                                   cfg.id,
                                   "--backoff",
                                   std::to_string(backoff_ms)};
  std::vector<int> keep;
  auto fd_arg = [&](const char* name, int fd) {
    if (fd < 0) return;
    args.push_back(name);
    args.push_back(std::to_string(fd));
    keep.push_back(fd);
  };
  args.insert(args.end(), {"--pid", std::to_string(l.state.pid)});
  fd_arg("--pidfd", l.pidfd.get());
  fd_arg("--stdout", out_r_.get());
  fd_arg("--stderr", err_r_.get());
  fd_arg("--console", console_.get());
  fd_arg("--stdin-keep", stdin_keep_.get());
  args.insert(args.end(), {"--log", dir_ + "/" + cfg.id + "-json.log", "--log-max-size",
                           std::to_string(cfg.log_max_size), "--log-max-file",
                           std::to_string(cfg.log_max_file)});
  if (att && att->out >= 0) {
    fd_arg("--report", att->report);
    fd_arg("--control", att->control);
    fd_arg("--attach-in", att->in);
    fd_arg("--attach-out", att->out);
    fd_arg("--attach-err", att->err);
    if (cfg.interactive) args.push_back("--interactive");
    if (!att->detach_keys.empty()) {
      std::string hex;
      for (unsigned char k : att->detach_keys) hex += fmt::format("{:02x}", k);
      args.insert(args.end(), {"--detach-keys", hex});
    }
  }
  // A program that exits within kInProcessWaitMs (`run --rm true`, an `echo`) is watched
  // in this process: the same code, without exec'ing hull-monitor and, for --rm, without
  // exec'ing hull after it. Meanwhile its output waits in the pipes (64 KiB each).
  pollfd exited{l.pidfd.get(), POLLIN, 0};
  const bool in_process = exited.fd >= 0 && ::poll(&exited, 1, kInProcessWaitMs) == 1;
  // Only what is named on the command line crosses the exec (or stays open).
  std::sort(keep.begin(), keep.end());
  const unsigned flags = in_process ? 0 : CLOSE_RANGE_CLOEXEC;
  unsigned next = 3;
  for (int fd : keep) {
    if (static_cast<unsigned>(fd) > next) ::syscall(SYS_close_range, next, fd - 1, flags);
    ::fcntl(fd, F_SETFD, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, next, ~0U, flags);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (in_process) {
    in_process_ = {root_, run_root_, cfg.id};
    ::_exit(hull_monitor_main(static_cast<int>(args.size()), argv.data()));
  }
  ::execv(monitor.c_str(), argv.data());
  return Error{errno, fmt::format("exec {}: {}", monitor, errno_string(errno))};
}

void ignore_terminal_signals() {
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTTOU, SIGTTIN, SIGTSTP, SIGWINCH})
    ::signal(s, SIG_IGN);
}

std::string one_line(std::string msg) {
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  return msg;
}

// Where the host's hull is, once this process runs from a sealed copy of it
// (reexec_sealed_hull): set before the re-exec, read only when /proc/self/exe is a memfd.
constexpr const char* kHullBinaryEnv = "_HULL_BINARY";

// The container at the end of a chain of `mode` joins that starts at c (A joined B's,
// which joined C's: C). A link that is gone ends it there; one that comes back to a
// container already on the chain (self's included) is an error. A --network link keeps the
// name it was given, so it comes back to self also by self's name: at create, when self
// has no record yet for the name to find.
Result<Container> chain_owner(Db& db, Container c, std::string ContainerConfig::*mode,
                              std::string_view flag, const ContainerConfig& self) {
  std::vector<std::string> seen = {self.id};
  const std::string first = c.config.name;
  while (joins_container(c.config.*mode)) {
    seen.push_back(c.config.id);
    if (container_of_mode(c.config.*mode) == self.name)
      return failf("{} container:{}: its chain of container: modes comes back to \"{}\"", flag,
                   first, self.name);
    auto next = db.find(container_of_mode(c.config.*mode));
    if (!next) break;
    if (std::find(seen.begin(), seen.end(), next->config.id) != seen.end())
      return failf("{} container:{}: its chain of container: modes comes back to \"{}\"", flag,
                   first, next->config.name);
    if (seen.size() > 16) return failf("{} container:{}: too long a chain of joins", flag, first);
    c = std::move(*next);
  }
  return c;
}

// As docker's Config.Hostname: a joiner of owner's uts or network namespace takes its
// hostname, in the record too, so exec and inspect agree with the running program; and
// its /etc/hostname. A HOSTNAME the user set with -e stays.
void take_hostname(const std::string& root, const Container& owner, ContainerConfig& cfg,
                   oci::Spec& spec, bool& changed) {
  for (auto& m : spec.mounts)
    if (m.destination == "/etc/hostname")
      m.source = fmt::format("{}/containers/{}/hostname", root, owner.config.id);
  if (owner.config.hostname.empty()) return;  // --uts host
  const std::string mine = "HOSTNAME=" + cfg.hostname, theirs = "HOSTNAME=" + owner.config.hostname;
  if (!joins_container(cfg.uts_mode)) spec.hostname = owner.config.hostname;
  for (auto* env : {&spec.process->env, &cfg.env})
    for (auto& e : *env)
      if (e == mine) e = theirs;
  if (cfg.hostname == owner.config.hostname) return;
  cfg.hostname = owner.config.hostname;
  changed = true;
}

// --ipc container:NAME: the owner's /dev/shm, which docker lets a joiner share only when
// the owner made it shareable (a tmpfs of the host's) or uses the host's.
Status share_shm(const std::string& root, const Container& owner, std::string_view mode,
                 oci::Spec& spec) {
  std::string source;
  if (owner.config.ipc_mode == "host") {
    source = "/dev/shm";
  } else {
    source = fmt::format("{}/containers/{}/shm", root, owner.config.id);
    struct stat shm {
    }, dir{};
    if (owner.config.ipc_mode != "shareable" || ::stat(source.c_str(), &shm) < 0 ||
        ::stat(source.substr(0, source.rfind('/')).c_str(), &dir) < 0 || shm.st_dev == dir.st_dev)
      return failf(
          "--ipc {}: container \"{}\" has a non-shareable IPC namespace (run it with --ipc "
          "shareable)",
          mode, owner.config.name);
  }
  for (auto& m : spec.mounts)
    if (m.destination == "/dev/shm") m.source = source;
  return {};
}

// NAME's record: another container than self (which, at create, has no record yet to be
// found by its name).
Result<Container> find_peer(Db& db, std::string_view flag, std::string_view mode,
                            const ContainerConfig& self) {
  const std::string_view name = container_of_mode(mode);
  if (name == self.name) return failf("{} {}: cannot join itself", flag, mode);
  auto peer = db.find(name);
  if (!peer) return std::unexpected(peer.error().wrap(fmt::format("{} {}", flag, mode)));
  if (peer->config.id == self.id) return failf("{} {}: cannot join itself", flag, mode);
  return peer;
}

}  // namespace

Result<JoinTarget> resolve_join(Db& db, const runtime::StateStore& store, std::string_view flag,
                                std::string_view mode, const ContainerConfig& self) {
  const std::string_view name = container_of_mode(mode);
  auto peer = HULL_TRY(find_peer(db, flag, mode, self));
  auto rs = store.load(peer.config.id);
  if ((peer.state.status != ContainerStatus::running &&
       peer.state.status != ContainerStatus::paused) ||
      !rs || rs->pid <= 0 || !runtime::process_alive(rs->pid, rs->pid_start_time))
    return failf("{} {}: container \"{}\" is not running", flag, mode, name);
  return JoinTarget{std::move(peer), rs->pid};
}

Status join_containers(Db& db, const runtime::StateStore& store, const std::string& root,
                       ContainerConfig& cfg, oci::Spec& spec, bool network, bool& changed) {
  struct Kind {
    std::string ContainerConfig::*mode;
    const char* flag;
    oci::NamespaceType type;
    const char* ns;
  };
  static const Kind kKinds[] = {
      {&ContainerConfig::network, "--network", oci::NamespaceType::network, "net"},
      {&ContainerConfig::ipc_mode, "--ipc", oci::NamespaceType::ipc, "ipc"},
      {&ContainerConfig::uts_mode, "--uts", oci::NamespaceType::uts, "uts"},
      {&ContainerConfig::pid_mode, "--pid", oci::NamespaceType::pid, "pid"}};
  for (const Kind& k : kKinds) {
    std::string& mode = cfg.*k.mode;
    if (!joins_container(mode)) continue;
    if (k.type == oci::NamespaceType::network && !network) {
      // At create: NAME must exist and its chain must not come back here (errors before
      // anything is made); whether it runs is a start's question, as with docker, which
      // creates a joiner beside a stopped NAME.
      auto peer = HULL_TRY(find_peer(db, k.flag, mode, cfg));
      HULL_TRY(chain_owner(db, std::move(peer), k.mode, k.flag, cfg));
      continue;
    }
    auto target = HULL_TRY(resolve_join(db, store, k.flag, mode, cfg));
    set_namespace_path(spec, k.type, fmt::format("/proc/{}/ns/{}", target.pid, k.ns));
    const std::string given = mode;
    if (k.type != oci::NamespaceType::network &&
        mode != "container:" + target.container.config.id) {
      mode = "container:" + target.container.config.id;  // docker's HostConfig: the id
      changed = true;
    }
    if (k.type == oci::NamespaceType::pid) continue;
    auto owner = HULL_TRY(chain_owner(db, std::move(target.container), k.mode, k.flag, cfg));
    if (k.type == oci::NamespaceType::ipc) {
      HULL_CHECK(share_shm(root, owner, given, spec));
    } else if (k.type == oci::NamespaceType::uts) {
      take_hostname(root, owner, cfg, spec, changed);
    } else {
      // docker's rule for --network container:NAME: the joiner bind-mounts the owner's own
      // /etc/hosts and /etc/resolv.conf (the same files, so src/net's in-place rewrites of
      // hosts reach both) and, unless it joined another uts namespace, its hostname.
      const std::string dir = fmt::format("{}/containers/{}", root, owner.config.id);
      const bool own_uts = !joins_container(cfg.uts_mode);
      for (auto& m : spec.mounts)
        for (std::string_view f : {"hosts", "hostname", "resolv.conf"})
          if (m.destination == fmt::format("/etc/{}", f) && (own_uts || f != "hostname"))
            m.source = fmt::format("{}/{}", dir, f);
      if (own_uts && !spec.hostname.empty()) take_hostname(root, owner, cfg, spec, changed);
    }
  }
  return {};
}

std::string hull_binary() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "/proc/self/exe";
  // A memfd's link reads "/memfd:NAME (deleted)".
  if (p.string().starts_with("/memfd:"))
    if (const char* real = ::getenv(kHullBinaryEnv); real && *real) return real;
  return p.string();
}

Status reexec_sealed_hull() {
  // In the copy, hull_binary() is the variable's value already; the runtime's call clears
  // its own loop guard there, which must not reach the monitor's later `hull __relaunch`.
  ::setenv(kHullBinaryEnv, hull_binary().c_str(), 1);
  return runtime::reexec_from_sealed_copy();
}

Result<std::string> find_monitor_binary() {
  std::string path;
  if (const char* env = ::getenv("HULL_MONITOR"); env && *env)
    path = env;
  else
    path = (std::filesystem::path(hull_binary()).parent_path() / "hull-monitor").string();
  if (::access(path.c_str(), X_OK) != 0)
    return sys_failf("hull-monitor {} (installed next to hull; or set HULL_MONITOR)", path);
  return path;
}

namespace {

// The forked monitor: launches the container, reports to the CLI, becomes hull-monitor.
[[noreturn]] void monitor_main(MonitorContext& ctx, Launch& launch) {
  // Its own session (see monitor.hpp); the CLI blocked every signal around fork. The
  // monitor takes SIGTERM as "stop restarting" (hull-monitor reads it during the back-off)
  // and ignores the terminal's.
  ::setsid();
  AttachFds att{ctx.report_fd, ctx.control_fd};
  att.detach_keys = ctx.detach_keys;
  if (ctx.attach) {
    att.in = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
    att.out = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
    att.err = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  }
  int null = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
  if (null > 2) ::close(null);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ignore_terminal_signals();
  ::sigprocmask(SIG_SETMASK, &term, nullptr);
  // The CLI's SQLite files among them: closed, never used.
  close_other_fds({att.report, att.control, att.in, att.out, att.err});
  if (::chdir("/") < 0) _exit(kExitEngine);

  auto launched = launch.run(ctx.attach ? att.in : -1, ctx.early ? att.control : -1);
  if (!launched) {
    int code = launch_exit_code(launched.error());
    write_all(att.report, fmt::format("err {} {}\n", code, one_line(launched.error().message)));
    ::_exit(code);
  }
  write_all(att.report, fmt::format("ok {} {}\n", launched->state.pid,
                                    launch.running(*launched).to_json().dump()));
  // Until the CLI recorded the launch ("g", or EOF if it died): else a quick program's
  // exit could be recorded first, by hull __exited, and then overwritten.
  (void)read_byte(att.control);
  if (!ctx.attach) {
    ::close(att.report);
    ::close(att.control);
    att.report = att.control = -1;
  }
  Error e = launch.exec_monitor(ctx.monitor_path, *launched, &att, kBackoffStartMs);
  // No monitor: the container cannot be watched, so it does not run. `hull __exited`
  // records that, as after any exit (this process may not open a database).
  launch.undo();
  write_all(att.err, fmt::format("hull: {}\n", one_line(e.message)));
  std::string self = hull_binary(), id = ctx.container.config.id,
              report = std::to_string(att.report);
  std::string status = std::to_string(kExitEngine);
  std::vector<char*> argv = {self.data(),
                             const_cast<char*>("--root"),
                             ctx.root.data(),
                             const_cast<char*>("--run-root"),
                             ctx.run_root.data(),
                             const_cast<char*>("__exited"),
                             const_cast<char*>("--id"),
                             id.data(),
                             const_cast<char*>("--status"),
                             status.data()};
  if (att.report >= 0) {
    ::fcntl(att.report, F_SETFD, 0);
    argv.insert(argv.end(), {const_cast<char*>("--report"), report.data()});
  }
  argv.push_back(nullptr);
  ::execv(self.c_str(), argv.data());
  write_all(att.report, fmt::format("exit {}\n", kExitEngine));
  ::_exit(kExitEngine);
}

}  // namespace

namespace {

// Forks the monitor with every signal blocked across the fork (monitor_main sets its own);
// the child never returns.
Result<pid_t> fork_monitor(MonitorContext& ctx, Launch& launch) {
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &old);
  pid_t pid = ::fork();
  if (pid == 0) {
    launch.forget_databases();
    monitor_main(ctx, launch);
  }
  int err = errno;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return sys_fail("fork monitor", err);
  return pid;
}

}  // namespace

Result<pid_t> spawn_monitor_early(MonitorContext& ctx) {
  ctx.early = true;
  Launch launch(ctx.root, ctx.run_root, ctx.container, std::move(ctx.spec), nullptr, nullptr);
  return fork_monitor(ctx, launch);
}

Result<pid_t> spawn_monitor(MonitorContext& ctx, Db& db, image::Store* images) {
  Launch launch(ctx.root, ctx.run_root, ctx.container, std::move(ctx.spec), &db, images);
  HULL_CHECK(launch.prepare());
  auto pid = fork_monitor(ctx, launch);
  if (!pid) launch.unprepare();
  return pid;
}

void remove_exited(const ContainerConfig& cfg, const std::string& root, const std::string& run_root,
                   int status, Db& db, image::Store* images) {
  teardown_network(cfg, root, run_root);
  (void)release_image(cfg, root, images);
  (void)db.remove_with_exit(cfg.id, status);
  remove_anonymous_volumes(db, cfg);  // docker's --rm: "and its anonymous volumes"
}

namespace {

int exited(const MonitorHandover& h) {
  if (h.removed) {
    // After remove_exited: no record, no database to open.
    runtime::StateStore store(h.run_root + "/runtime");
    (void)runtime::destroy(store, h.id, true);
    const std::string dir = h.root + "/containers/" + h.id;
    (void)release_rootfs(ContainerConfig{}, h.root, dir);  // an image's overlay, if any
    (void)fs::remove_all(dir);
    return 0;
  }
  auto db = Db::open(h.root);
  if (!db) {
    // No database: what is ours to undo is the runtime's.
    runtime::StateStore store(h.run_root + "/runtime");
    (void)runtime::destroy(store, h.id, true);
    write_all(h.report_fd, fmt::format("exit {}\n", h.status));
    return 0;
  }
  return finish_exit(h, *db, nullptr);
}

}  // namespace

}  // namespace hull::engine

// hull-monitor.c's hand-over, in the monitor's process when exec_monitor ran its code
// there. --rm's clean-up after the CLI removed the record needs no database: done here,
// unless a WAL is due for trim_wal. Anything else is a fresh hull's: this process is a
// fork of the CLI, and SQLite's per-process lock and WAL-index state, the CLI's, is not
// this process's to reuse (the databases are opened only after an exec).
extern "C" void hull_monitor_handover(const char* verb, int removed, int report_fd) {
  using namespace hull;
  using namespace hull::engine;
  if (!in_process_ || std::string_view(verb) != "__exited" || !removed || report_fd >= 0) return;
  // Called from C: nothing may unwind through it. Whatever throws is the exec'd hull's.
  try {
    for (const char* db : kTrimmedDbs)
      if (sqlite::wal_needs_trim(in_process_->root + db, sqlite::kTrimFrames)) return;
    MonitorHandover h;
    h.root = in_process_->root;
    h.run_root = in_process_->run_root;
    h.id = in_process_->id;
    h.removed = true;
    ::_exit(exited(h));
  } catch (...) {
  }
}

namespace hull::engine {

int monitor_exited(const MonitorHandover& h) {
  ignore_terminal_signals();
  int rc = exited(h);
  // Every CLI commit adds to the WALs and no CLI should pay for folding them: the exit
  // of a container is the moment no one waits for (an attached CLI already returned).
  for (const char* db : kTrimmedDbs) sqlite::trim_wal(h.root + db, sqlite::kTrimFrames);
  return rc;
}

int finish_exit(const MonitorHandover& h, Db& db, image::Store* images) {
  runtime::StateStore store(h.run_root + "/runtime");
  auto report = [&](int code) {
    write_all(h.report_fd, fmt::format("exit {}\n", code));
    if (h.report_fd >= 0) ::close(h.report_fd);
  };
  auto found = db.find(h.id);
  for (int attempt = 0; !found && found.error().code != ENOENT && attempt < 20; ++attempt) {
    ::usleep(100'000);
    found = db.find(h.id);
  }
  if (!found) {
    // Removed under us (rm -f): what is ours to undo is the runtime's.
    (void)runtime::destroy(store, h.id, true);
    report(h.status);
    return 0;
  }
  const Container c = std::move(*found);
  const std::string dir = h.root + "/containers/" + h.id;
  (void)runtime::destroy(store, h.id, true);
  teardown_network(c.config, h.root, h.run_root);
  (void)release_rootfs(c.config, h.root, dir);
  const int64_t finished = now_ns();
  if (c.config.auto_remove) {
    // Nothing reads the state of a record about to go.
    (void)remove_rootfs(c.config, h.root, dir, images);
    (void)fs::remove_all(dir);
    (void)db.remove_with_exit(h.id, h.status);
    remove_anonymous_volumes(db, c.config);
    report(h.status);
    return 0;
  }
  ContainerState st;
  save(&db, h.id, [&](ContainerState& s) {
    s.status = ContainerStatus::exited;
    s.exit_code = h.status;
    s.finished_at = finished;
    s.pid = 0;
    st = s;
  });
  // Returns as soon as it exited.
  report(h.status);

  const auto& p = c.config.restart;
  bool restart = p.kind != RestartPolicy::Kind::no && !st.manual_stop;
  if (restart && p.kind == RestartPolicy::Kind::on_failure)
    restart = h.status != 0 && (p.max_retries == 0 || st.restart_count < p.max_retries);
  if (restart) {
    // Docker's back-off: 100 ms doubling to a minute, reset by a run of 10 s or more.
    int64_t backoff = finished - st.started_at >= kResetAfterNs ? kBackoffStartMs : h.backoff_ms;
    save(&db, h.id, [](ContainerState& s) {
      s.status = ContainerStatus::restarting;
      s.restart_count += 1;
    });
    auto monitor = find_monitor_binary();
    if (monitor) {
      std::string self = hull_binary();
      std::string sleep_ms = std::to_string(backoff);
      std::string next = std::to_string(std::min(backoff * 2, kBackoffMaxMs));
      std::string root = h.root, run_root = h.run_root, id = h.id;
      char* argv[] = {monitor->data(), const_cast<char*>("--hull"),
                      self.data(),     const_cast<char*>("--root"),
                      root.data(),     const_cast<char*>("--run-root"),
                      run_root.data(), const_cast<char*>("--id"),
                      id.data(),       const_cast<char*>("--backoff"),
                      next.data(),     const_cast<char*>("--sleep"),
                      sleep_ms.data(), nullptr};
      ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
      ::execv(monitor->c_str(), argv);
      monitor =
          std::unexpected(Error{errno, fmt::format("exec {}: {}", *monitor, errno_string(errno))});
    }
    save(&db, h.id, [&](ContainerState& s) {
      s.status = ContainerStatus::exited;
      s.error = one_line(monitor.error().message);
    });
  }
  save(&db, h.id, [](ContainerState& s) {
    s.monitor_pid = 0;
    s.monitor_start = 0;
  });
  return 0;
}

int monitor_relaunch(const MonitorHandover& h) {
  ignore_terminal_signals();
  auto db = Db::open(h.root);
  if (!db) return kExitEngine;
  auto found = db->find(h.id);
  if (!found) return 0;  // removed during the back-off
  auto stopped = [&](std::string error, int code) {
    const int rc = error.empty() ? 0 : code;
    save(&*db, h.id, [&](ContainerState& s) {
      s.status = ContainerStatus::exited;
      if (!error.empty()) {
        s.error = std::move(error);
        s.exit_code = code;
      }
      s.pid = 0;
      s.monitor_pid = 0;
      s.monitor_start = 0;
    });
    return rc;
  };
  // SIGTERM from `hull stop` during the back-off, or its mark in the record: no restart.
  if (h.stop || found->state.manual_stop) return stopped("", 0);
  // CVE-2019-5736: as `hull run` does (docs/security.md); the copy runs this again.
  if (joins_container(found->config.pid_mode))
    if (auto r = reexec_sealed_hull(); !r) return stopped(one_line(r.error().message), kExitEngine);
  const std::string dir = h.root + "/containers/" + h.id;
  auto spec = oci::load_spec(dir);
  if (!spec) return stopped(one_line(spec.error().message), kExitEngine);
  auto monitor = find_monitor_binary();
  if (!monitor) return stopped(one_line(monitor.error().message), kExitEngine);
  Launch launch(h.root, h.run_root, *found, std::move(*spec), &*db, nullptr);
  if (auto r = launch.prepare(); !r) return stopped(one_line(r.error().message), kExitEngine);
  auto launched = launch.run(-1);
  if (!launched)
    return stopped(one_line(launched.error().message), launch_exit_code(launched.error()));
  launch.save_running(*launched);
  launch.forget_databases();
  db = std::unexpected(Error{});  // closed before exec
  Error e = launch.exec_monitor(*monitor, *launched, nullptr, h.backoff_ms);
  launch.undo();
  if (auto d = Db::open(h.root)) {
    db = std::move(*d);
    return stopped(one_line(e.message), kExitEngine);
  }
  return kExitEngine;
}

}  // namespace hull::engine

// The monitor's hull parts: the launch before hull-monitor takes over, and the exit
// hand-over after it (monitor.hpp draws the sequence).
#include "engine/monitor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/fs.hpp"
#include "engine/engine.hpp"
#include "engine/rootfs.hpp"
#include "engine/rootless.hpp"
#include "engine/spec_builder.hpp"
#include "net/network.hpp"
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

// Updates only the fields the monitor owns (`stop` writes manual_stop meanwhile); a
// record removed under us (rm -f) is left alone.
void save(Db* db, const std::string& id, const std::function<void(ContainerState&)>& change) {
  if (!db) return;
  auto cur = db->find(id);
  if (!cur) return;
  change(cur->state);
  (void)db->save_state(id, cur->state);
}

std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : p.string();
}

// --network none and bridge networks have a netns file of our own (and bridges an
// attachment); host and container:NAME have nothing to undo.
void teardown_network(const ContainerConfig& cfg, const std::string& root,
                      const std::string& run_root) {
  if (cfg.network == "host" || cfg.network.starts_with("container:")) return;
  if (cfg.network == "pasta")
    rootless::stop_network(run_root, cfg.id);
  else if (cfg.network != "none")
    if (auto nets = net::Networks::open(root)) (void)nets->detach(cfg.id);
  (void)net::remove_netns(run_root + "/netns/" + cfg.id);
}

// One launch of the container, by the first start and by every restart.
class Launch {
 public:
  Launch(std::string root, std::string run_root, Container c, oci::Spec spec, Db* db)
      : root_(std::move(root)),
        run_root_(std::move(run_root)),
        dir_(root_ + "/containers/" + c.config.id),
        c_(std::move(c)),
        spec_(std::move(spec)),
        db_(db),
        store_(run_root_ + "/runtime") {}

  // attach_in: the CLI's stdin when attached (-1 otherwise).
  std::expected<runtime::Launched, Error> run(int attach_in);
  // Replaces this process by hull-monitor watching `l`; returns only on failure.
  Error exec_monitor(const std::string& monitor, runtime::Launched& l, const MonitorContext* att,
                     int64_t backoff_ms);
  // Undoes a launch whose monitor could not start.
  void undo();
  // Records in the container's state that this launch runs.
  void save_running(const runtime::Launched& l) {
    save(db_, c_.config.id, [&](ContainerState& s) {
      s.status = ContainerStatus::running;
      s.pid = l.state.pid;
      s.started_at = now_ns();
      s.error.clear();
      s.exit_code = 0;
      s.ip = ip_;
      s.ports = ports_;
    });
  }
  const std::string& ip() const { return ip_; }
  const std::vector<PortMapping>& ports() const { return ports_; }

 private:
  Status setup_network();
  Status share_network_files(Container owner);
  std::string root_, run_root_, dir_;
  Container c_;
  oci::Spec spec_;
  Db* db_;
  runtime::StateStore store_;
  UniqueFd out_r_, err_r_, console_, stdin_keep_;
  std::string ip_;
  std::vector<PortMapping> ports_;  // as attached: -p 80's host port resolved
};

// The network namespace lives in a file of its own (so rm can always find and remove
// it): lo only for --network none, a veth on a bridge through src/net otherwise.
// container:NAME joins that container's namespace through its pid: nothing to undo.
Status Launch::setup_network() {
  const auto& cfg = c_.config;
  const std::string& id = cfg.id;
  if (cfg.network == "host") return {};
  if (cfg.network.starts_with("container:")) {
    const std::string other = cfg.network.substr(std::string_view("container:").size());
    if (!db_) return failf("--network {}: no container database", cfg.network);
    auto peer = db_->find(other);
    if (!peer) return std::unexpected(peer.error().wrap(fmt::format("--network {}", cfg.network)));
    if (peer->config.id == id) return failf("--network {}: cannot join itself", cfg.network);
    // The runtime's state has the pid with its start time: a stale pid is not joined.
    auto rs = store_.load(peer->config.id);
    if ((peer->state.status != ContainerStatus::running &&
         peer->state.status != ContainerStatus::paused) ||
        !rs || rs->pid <= 0 || !runtime::process_alive(rs->pid, rs->pid_start_time))
      return failf("--network {}: container \"{}\" is not running", cfg.network, other);
    std::string path = fmt::format("/proc/{}/ns/net", rs->pid);
    for (auto& ns : spec_.linux.namespaces)
      if (ns.type == oci::NamespaceType::network) ns.path = path;
    return share_network_files(*peer);
  }
  HULL_CHECK(fs::mkdir_p(run_root_ + "/netns", 0700));
  const std::string netns = run_root_ + "/netns/" + id;
  (void)net::remove_netns(netns);  // left by a killed monitor
  HULL_CHECK(net::create_netns(netns));
  for (auto& ns : spec_.linux.namespaces)
    if (ns.type == oci::NamespaceType::network) ns.path = netns;
  if (cfg.network == "none") return net::setup_loopback(netns);
  // Rootless (rootless.hpp): the netns belongs to the user namespace; pasta connects it.
  if (cfg.network == "pasta") {
    HULL_CHECK(net::setup_loopback(netns));
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
  req.hosts_path = dir_ + "/hosts";
  auto att = HULL_TRY(nets.attach(req));
  ip_ = att.ip;
  ports_.clear();
  for (const auto& p : att.ports)
    ports_.push_back({p.host_ip, p.host_port, p.container_port, p.proto});
  return {};
}

// docker's rule for container:NAME: the joiner bind-mounts the target's own /etc/hosts,
// /etc/hostname and /etc/resolv.conf (the same files, so src/net's in-place rewrites of
// hosts reach both) and takes its hostname. A target that joined another container
// itself uses that one's files.
Status Launch::share_network_files(Container owner) {
  for (int hops = 0; hops < 8 && owner.config.network.starts_with("container:"); ++hops) {
    auto next = db_->find(owner.config.network.substr(std::string_view("container:").size()));
    if (!next) break;
    owner = std::move(*next);
  }
  const std::string dir = root_ + "/containers/" + owner.config.id;
  for (auto& m : spec_.mounts)
    for (std::string_view f : {"hosts", "hostname", "resolv.conf"})
      if (m.destination == fmt::format("/etc/{}", f)) m.source = fmt::format("{}/{}", dir, f);
  if (spec_.hostname.empty() || owner.config.hostname.empty()) return {};  // --uts host
  // As docker's Config.Hostname: the record takes the owner's hostname too, so exec and
  // inspect agree with the running program. A HOSTNAME the user set with -e stays.
  ContainerConfig& cfg = c_.config;
  const std::string mine = "HOSTNAME=" + cfg.hostname, theirs = "HOSTNAME=" + owner.config.hostname;
  spec_.hostname = owner.config.hostname;
  for (auto* env : {&spec_.process->env, &cfg.env})
    for (auto& e : *env)
      if (e == mine) e = theirs;
  if (cfg.hostname == owner.config.hostname) return {};
  cfg.hostname = owner.config.hostname;
  return db_->save_config(cfg.id, cfg);
}

void Launch::undo() {
  (void)runtime::destroy(store_, c_.config.id, true);
  teardown_network(c_.config, root_, run_root_);
  (void)release_rootfs(c_.config, root_, dir_);
}

std::expected<runtime::Launched, Error> Launch::run(int attach_in) {
  const auto& cfg = c_.config;
  HULL_CHECK(prepare_rootfs(cfg, root_, dir_));
  if (!cfg.user.empty()) {
    auto u = resolve_user(spec_.root.path, cfg.user);
    if (!u) {
      (void)release_rootfs(cfg, root_, dir_);
      return std::unexpected(u.error());
    }
    spec_.process->user = *u;
  }
  if (auto r = setup_network(); !r) {
    teardown_network(cfg, root_, run_root_);
    (void)release_rootfs(cfg, root_, dir_);
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

Error Launch::exec_monitor(const std::string& monitor, runtime::Launched& l,
                           const MonitorContext* att, int64_t backoff_ms) {
  const auto& cfg = c_.config;
  std::vector<std::string> args = {monitor,
                                   "--hull",
                                   self_exe(),
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
  if (att && att->out_fd >= 0) {
    fd_arg("--report", att->report_fd);
    fd_arg("--control", att->control_fd);
    fd_arg("--attach-in", att->in_fd);
    fd_arg("--attach-out", att->out_fd);
    fd_arg("--attach-err", att->err_fd);
    if (cfg.interactive) args.push_back("--interactive");
  }
  // Only what is named on the command line crosses the exec.
  std::sort(keep.begin(), keep.end());
  unsigned next = 3;
  for (int fd : keep) {
    if (static_cast<unsigned>(fd) > next)
      ::syscall(SYS_close_range, next, fd - 1, CLOSE_RANGE_CLOEXEC);
    ::fcntl(fd, F_SETFD, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, next, ~0U, CLOSE_RANGE_CLOEXEC);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
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

}  // namespace

Result<std::string> find_monitor_binary() {
  std::string path;
  if (const char* env = ::getenv("HULL_MONITOR"); env && *env)
    path = env;
  else
    path = (std::filesystem::path(self_exe()).parent_path() / "hull-monitor").string();
  if (::access(path.c_str(), X_OK) != 0)
    return sys_failf("hull-monitor {} (installed next to hull; or set HULL_MONITOR)", path);
  return path;
}

[[noreturn]] void monitor_main(MonitorContext& ctx) {
  // The CLI blocked every signal around fork; the monitor takes SIGTERM as "stop
  // restarting" (hull-monitor reads it during the back-off) and ignores the terminal's.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ignore_terminal_signals();
  ::sigprocmask(SIG_SETMASK, &term, nullptr);
  close_other_fds({ctx.report_fd, ctx.control_fd, ctx.in_fd, ctx.out_fd, ctx.err_fd});
  if (::chdir("/") < 0) _exit(kExitEngine);

  std::optional<Db> db;
  if (auto d = Db::open(ctx.root)) db.emplace(std::move(*d));
  Db* dbp = db ? &*db : nullptr;
  const std::string id = ctx.container.config.id;
  {
    pid_t self = ::getpid();
    uint64_t start = runtime::process_start_time(self).value_or(0);
    save(dbp, id, [&](ContainerState& s) {
      s.monitor_pid = self;
      s.monitor_start = start;
    });
  }
  const bool attached = ctx.out_fd >= 0;
  Launch launch(ctx.root, ctx.run_root, ctx.container, std::move(ctx.spec), dbp);
  auto launched = launch.run(attached ? ctx.in_fd : -1);
  if (!launched) {
    int code = launch_exit_code(launched.error());
    std::string msg = one_line(launched.error().message);
    save(dbp, id, [&](ContainerState& s) {
      s.error = msg;
      s.exit_code = code;
      s.pid = 0;
      s.monitor_pid = 0;
    });
    write_all(ctx.report_fd, fmt::format("err {} {}\n", code, msg));
    ::_exit(code);
  }
  launch.save_running(*launched);
  write_all(ctx.report_fd, fmt::format("ok {}\n", launched->state.pid));
  db.reset();
  Error e = launch.exec_monitor(ctx.monitor_path, *launched, &ctx, kBackoffStartMs);
  // No monitor: the container cannot be watched, so it does not run.
  launch.undo();
  if (auto d = Db::open(ctx.root))
    save(&*d, id, [&](ContainerState& s) {
      s.status = ContainerStatus::exited;
      s.error = one_line(e.message);
      s.exit_code = kExitEngine;
      s.pid = 0;
      s.monitor_pid = 0;
    });
  write_all(ctx.report_fd, fmt::format("exit {}\n", kExitEngine));
  ::_exit(kExitEngine);
}

int monitor_exited(const MonitorHandover& h) {
  ignore_terminal_signals();
  return finish_exit(h);
}

int finish_exit(const MonitorHandover& h) {
  auto db = Db::open(h.root);
  runtime::StateStore store(h.run_root + "/runtime");
  auto report = [&](int code) {
    write_all(h.report_fd, fmt::format("exit {}\n", code));
    if (h.report_fd >= 0) ::close(h.report_fd);
  };
  auto found = db ? db->find(h.id) : Result<Container>(std::unexpected(db.error()));
  if (!found) {
    // Removed under us (rm -f) or no database: what is ours to undo is the runtime's.
    (void)runtime::destroy(store, h.id, true);
    report(h.status);
    return 0;
  }
  const Container c = std::move(*found);
  const std::string dir = h.root + "/containers/" + h.id;
  const bool auto_remove = c.config.auto_remove;
  const bool leave_rootfs = h.leave_rootfs && auto_remove;
  (void)runtime::destroy(store, h.id, true);
  teardown_network(c.config, h.root, h.run_root);
  if (!leave_rootfs) (void)release_rootfs(c.config, h.root, dir);
  const int64_t finished = now_ns();
  ContainerState st;
  save(&*db, h.id, [&](ContainerState& s) {
    s.status = ContainerStatus::exited;
    s.exit_code = h.status;
    s.finished_at = finished;
    s.pid = 0;
    st = s;
  });
  // `run --rm` returns once the container is gone; others as soon as it exited.
  if (!auto_remove && h.report_fd >= 0) report(h.status);

  const auto& p = c.config.restart;
  bool restart = p.kind != RestartPolicy::Kind::no && !auto_remove && !st.manual_stop;
  if (restart && p.kind == RestartPolicy::Kind::on_failure)
    restart = h.status != 0 && (p.max_retries == 0 || st.restart_count < p.max_retries);
  if (restart) {
    // Docker's back-off: 100 ms doubling to a minute, reset by a run of 10 s or more.
    int64_t backoff = finished - st.started_at >= kResetAfterNs ? kBackoffStartMs : h.backoff_ms;
    save(&*db, h.id, [](ContainerState& s) {
      s.status = ContainerStatus::restarting;
      s.restart_count += 1;
    });
    auto monitor = find_monitor_binary();
    if (monitor) {
      std::string self = self_exe();
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
    save(&*db, h.id, [&](ContainerState& s) {
      s.status = ContainerStatus::exited;
      s.error = one_line(monitor.error().message);
    });
  }
  save(&*db, h.id, [](ContainerState& s) {
    s.monitor_pid = 0;
    s.monitor_start = 0;
  });
  if (auto_remove) {
    if (leave_rootfs) {
      (void)release_image(c.config, h.root);
    } else {
      (void)remove_rootfs(c.config, h.root, dir);
      (void)fs::remove_all(dir);
    }
    (void)db->remove_with_exit(h.id, h.status);
    if (h.report_fd >= 0) report(h.status);
  }
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
  const std::string dir = h.root + "/containers/" + h.id;
  auto spec = oci::load_spec(dir);
  if (!spec) return stopped(one_line(spec.error().message), kExitEngine);
  auto monitor = find_monitor_binary();
  if (!monitor) return stopped(one_line(monitor.error().message), kExitEngine);
  Launch launch(h.root, h.run_root, *found, std::move(*spec), &*db);
  auto launched = launch.run(-1);
  if (!launched)
    return stopped(one_line(launched.error().message), launch_exit_code(launched.error()));
  launch.save_running(*launched);
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

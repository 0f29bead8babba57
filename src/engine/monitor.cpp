// The monitor's loop. It allocates nothing per byte of output: fixed buffers, one log
// record buffer reused.
#include "engine/monitor.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>

#include "common/fs.hpp"
#include "engine/engine.hpp"
#include "engine/logs.hpp"
#include "engine/rootfs.hpp"
#include "engine/spec_builder.hpp"
#include "net/network.hpp"
#include "runtime/container.hpp"

namespace hull::engine {
namespace {

constexpr int kCtrlP = 0x10, kCtrlQ = 0x11;
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

void report(int& fd, std::string_view line) {
  if (fd < 0) return;
  write_all(fd, line);
}

void set_nonblock(int fd) {
  if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
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

class Monitor {
 public:
  explicit Monitor(MonitorContext& ctx)
      : ctx_(ctx),
        id_(ctx.container.config.id),
        store_(ctx.run_root + "/runtime"),
        log_(ctx.container_dir + "/" + ctx.container.config.id + "-json.log",
             ctx.container.config.log_max_size, ctx.container.config.log_max_file) {}

  int run();

 private:
  // Updates only the fields the monitor owns; `stop` writes manual_stop meanwhile.
  void save(const std::function<void(ContainerState&)>& change) {
    if (!db_) return;
    auto cur = db_->find(id_);
    if (!cur) return;  // removed under us (rm -f)
    change(cur->state);
    state_ = cur->state;
    (void)db_->save_state(id_, cur->state);
  }
  bool manual_stop() {
    if (!db_) return false;
    auto cur = db_->find(id_);
    return !cur || cur->state.manual_stop;
  }
  std::expected<runtime::Launched, Error> launch_once();
  Status setup_network();
  void share_network_files(Container owner);
  void teardown_network();
  int supervise(runtime::Launched& l);
  void pump(int fd, std::string_view stream, int& attach_fd);
  void from_terminal();
  void detach();
  bool should_restart(int code);

  MonitorContext& ctx_;
  std::string id_;
  runtime::StateStore store_;
  LogWriter log_;
  std::optional<Db> db_;
  ContainerState state_;
  UniqueFd sigfd_;
  UniqueFd out_r_, err_r_, console_, stdin_keep_;
  bool attached_ = false;
  std::string netns_path_;
  bool net_attached_ = false;
  std::string ip_;
  std::vector<PortMapping> ports_;  // as attached: -p 80's host port resolved
  bool saw_ctrl_p_ = false;
  char buf_[16384];
};

// The network namespace lives in a file of its own (so rm can always find and remove
// it): lo only for --network none, a veth on a bridge through src/net otherwise.
// container:NAME joins that container's namespace through its pid: nothing to undo.
Status Monitor::setup_network() {
  const auto& cfg = ctx_.container.config;
  if (cfg.network == "host") return {};
  if (cfg.network.starts_with("container:")) {
    const std::string other = cfg.network.substr(std::string_view("container:").size());
    if (!db_) return failf("--network {}: no container database", cfg.network);
    auto peer = db_->find(other);
    if (!peer) return std::unexpected(peer.error().wrap(fmt::format("--network {}", cfg.network)));
    if (peer->config.id == id_) return failf("--network {}: cannot join itself", cfg.network);
    // The runtime's state has the pid with its start time: a stale pid is not joined.
    auto rs = store_.load(peer->config.id);
    if ((peer->state.status != ContainerStatus::running &&
         peer->state.status != ContainerStatus::paused) ||
        !rs || rs->pid <= 0 || !runtime::process_alive(rs->pid, rs->pid_start_time))
      return failf("--network {}: container \"{}\" is not running", cfg.network, other);
    std::string path = fmt::format("/proc/{}/ns/net", rs->pid);
    for (auto& ns : ctx_.spec.linux.namespaces)
      if (ns.type == oci::NamespaceType::network) ns.path = path;
    share_network_files(*peer);
    return {};
  }
  HULL_CHECK(fs::mkdir_p(ctx_.run_root + "/netns", 0700));
  netns_path_ = ctx_.run_root + "/netns/" + id_;
  (void)net::remove_netns(netns_path_);  // left by a killed monitor
  if (auto r = net::create_netns(netns_path_); !r) {
    netns_path_.clear();
    return std::unexpected(r.error());
  }
  for (auto& ns : ctx_.spec.linux.namespaces)
    if (ns.type == oci::NamespaceType::network) ns.path = netns_path_;
  if (cfg.network == "none") return net::setup_loopback(netns_path_);
  auto nets = HULL_TRY(net::Networks::open(ctx_.root));
  net::AttachRequest req;
  req.container_id = id_;
  req.container_name = cfg.name;
  req.hostname = cfg.hostname;
  req.netns_path = netns_path_;
  req.network = cfg.network;
  for (const auto& p : cfg.ports)
    req.ports.push_back({p.host_ip, p.host_port, p.container_port, p.proto, p.host_port_last});
  req.aliases = cfg.network_aliases;
  req.extra_hosts = cfg.extra_hosts;
  req.ip = cfg.ip;
  req.hosts_path = ctx_.container_dir + "/hosts";
  auto att = HULL_TRY(nets.attach(req));
  net_attached_ = true;
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
void Monitor::share_network_files(Container owner) {
  for (int hops = 0; hops < 8 && owner.config.network.starts_with("container:"); ++hops) {
    auto next = db_->find(owner.config.network.substr(std::string_view("container:").size()));
    if (!next) break;
    owner = std::move(*next);
  }
  const std::string dir = ctx_.root + "/containers/" + owner.config.id;
  for (auto& m : ctx_.spec.mounts)
    for (std::string_view f : {"hosts", "hostname", "resolv.conf"})
      if (m.destination == fmt::format("/etc/{}", f)) m.source = fmt::format("{}/{}", dir, f);
  oci::Spec& spec = ctx_.spec;
  if (spec.hostname.empty() || owner.config.hostname.empty()) return;  // --uts host
  spec.hostname = owner.config.hostname;
  for (auto& e : spec.process->env)
    if (e.starts_with("HOSTNAME=")) e = "HOSTNAME=" + owner.config.hostname;
}

void Monitor::teardown_network() {
  if (net_attached_) {
    if (auto nets = net::Networks::open(ctx_.root)) (void)nets->detach(id_);
    net_attached_ = false;
  }
  if (!netns_path_.empty()) {
    (void)net::remove_netns(netns_path_);
    netns_path_.clear();
  }
}

std::expected<runtime::Launched, Error> Monitor::launch_once() {
  const auto& cfg = ctx_.container.config;
  HULL_CHECK(prepare_rootfs(cfg, ctx_.root, ctx_.container_dir));
  oci::Spec& spec = ctx_.spec;
  if (!cfg.user.empty()) {
    auto u = resolve_user(spec.root.path, cfg.user);
    if (!u) {
      (void)release_rootfs(cfg, ctx_.root, ctx_.container_dir);
      return std::unexpected(u.error());
    }
    spec.process->user = *u;
  }
  if (auto r = setup_network(); !r) {
    teardown_network();
    (void)release_rootfs(cfg, ctx_.root, ctx_.container_dir);
    return std::unexpected(r.error().wrap("network"));
  }
  // The program's stdio: a pty (the runtime makes it), or pipes to this monitor.
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd in_r, out_w, err_w;
  int fds[2];
  if (!spec.process->terminal) {
    if (cfg.interactive && attached_ && ctx_.in_fd >= 0) {
      in_r.reset(::fcntl(ctx_.in_fd, F_DUPFD_CLOEXEC, 3));
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
  opts.id = id_;
  opts.bundle = ctx_.container_dir;
  auto launched = runtime::launch(store_, opts, runtime::LaunchMode::run, spec);
  // The monitor keeps no write end of the program's output: EOF must mean it closed.
  ::dup2(null.get(), 0);
  ::dup2(null.get(), 1);
  ::dup2(null.get(), 2);
  if (!launched) {
    (void)runtime::destroy(store_, id_, true);
    teardown_network();
    (void)release_rootfs(cfg, ctx_.root, ctx_.container_dir);
    return std::unexpected(launched.error());
  }
  console_ = std::move(launched->console);
  set_nonblock(out_r_.get());
  set_nonblock(err_r_.get());
  set_nonblock(console_.get());
  if (console_ && attached_ && ctx_.in_fd >= 0) {
    winsize ws{};
    if (::ioctl(ctx_.in_fd, TIOCGWINSZ, &ws) == 0) ::ioctl(console_.get(), TIOCSWINSZ, &ws);
  }
  return std::move(*launched);
}

void Monitor::detach() {
  if (!attached_) return;
  attached_ = false;
  for (int* fd : {&ctx_.in_fd, &ctx_.out_fd, &ctx_.err_fd, &ctx_.control_fd})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
}

// Copies what the program wrote to the log and, when attached, to the CLI's terminal.
void Monitor::pump(int fd, std::string_view stream, int& attach_fd) {
  for (;;) {
    ssize_t n = ::read(fd, buf_, sizeof buf_);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    std::string_view data(buf_, static_cast<size_t>(n));
    log_.write(stream, data);
    if (attached_ && attach_fd >= 0) {
      for (std::string_view s = data; !s.empty();) {
        ssize_t w = ::write(attach_fd, s.data(), s.size());
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          attach_fd = -1;  // the CLI went away: keep logging
          break;
        }
        s.remove_prefix(static_cast<size_t>(w));
      }
    }
    if (static_cast<size_t>(n) < sizeof buf_) return;
  }
}

// The CLI's keyboard to the pty, watching for ctrl-p ctrl-q.
void Monitor::from_terminal() {
  ssize_t n = ::read(ctx_.in_fd, buf_, sizeof buf_);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    ::close(ctx_.in_fd);
    ctx_.in_fd = -1;
    return;
  }
  std::string out;
  for (ssize_t i = 0; i < n; ++i) {
    unsigned char ch = static_cast<unsigned char>(buf_[i]);
    if (saw_ctrl_p_) {
      saw_ctrl_p_ = false;
      if (ch == kCtrlQ) {
        write_all(console_.get(), out);
        report(ctx_.report_fd, "detached\n");
        detach();
        return;
      }
      out += static_cast<char>(kCtrlP);
    }
    if (ch == kCtrlP) {
      saw_ctrl_p_ = true;
      continue;
    }
    out += static_cast<char>(ch);
  }
  write_all(console_.get(), out);
}

int Monitor::supervise(runtime::Launched& l) {
  int pidfd = l.pidfd.get();
  for (;;) {
    pollfd p[6] = {
        {pidfd, POLLIN, 0},
        {out_r_ ? out_r_.get() : -1, POLLIN, 0},
        {err_r_ ? err_r_.get() : -1, POLLIN, 0},
        {console_ ? console_.get() : -1, POLLIN, 0},
        {attached_ && console_ && ctx_.in_fd >= 0 && ctx_.container.config.interactive ? ctx_.in_fd
                                                                                       : -1,
         POLLIN, 0},
        {attached_ ? ctx_.control_fd : -1, POLLIN, 0},
    };
    int r = ::poll(p, 6, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return kExitEngine;
    if (p[1].revents) {
      pump(out_r_.get(), "stdout", ctx_.out_fd);
      if (p[1].revents & (POLLHUP | POLLERR) && !(p[1].revents & POLLIN)) out_r_.reset();
    }
    if (p[2].revents) {
      pump(err_r_.get(), "stderr", ctx_.err_fd);
      if (p[2].revents & (POLLHUP | POLLERR) && !(p[2].revents & POLLIN)) err_r_.reset();
    }
    if (p[3].revents) {
      pump(console_.get(), "stdout", ctx_.out_fd);
      // The slave closed by every process: keep the master for the exit drain only.
      if (p[3].revents & (POLLHUP | POLLERR) && !(p[3].revents & POLLIN)) console_.reset();
    }
    if (p[4].revents) from_terminal();
    if (p[5].revents) {
      char c[16];
      ssize_t n = ::read(ctx_.control_fd, c, sizeof c);
      if (n <= 0) {
        detach();  // the CLI is gone (killed, or its terminal closed)
      } else if (console_ && ctx_.in_fd >= 0) {
        winsize ws{};
        if (::ioctl(ctx_.in_fd, TIOCGWINSZ, &ws) == 0) ::ioctl(console_.get(), TIOCSWINSZ, &ws);
      }
    }
    if (p[0].revents & POLLIN) {
      siginfo_t info{};
      int status = kExitEngine;
      if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) == 0)
        status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
      // What the program wrote last is still in the pipes.
      if (out_r_) pump(out_r_.get(), "stdout", ctx_.out_fd);
      if (err_r_) pump(err_r_.get(), "stderr", ctx_.err_fd);
      if (console_) pump(console_.get(), "stdout", ctx_.out_fd);
      out_r_.reset();
      err_r_.reset();
      console_.reset();
      stdin_keep_.reset();
      return status;
    }
  }
}

bool Monitor::should_restart(int code) {
  const auto& p = ctx_.container.config.restart;
  if (p.kind == RestartPolicy::Kind::no || ctx_.container.config.auto_remove) return false;
  if (manual_stop()) return false;
  if (p.kind == RestartPolicy::Kind::on_failure)
    return code != 0 && (p.max_retries == 0 || state_.restart_count < p.max_retries);
  return true;
}

int Monitor::run() {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigfd_.reset(::signalfd(-1, &term, SFD_CLOEXEC));
  auto db = Db::open(ctx_.root);
  if (db) db_.emplace(std::move(*db));
  (void)log_.open();
  attached_ = ctx_.out_fd >= 0;
  {
    pid_t self = ::getpid();
    uint64_t start = runtime::process_start_time(self).value_or(0);
    save([&](ContainerState& s) {
      s.monitor_pid = self;
      s.monitor_start = start;
    });
  }
  const bool auto_remove = ctx_.container.config.auto_remove;
  std::optional<int> pending_exit;
  int64_t backoff_ms = kBackoffStartMs;
  bool first = true;
  for (;;) {
    auto launched = launch_once();
    if (!launched) {
      int code = launch_exit_code(launched.error());
      std::string msg = launched.error().message;
      std::replace(msg.begin(), msg.end(), '\n', ' ');
      save([&](ContainerState& s) {
        s.status = first ? s.status : ContainerStatus::exited;
        s.error = msg;
        s.exit_code = code;
        s.pid = 0;
        s.monitor_pid = 0;
      });
      report(ctx_.report_fd, fmt::format("err {} {}\n", code, msg));
      return code;
    }
    int64_t started = now_ns();
    save([&](ContainerState& s) {
      s.status = ContainerStatus::running;
      s.pid = launched->state.pid;
      s.started_at = started;
      s.error.clear();
      s.exit_code = 0;
      s.ip = ip_;
      s.ports = ports_;
    });
    if (first) {
      report(ctx_.report_fd, fmt::format("ok {}\n", launched->state.pid));
      first = false;
      // Everything the launch allocated goes back to the system: a monitor is long-lived.
      ::malloc_trim(0);
    }
    int code = supervise(*launched);
    (void)runtime::destroy(store_, id_, true);
    teardown_network();
    (void)release_rootfs(ctx_.container.config, ctx_.root, ctx_.container_dir);
    int64_t finished = now_ns();
    save([&](ContainerState& s) {
      s.status = ContainerStatus::exited;
      s.exit_code = code;
      s.finished_at = finished;
      s.pid = 0;
    });
    if (attached_ && auto_remove) {
      pending_exit = code;  // `run --rm` returns once the container is gone
    } else if (attached_) {
      report(ctx_.report_fd, fmt::format("exit {}\n", code));
      detach();
    }
    if (!should_restart(code)) break;
    // Docker's back-off: 100 ms doubling to a minute, reset by a run of 10 s or more.
    if (finished - started >= kResetAfterNs) backoff_ms = kBackoffStartMs;
    save([&](ContainerState& s) {
      s.status = ContainerStatus::restarting;
      s.restart_count += 1;
    });
    pollfd p{sigfd_.get(), POLLIN, 0};
    int r;
    do r = ::poll(&p, 1, static_cast<int>(backoff_ms));
    while (r < 0 && errno == EINTR);
    backoff_ms = std::min(backoff_ms * 2, kBackoffMaxMs);
    if (r > 0 || manual_stop()) {  // SIGTERM from `hull stop`: no more restarts
      save([](ContainerState& s) { s.status = ContainerStatus::exited; });
      break;
    }
  }
  save([](ContainerState& s) {
    s.monitor_pid = 0;
    s.monitor_start = 0;
  });
  if (auto_remove) {
    (void)remove_rootfs(ctx_.container.config, ctx_.root, ctx_.container_dir);
    (void)fs::remove_all(ctx_.container_dir);
    if (db_) (void)db_->remove(id_);
  }
  if (pending_exit) {
    report(ctx_.report_fd, fmt::format("exit {}\n", *pending_exit));
    detach();
  }
  return 0;
}

}  // namespace

[[noreturn]] void monitor_main(MonitorContext& ctx) {
  // The CLI blocked every signal around fork; the monitor takes SIGTERM as "stop
  // restarting" and ignores the terminal's signals.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTTOU, SIGTTIN, SIGTSTP, SIGWINCH})
    ::signal(s, SIG_IGN);
  ::sigprocmask(SIG_SETMASK, &term, nullptr);
  close_other_fds({ctx.report_fd, ctx.control_fd, ctx.in_fd, ctx.out_fd, ctx.err_fd});
  if (::chdir("/") < 0) _exit(kExitEngine);
  Monitor m(ctx);
  int rc = m.run();
  ::_exit(rc);
}

}  // namespace hull::engine

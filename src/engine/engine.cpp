// Lifecycle operations behind the CLI verbs.
#include "engine/engine.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "cgroups/manager.hpp"
#include "common/detach_keys.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/send_fds.hpp"
#include "common/signals.hpp"
#include "common/strings.hpp"
#include "common/userns.hpp"
#include "engine/monitor.hpp"
#include "engine/rootfs.hpp"
#include "engine/rootless.hpp"
#include "engine/volume_admin.hpp"
#include "image/pull.hpp"
#include "image/store.hpp"
#include "net/network.hpp"
#include "oci/capabilities.hpp"
#include "runtime/container.hpp"

namespace hull::engine {
namespace {

bool is_live(ContainerStatus s) {
  return s == ContainerStatus::running || s == ContainerStatus::paused ||
         s == ContainerStatus::restarting;
}

// Polls a pidfd until the process exits; false on timeout. timeout_ms < 0: forever.
bool wait_pidfd(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r != 0;
  }
}

UniqueFd open_pidfd(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return UniqueFd();
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (fd && start_time && !runtime::process_alive(pid, start_time)) fd.reset();
  return fd;
}

}  // namespace

// The monitor's report pipe, a "\n"-terminated line at a time (read in blocks: the "ok"
// line alone is ~200 bytes, which a byte at a time cost as many syscalls).
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  std::optional<std::string> next() {
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      char chunk[512];
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }
  int fd() const { return fd_; }
  // Whether a line is waiting in the buffer (poll() on the fd would not say so).
  bool buffered() const { return buf_.find('\n') != std::string::npos; }

 private:
  int fd_;
  std::string buf_;
};

namespace {

// Writes one byte to the monitor's control pipe: a monitor gone meanwhile makes it EPIPE
// (its report pipe then says so), not a SIGPIPE that would kill the CLI.
void write_byte(int fd, char c) {
  sigset_t pipe, old;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe, &old);
  ssize_t n;
  do n = ::write(fd, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EPIPE && !sigismember(&old, SIGPIPE)) {
    timespec zero{};
    (void)::sigtimedwait(&pipe, nullptr, &zero);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// The signals an attached CLI takes (Engine::follow), blocked from now on: all it forwards
// to the program with proxy, else SIGWINCH only (for the pty's size).
sigset_t block_followed_signals(bool proxy) {
  sigset_t set;
  sigemptyset(&set);
  if (proxy)
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  sigaddset(&set, SIGWINCH);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace

int launch_exit_code(const Error& e) {
  const std::string& m = e.message;
  if (m.find("executable file not found") != std::string::npos) return kExitNotFound;
  if (m.find("exec: \"") != std::string::npos) {
    if (e.code == ENOENT) return kExitNotFound;
    return kExitCannotInvoke;
  }
  return kExitEngine;
}

Result<std::string> parse_detach_keys(std::string_view spec) {
  if (spec.empty()) return std::string();
  auto keys = HULL_TRY(detach_keys::parse(spec));
  if (keys.size() > kMaxDetachKeys)
    return failf("invalid detach keys {:?}: more than {} keys", spec, kMaxDetachKeys);
  return keys;
}

// A monitor forked by create() before the record (spawn_monitor_early): the CLI's ends
// of its pipes, until start() sends "r" or abort_early() closes control.
struct Engine::Early {
  std::string id;
  pid_t pid = -1;
  UniqueFd report, control;
};

Engine::Engine(std::string root, std::string run_root, Db db)
    : root_(std::move(root)),
      run_root_(std::move(run_root)),
      store_(run_root_ + "/runtime"),
      db_(std::move(db)) {}
Engine::Engine(Engine&&) noexcept = default;
Engine::~Engine() {
  abort_early();
}

// Closing control makes the waiting monitor unwind what it made (state dir, cgroup,
// netns) and exit: once its report pipe ends, nothing of the launch is left.
void Engine::abort_early() {
  if (!early_) return;
  auto e = std::move(early_);
  e->control.reset();
  for (LineReader report(e->report.get()); report.next();) {
  }
  while (::waitpid(e->pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

Result<Engine> Engine::open(std::string root, std::string run_root) {
  HULL_CHECK(fs::mkdir_p(root + "/containers", 0700));
  HULL_CHECK(fs::mkdir_p(run_root + "/runtime", 0700));
  auto db = HULL_TRY(Db::open(root));
  return Engine(std::move(root), std::move(run_root), std::move(db));
}

bool Engine::monitor_alive(const ContainerState& s) {
  return s.monitor_pid > 0 && runtime::process_alive(s.monitor_pid, s.monitor_start);
}

Result<oci::Spec> Engine::load_spec(const std::string& id) const {
  return oci::load_spec(container_dir(id));
}

Result<Container> Engine::create(const RunOptions& o, const StartOptions* early) {
  BuildContext ctx;
  ctx.id = new_container_id();
  ctx.root = root_;
  ctx.container_dir = container_dir(ctx.id);
  // docker's default is the bridge network; HULL_DEFAULT_NETWORK changes it (tests that
  // must not touch the host's network set it to none).
  // Rootless (uid 0 of hull's user namespace): pasta is the default, as podman's.
  const bool rootless = userns::running_in_user_ns();
  if (const char* n = ::getenv("HULL_DEFAULT_NETWORK"); n && *n)
    ctx.default_network = n;
  else
    ctx.default_network = rootless ? "pasta" : "bridge";
  if (rootless)
    HULL_CHECK(rootless::check_run(
        o, o.network.empty() || o.network == "default" ? ctx.default_network : o.network,
        rootless::cgroup_delegated()));
  ctx.getenv = [](const std::string& n) -> std::optional<std::string> {
    if (const char* v = ::getenv(n.c_str())) return std::string(v);
    return std::nullopt;
  };
  if (o.init) {
    if (const char* env = ::getenv("HULL_INIT"); env && *env) {
      ctx.init_path = env;
    } else {
      ctx.init_path = (std::filesystem::path(hull_binary()).parent_path() / "hull-init").string();
    }
    if (!ctx.init_path.empty() && ::access(ctx.init_path.c_str(), X_OK) != 0) ctx.init_path.clear();
  }
  // Before the image is pulled: a platform build_spec would refuse is not fetched first.
  HULL_CHECK(check_platform(o.platform));
  ImageDefaults image;
  std::string image_id = "rootfs:" + o.rootfs;
  image::Store* store = nullptr;
  if (o.rootfs.empty()) {
    if (o.image.empty()) return fail("an image name (or --rootfs DIR) is required");
    store = HULL_TRY(image_store());
    auto id =
        o.pull == "always" ? Result<std::string>(fail("pull always")) : store->resolve(o.image);
    if (!id) {
      if (o.pull == "never")
        return failf("unable to find image \"{}\" locally (--pull never)", o.image);
      image::PullOptions po;
      po.platform = o.platform;
      po.quiet = true;
      id = image::pull(*store, o.image, po);
      if (!id)
        return std::unexpected(
            id.error().wrap(fmt::format("unable to find image \"{}\"", o.image)));
    }
    auto cfg = HULL_TRY(store->config(*id));
    image.env = cfg.env;
    image.entrypoint = cfg.entrypoint;
    image.cmd = cfg.cmd;
    image.workdir = cfg.working_dir;
    image.user = cfg.user;
    image.stop_signal = cfg.stop_signal;
    image.labels = cfg.labels;
    image.exposed_ports = cfg.exposed_ports;
    image_id = *id;
  }
  Plan plan = HULL_TRY(build_spec(o, image, ctx));
  // --privileged and --cap-add ALL grant what this process has: a capability outside its
  // bounding set cannot be given (capset would fail with EPERM).
  if (auto st = fs::read_file("/proc/self/status"); st && plan.spec.process->capabilities)
    for (auto line : split(*st, '\n'))
      if (line.starts_with("CapBnd:"))
        if (auto mask = parse_int<uint64_t>(trim(line.substr(7)), 16)) {
          auto& caps = *plan.spec.process->capabilities;
          for (auto* set : {&caps.bounding, &caps.effective, &caps.permitted})
            std::erase_if(*set,
                          [&](int cap) { return cap >= 64 || !(*mask & (uint64_t{1} << cap)); });
        }
  Container c{std::move(plan.config), {}};
  c.config.image_id = image_id;
  // --ipc, --uts, --pid container:NAME: NAME must exist and run now (docker's 125, before
  // anything is made); each launch joins it again. --network container:NAME must exist,
  // not be this container nor lead back to it; it must run by the time this one starts.
  if (joins_any_container(c.config)) {
    bool changed = false;
    HULL_CHECK(join_containers(db_, store_, root_, c.config, plan.spec, false, changed));
    plan.hostname_file = c.config.hostname + "\n";
  }

  // run: the monitor starts on the runtime's part while this process writes the records
  // and mounts the rootfs (a container:NAME peer is looked up with the database first).
  if (early && !rootless && !joins_any_container(c.config))
    HULL_CHECK(spawn_early(c, plan.spec, *early));
  if (auto r = db_.insert(c); !r) {
    abort_early();
    return std::unexpected(r.error());
  }
  // From here an error undoes the record, the image hold and the directory.
  auto undo = [&](Error e) -> Result<Container> {
    abort_early();
    (void)fs::remove_all(ctx.container_dir);
    if (store) (void)store->release(c.config.id);
    (void)db_.remove(c.config.id);
    return std::unexpected(std::move(e));
  };
  if (store)
    if (auto r = store->hold(image_id, c.config.id); !r) return undo(r.error());
  std::string dir = ctx.container_dir;
  if (::mkdir(dir.c_str(), 0700) < 0)
    return undo(Error{errno, fmt::format("mkdir {}: {}", dir, errno_string(errno))});
  for (const auto& [name, text] : {std::pair{"config.json", oci::to_json(plan.spec).dump()},
                                   {"hosts", plan.hosts},
                                   {"hostname", plan.hostname_file},
                                   {"resolv.conf", plan.resolv_conf}})
    if (auto r = fs::write_file(dir + "/" + name, text, 0644); !r) return undo(r.error());
  for (const auto& v : plan.named_volumes) {
    bool anonymous = std::any_of(c.config.mounts.begin(), c.config.mounts.end(),
                                 [&](const MountRecord& m) { return m.anonymous && m.name == v; });
    if (auto r = create_volume(db_, v, {}, anonymous); !r) return undo(r.error());
  }
  created_.emplace(c, std::move(plan.spec));
  return c;
}

// The pipes to a new monitor and what it is told. The CLI keeps report_r and control_w;
// the monitor's ends close here once it is forked (when the link goes).
struct Engine::MonitorLink {
  MonitorContext mc;
  UniqueFd report_r, report_w, control_r, control_w;
};

Result<Engine::MonitorLink> Engine::monitor_link(const Container& c, std::string monitor,
                                                 oci::Spec spec, const StartOptions& o) const {
  MonitorLink l;
  int rep[2], ctl[2];
  if (::pipe2(rep, O_CLOEXEC) < 0) return sys_fail("pipe");
  l.report_r.reset(rep[0]);
  l.report_w.reset(rep[1]);
  if (::pipe2(ctl, O_CLOEXEC) < 0) return sys_fail("pipe");
  l.control_r.reset(ctl[0]);
  l.control_w.reset(ctl[1]);
  l.mc.root = root_;
  l.mc.run_root = run_root_;
  l.mc.container_dir = container_dir(c.config.id);
  l.mc.monitor_path = std::move(monitor);
  l.mc.container = c;
  l.mc.spec = std::move(spec);
  l.mc.report_fd = l.report_w.get();
  l.mc.control_fd = l.control_r.get();
  l.mc.attach = o.attach;
  l.mc.detach_keys = o.detach_keys;
  return l;
}

Status Engine::spawn_early(const Container& c, const oci::Spec& spec, const StartOptions& o) {
  auto monitor = find_monitor_binary();
  if (!monitor) return {};  // start() reports it
  auto l = HULL_TRY(monitor_link(c, std::move(*monitor), spec, o));
  pid_t pid = HULL_TRY(spawn_monitor_early(l.mc));
  early_ = std::make_unique<Early>();
  early_->id = c.config.id;
  early_->pid = pid;
  early_->report = std::move(l.report_r);
  early_->control = std::move(l.control_w);
  return {};
}

Result<image::Store*> Engine::image_store() {
  if (!images_) images_.emplace(HULL_TRY(image::Store::open(root_)));
  return &*images_;
}

Result<Container> Engine::find(const std::string& ref) {
  return refresh(HULL_TRY(db_.find(ref)));
}

Result<Container> Engine::refresh(Container c) {
  if (!is_live(c.state.status) || monitor_alive(c.state)) return c;
  // The monitor is gone. It may have recorded the exit after c was read (hull __exited
  // saves, then ends), so the record is read again under the write lock: only a monitor
  // that is gone with the record still live died unseen (killed). The container may
  // still run then, without logs.
  const std::string& id = c.config.id;
  c.state = HULL_TRY(db_.change_state(id, [&](ContainerState& s) {
    if (!is_live(s.status) || monitor_alive(s)) return false;
    if (auto rs = store_.load(id); rs && runtime::process_alive(rs->pid, rs->pid_start_time))
      return false;
    s.status = ContainerStatus::exited;
    if (s.exit_code == 0) s.exit_code = 255;
    s.finished_at = now_ns();
    s.pid = 0;
    s.monitor_pid = 0;
    return true;
  }));
  return c;
}

Result<std::vector<Container>> Engine::list() {
  std::vector<Container> all;
  for (auto& c : HULL_TRY(db_.list())) {
    auto fresh = refresh(std::move(c));
    if (!fresh && fresh.error().code == ENOENT) continue;  // removed since the list was read
    all.push_back(HULL_TRY(std::move(fresh)));
  }
  std::sort(all.begin(), all.end(), [](const Container& a, const Container& b) {
    return a.config.created > b.config.created;
  });
  return all;
}

std::expected<StartResult, RunError> Engine::start(const std::string& ref, const StartOptions& o) {
  auto fail125 = [](Error e) { return std::unexpected(RunError{kExitEngine, std::move(e)}); };
  // A monitor create() forked and this start does not take ends here (a no-op once taken).
  struct AbortEarly {
    Engine* engine;
    ~AbortEarly() { engine->abort_early(); }
  } abort_guard{this};
  // `run` starts what it just created: the record and the spec are still in memory.
  const bool just_created = created_ && created_->first.config.id == ref;
  auto found = just_created ? Result<Container>(created_->first) : find(ref);
  if (!found) return fail125(found.error());
  Container c = std::move(*found);
  if (is_live(c.state.status)) {
    if (c.state.status == ContainerStatus::paused)
      return fail125(Error{0, fmt::format("cannot start a paused container, try unpause instead")});
    return StartResult{c.state.pid, std::nullopt, false};  // docker: already running is fine
  }
  auto spec =
      just_created ? Result<oci::Spec>(std::move(created_->second)) : load_spec(c.config.id);
  created_.reset();
  if (!spec) return fail125(spec.error());
  if (c.state.manual_stop || !c.state.error.empty()) {
    c.state.manual_stop = false;
    c.state.error.clear();
    if (auto r = db_.save_state(c.config.id, c.state); !r) return fail125(r.error());
  }
  image::Store* images = nullptr;
  if (c.config.rootfs_dir.empty()) {
    auto s = image_store();
    if (!s) return fail125(s.error());
    images = *s;
  }
  // A launch that fails leaves the container as docker does: in its state before (Created
  // after run), with the error and the status (127 not found, 126 cannot invoke) in its
  // record. The monitor undid its part (runtime state, cgroup, network); the rootfs is
  // unmounted here, its writable layer kept with the record.
  auto launch_failed = [&](int code, Error e) {
    (void)release_rootfs(c.config, root_, container_dir(c.config.id));
    c.state.error = e.message;
    c.state.exit_code = code;
    (void)db_.save_state(c.config.id, c.state);
    return std::unexpected(RunError{code, std::move(e)});
  };

  UniqueFd rep_r, ctl_w;
  Result<pid_t> mid = 0;
  if (early_ && early_->id == c.config.id) {
    // Its monitor is forked already and waits: the rootfs, then "r".
    if (auto r = prepare_rootfs(c.config, root_, container_dir(c.config.id), images); !r)
      return launch_failed(kExitEngine, r.error());  // abort_guard ends the monitor
    auto e = std::move(early_);
    write_byte(e->control.get(), 'r');
    rep_r = std::move(e->report);
    ctl_w = std::move(e->control);
    mid = e->pid;
  } else {
    auto monitor = find_monitor_binary();
    if (!monitor) return fail125(monitor.error());
    auto l = monitor_link(c, std::move(*monitor), std::move(*spec), o);
    if (!l) return fail125(l.error());
    mid = spawn_monitor(l->mc, db_, images);
    if (!mid) return launch_failed(launch_exit_code(mid.error()), mid.error());
    rep_r = std::move(l->report_r);
    ctl_w = std::move(l->control_w);
  }

  LineReader report(rep_r.get());
  auto line = report.next();
  if (!line || !line->starts_with("ok ")) {
    // The monitor undid its launch ("err") or died: what the CLI prepared goes too.
    std::string rest = line ? line->substr(std::min<size_t>(line->size(), 4)) : "";
    auto sp = rest.find(' ');
    int code = parse_int<int>(rest.substr(0, sp)).value_or(kExitEngine);
    std::string msg =
        !line ? fmt::format("container {}: its monitor exited before starting it", c.config.name)
        : sp == std::string::npos ? rest
                                  : rest.substr(sp + 1);
    return launch_failed(code, Error{0, msg});
  }
  // "ok <pid> <state>": recorded here, with the monitor's pid, before the monitor goes on.
  std::string_view ok = std::string_view(*line).substr(3);
  auto sp = ok.find(' ');
  if (sp != std::string_view::npos)
    if (auto j = parse_json(ok.substr(sp + 1), "monitor report"))
      if (auto st = ContainerState::from_json(*j)) c.state = std::move(*st);
  c.state.monitor_pid = *mid;
  c.state.monitor_start = runtime::process_start_time(*mid).value_or(0);
  if (auto r = db_.save_state(c.config.id, c.state); !r)
    log::warn("container {}: {}", c.config.name, r.error().message);
  write_byte(ctl_w.get(), 'g');
  if (!o.attach) return StartResult{c.state.pid, std::nullopt, false};
  return follow(c, report, ctl_w.get(), true);
}

std::expected<StartResult, RunError> Engine::follow(const Container& c, LineReader& report,
                                                    int control_fd, bool proxy_signals) {
  // Forward signals to the program and window sizes to its pty until the monitor reports
  // the exit (or the detach keys).
  sigset_t fwd = block_followed_signals(proxy_signals);
  UniqueFd sfd(::signalfd(-1, &fwd, SFD_CLOEXEC));
  StartResult res;
  res.pid = c.state.pid;
  for (;;) {
    pollfd p[2] = {{report.fd(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
    if (report.buffered()) {
      p[0].revents = POLLIN;
    } else if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents & POLLIN) {
      signalfd_siginfo si{};
      if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH)
          write_byte(control_fd, 'w');
        else
          (void)runtime::kill(store_, c.config.id, sig, false);
      }
    }
    if (p[0].revents) {
      auto l = report.next();
      if (!l) break;
      if (*l == "detached") {
        res.detached = true;
        return res;
      }
      if (l->starts_with("exited ")) {
        // The program ended: this CLI records it and cleans up (it has hull loaded
        // already) unless the restart policy may run it again, which is the monitor's.
        int code = parse_int<int>(std::string_view(*l).substr(7)).value_or(kExitEngine);
        if (!c.config.auto_remove && c.config.restart.kind != RestartPolicy::Kind::no) {
          write_byte(control_fd, 'x');
          continue;
        }
        image::Store* images = nullptr;
        if (c.config.rootfs_dir.empty())
          if (auto s = image_store()) images = *s;
        if (c.config.auto_remove) {
          remove_exited(c.config, root_, run_root_, code, db_, images);
          write_byte(control_fd, 'c');
        } else {
          MonitorHandover h;
          h.root = root_;
          h.run_root = run_root_;
          h.id = c.config.id;
          h.status = code;
          (void)finish_exit(h, db_, images);
          write_byte(control_fd, 'd');
        }
        res.exit_code = code;
        return res;
      }
      if (l->starts_with("exit ")) {
        res.exit_code = parse_int<int>(std::string_view(*l).substr(5)).value_or(kExitEngine);
        return res;
      }
    }
  }
  return std::unexpected(
      RunError{kExitEngine, Error{0, "the container's monitor exited unexpectedly"}});
}

std::expected<StartResult, RunError> Engine::attach(const std::string& ref,
                                                    const AttachOptions& o) {
  auto fail1 = [](Error e) { return std::unexpected(RunError{1, std::move(e)}); };
  auto found = find(ref);
  if (!found) return fail1(found.error());
  const Container c = std::move(*found);
  // docker's refusals, word for word.
  auto not_running = [&]() -> std::optional<Error> {
    switch (c.state.status) {
      case ContainerStatus::running:
        return std::nullopt;
      case ContainerStatus::paused:
        return Error{0, "You cannot attach to a paused container, unpause it first"};
      case ContainerStatus::restarting:
        return Error{0, "You cannot attach to a restarting container, wait until it is running"};
      default:
        return Error{0, "You cannot attach to a stopped container, start it first"};
    }
  };
  if (auto e = not_running()) return fail1(*e);
  const std::string dir = container_dir(c.config.id);
  UniqueFd dfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return fail1(Error{errno, fmt::format("open {}: {}", dir, errno_string(errno))});
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return fail1(Error{errno, fmt::format("socket: {}", errno_string(errno))});
  // By the directory's fd: <root>/containers/<id>/ alone may outgrow a sun_path.
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  fmt::format_to_n(addr.sun_path, sizeof addr.sun_path - 1, "/proc/self/fd/{}/{}", dfd.get(),
                   kAttachSocket);
  auto gone = [&](int err) {
    // The program ended meanwhile: docker's refusal; else the monitor serves no socket.
    if (auto now = find(c.config.id); !now || now->state.status != ContainerStatus::running)
      return fail1(Error{0, "You cannot attach to a stopped container, start it first"});
    return fail1(Error{err, fmt::format("container {}: its monitor takes no attach ({}/{}: {})",
                                        c.config.name, dir, kAttachSocket, errno_string(err))});
  };
  // The monitor serves the socket once it is hull-monitor: some 10 ms (monitor.cpp's
  // in-process wait) and an exec after the record says running. A container started just
  // now is waited for.
  for (int waited_ms = 0;; waited_ms += 10) {
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    if ((errno != ENOENT && errno != ECONNREFUSED && errno != EINTR) || waited_ms >= 2000)
      return gone(errno);
    ::usleep(10'000);
  }
  // docker proxies signals only to a program without a terminal: with -t, ctrl-c is a key.
  // Blocked before the monitor has the stdio: once output comes, a signal is the program's.
  const bool proxy = o.sig_proxy && !c.config.tty;
  (void)block_followed_signals(proxy);
  // One message: stdin wanted or not, the detach keys; this process's stdio as SCM_RIGHTS.
  std::string msg(1, c.config.interactive && !o.no_stdin ? 'i' : 'o');
  msg += o.detach_keys;
  const int fds[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
  const iovec iov{msg.data(), msg.size()};
  const ssize_t sent = send_with_fds(sock.get(), std::span(&iov, 1), fds);
  if (sent != static_cast<ssize_t>(msg.size())) return gone(sent < 0 ? errno : EPIPE);
  LineReader report(sock.get());
  auto line = report.next();
  if (!line) return gone(ECONNRESET);
  if (*line != "ok")
    return fail1(Error{0, fmt::format("container {}: {}", c.config.name,
                                      line->starts_with("err ") ? line->substr(4) : *line)});
  return follow(c, report, sock.get(), proxy);
}

Status Engine::kill(const std::string& ref, int signal) {
  Container c = HULL_TRY(find(ref));
  if (!is_live(c.state.status) || c.state.status == ContainerStatus::restarting)
    return failf("cannot kill container {}: container is not running", ref);
  if (signal == SIGKILL || signal_name(signal) == c.config.stop_signal)
    HULL_CHECK(mark_manual_stop(c.config.id));
  auto r = runtime::kill(store_, c.config.id, signal, false);
  if (!r) return std::unexpected(r.error().wrap(fmt::format("kill {}", ref)));
  return {};
}

Status Engine::stop(const std::string& ref, std::optional<int> timeout, std::optional<int> signal) {
  Container c = HULL_TRY(find(ref));
  if (!is_live(c.state.status)) return {};
  HULL_CHECK(mark_manual_stop(c.config.id));
  UniqueFd monitor = open_pidfd(c.state.monitor_pid, c.state.monitor_start);
  if (c.state.status == ContainerStatus::restarting && monitor) {
    ::syscall(SYS_pidfd_send_signal, monitor.get(), SIGTERM, nullptr, 0);
    wait_pidfd(monitor.get(), 10000);
    return {};
  }
  if (c.state.status == ContainerStatus::paused) (void)pause(ref, false);
  int t = timeout.value_or(c.config.stop_timeout);
  int sig = signal.value_or(parse_signal(c.config.stop_signal).value_or(SIGTERM));
  if (auto rs = store_.load(c.config.id)) {
    UniqueFd init = open_pidfd(rs->pid, rs->pid_start_time);
    if (init) {
      ::syscall(SYS_pidfd_send_signal, init.get(), sig, nullptr, 0);
      if (!wait_pidfd(init.get(), t < 0 ? -1 : t * 1000)) {
        (void)runtime::kill(store_, c.config.id, SIGKILL, true);
        ::syscall(SYS_pidfd_send_signal, init.get(), SIGKILL, nullptr, 0);
        wait_pidfd(init.get(), 10000);
      }
    }
  }
  // The monitor records the exit and cleans up; without one, do it here.
  if (monitor) {
    if (wait_pidfd(monitor.get(), 10000) || c.config.restart.kind != RestartPolicy::Kind::no)
      return {};
  }
  (void)runtime::destroy(store_, c.config.id, true);
  (void)release_rootfs(c.config, root_, container_dir(c.config.id));
  (void)db_.change_state(c.config.id, [](ContainerState& s) {
    if (!is_live(s.status)) return false;
    s.status = ContainerStatus::exited;
    s.exit_code = 128 + SIGKILL;
    s.finished_at = now_ns();
    s.pid = 0;
    return true;
  });
  return {};
}

Status Engine::pause(const std::string& ref, bool frozen) {
  Container c = HULL_TRY(find(ref));
  if (frozen && c.state.status != ContainerStatus::running)
    return failf("container {} is not running", ref);
  if (!frozen && c.state.status != ContainerStatus::paused)
    return failf("container {} is not paused", ref);
  auto rs = HULL_TRY(store_.load(c.config.id));
  if (rs.cgroup.is_null()) return failf("container {}: no cgroup to freeze", ref);
  auto m = HULL_TRY(cgroups::load_manager(rs.cgroup));
  HULL_CHECK(m->freeze(frozen));
  HULL_TRY(db_.change_state(c.config.id, [&](ContainerState& s) {
    if (!is_live(s.status)) return false;  // a SIGKILL ended it meanwhile
    s.status = frozen ? ContainerStatus::paused : ContainerStatus::running;
    return true;
  }));
  return {};
}

// Sets the flag alone: the rest of the record may change meanwhile (the monitor records
// an exit), and a whole state read before would undo that.
Status Engine::mark_manual_stop(const std::string& id) {
  HULL_TRY(db_.change_state(id, [](ContainerState& s) {
    s.manual_stop = true;
    return true;
  }));
  return {};
}

Status Engine::cleanup(const Container& c, bool volumes) {
  const std::string dir = container_dir(c.config.id);
  if (auto r = runtime::destroy(store_, c.config.id, true); !r)
    log::warn("container {}: {}", c.config.name, r.error().message);
  // host and container:NAME have no netns file nor attachment of their own.
  if (c.config.network != "host" && !c.config.network.starts_with("container:")) {
    if (c.config.network == "pasta")
      rootless::stop_network(run_root_, c.config.id);
    else if (c.config.network != "none")
      if (auto nets = net::Networks::open(root_)) HULL_CHECK(nets->detach(c.config.id));
    HULL_CHECK(net::remove_netns(run_root_ + "/netns/" + c.config.id));
  }
  image::Store* images = nullptr;
  if (c.config.rootfs_dir.empty()) images = HULL_TRY(image_store());
  HULL_CHECK(remove_rootfs(c.config, root_, dir, images));
  HULL_CHECK(fs::remove_all(dir));
  HULL_CHECK(db_.remove(c.config.id));
  if (volumes) remove_anonymous_volumes(db_, c.config);
  return {};
}

Status Engine::remove(const std::string& ref, bool force, bool volumes) {
  Container c = HULL_TRY(find(ref));
  bool running = is_live(c.state.status);
  if (running && !force)
    return failf(
        "cannot remove container \"{}\": container is {}: stop the container before "
        "removing or force remove",
        c.config.name, status_name(c.state.status));
  if (UniqueFd m = open_pidfd(c.state.monitor_pid, c.state.monitor_start)) {
    // Killed outright so it neither restarts the program nor races this clean-up.
    ::syscall(SYS_pidfd_send_signal, m.get(), SIGKILL, nullptr, 0);
    wait_pidfd(m.get(), 5000);
  }
  return cleanup(c, volumes);
}

Result<int> Engine::wait(const std::string& ref) {
  auto found = find(ref);
  if (!found) {
    // A --rm container that ended between its start and this wait: by its full id.
    if (auto code = db_.removed_exit(ref)) return *code;
    return std::unexpected(found.error());
  }
  Container c = std::move(*found);
  const std::string id = c.config.id;
  for (;;) {
    if (c.state.status == ContainerStatus::exited || c.state.status == ContainerStatus::dead)
      return c.state.exit_code;
    // Created and not being started (no monitor): docker's wait ("not-running") returns at
    // once, with the code of a start that failed or 0.
    if (c.state.status == ContainerStatus::created && !monitor_alive(c.state))
      return c.state.exit_code;
    UniqueFd m = open_pidfd(c.state.monitor_pid, c.state.monitor_start);
    if (m)
      wait_pidfd(m.get(), 100);
    else
      ::usleep(20000);
    auto next = db_.find(id);
    if (next) next = refresh(std::move(*next));
    if (!next) {
      if (next.error().code != ENOENT) return std::unexpected(std::move(next).error());
      // Removed: --rm keeps the exit code for waiters; else its last known status.
      if (auto code = db_.removed_exit(id)) return *code;
      return c.state.exit_code;
    }
    c = std::move(*next);
  }
}

Result<std::vector<std::string>> Engine::prune() {
  std::vector<std::string> removed;
  for (auto& c : HULL_TRY(list())) {
    if (is_live(c.state.status) || monitor_alive(c.state)) continue;
    HULL_CHECK(cleanup(c, false));
    removed.push_back(c.config.id);
  }
  // What a crash left behind: runtime state and directories without a record.
  auto known = [&](const std::string& id) { return static_cast<bool>(db_.find(id)); };
  if (auto ids = store_.list())
    for (const auto& id : *ids)
      if (!known(id)) {
        if (auto r = runtime::destroy(store_, id, true); !r)
          log::warn("runtime state {}: {}", id, r.error().message);
        removed.push_back(id);
      }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(run_root_ + "/netns", ec))
    if (!known(e.path().filename())) (void)net::remove_netns(e.path().string());
  if (fs::exists(root_ + "/net.db")) {
    std::vector<std::string> live;
    for (const auto& c : HULL_TRY(db_.list())) live.push_back(c.config.id);
    if (auto nets = net::Networks::open(root_)) HULL_CHECK(nets->prune_orphans(live));
  }
  for (const auto& e : std::filesystem::directory_iterator(root_ + "/containers", ec)) {
    std::string id = e.path().filename();
    if (known(id)) continue;
    for (const char* m : {"/merged", "/shm"})
      ::umount2((e.path().string() + m).c_str(), MNT_DETACH);
    HULL_CHECK(fs::remove_all(e.path().string()));
    if (std::find(removed.begin(), removed.end(), id) == removed.end()) removed.push_back(id);
  }
  return removed;
}

}  // namespace hull::engine

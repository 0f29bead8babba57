// The container's init: the cloned child, from clone to execve. This file is the recipe,
// one checked step per line, in the order the kernel requires; the steps live in
// rootfs.cpp, devices.cpp, console.cpp and process_setup.cpp. No exceptions are thrown
// here: every step returns Status and the first error goes back to the parent.
#include "runtime/init.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/fs.hpp"
#include "common/loopback.hpp"
#include "common/strings.hpp"
#include "runtime/console.hpp"
#include "runtime/hooks.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/state.hpp"

namespace hull::runtime {
namespace {

// A created container's init is pid 1 of its namespace, and the kernel drops a signal
// that pid 1 has no handler for. runc's init is a Go program, whose runtime handles these
// and exits, so `kill ID` (SIGTERM) stops a created container; this does the same. execve
// resets handled signals to their defaults, so the program never sees these handlers.
constexpr int kEndsCreatedInit[] = {SIGHUP,  SIGINT,    SIGQUIT, SIGILL, SIGTRAP,
                                    SIGABRT, SIGSTKFLT, SIGTERM, SIGSYS};

void end_on_signal(int sig) {
  ::_exit(128 + sig);
}

void end_created_init_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = end_on_signal;
  for (int sig : kEndsCreatedInit) ::sigaction(sig, &sa, nullptr);
}

}  // namespace

void close_inherited_fds(std::vector<int> keep, int preserve_fds) {
  for (int i = 0; i < preserve_fds; ++i) keep.push_back(3 + i);
  std::sort(keep.begin(), keep.end());
  unsigned next = 3;
  for (int fd : keep) {
    if (fd < static_cast<int>(next)) continue;
    if (static_cast<unsigned>(fd) > next) ::syscall(SYS_close_range, next, fd - 1, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, next, ~0U, 0);
}

namespace {

// HOME from the container's /etc/passwd when the config does not set it, as runc does.
std::vector<std::string> env_with_home(const oci::Process& p) {
  std::vector<std::string> env = p.env;
  for (const auto& e : env)
    if (e.starts_with("HOME=")) return env;
  std::string home = "/";
  if (auto passwd = fs::read_file("/etc/passwd")) {
    for (auto line : split(*passwd, '\n')) {
      auto f = split(line, ':');
      if (f.size() >= 7 && parse_int<uid_t>(f[2]) == p.user.uid) {
        home = std::string(f[5]);
        break;
      }
    }
  }
  env.push_back("HOME=" + home);
  return env;
}

Result<UniqueFd> wait_for_start(int fifo_fd, int proc_fd_dir) {
  // Reopen the O_PATH fifo for writing through the host procfs opened before pivot_root:
  // the open blocks until `start` opens the other end.
  std::string name = std::to_string(fifo_fd);
  UniqueFd w(::openat(proc_fd_dir, name.c_str(), O_WRONLY | O_CLOEXEC));
  if (!w) return sys_fail("open exec fifo");
  if (::write(w.get(), "0", 1) != 1) return sys_fail("write exec fifo");
  return w;
}

Status setup(InitContext& ctx) {
  const oci::Spec& spec = *ctx.spec;
  const oci::Process& proc = *spec.process;

  close_inherited_fds(ctx.keep_fds, ctx.preserve_fds);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (ctx.default_signals)
    for (int s = 1; s < NSIG; ++s)
      if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
  auto go = HULL_TRY(ctx.sync->expect(SyncType::kGo));
  // Into the container's v1 cgroups before anything else runs (see cgroups::SelfJoin).
  for (const auto& t : ctx.join_tasks)
    if (auto r = fs::write_existing(t, "0"); !r)
      return std::unexpected(r.error().wrap("join the container's cgroup"));
  // The parent may still be joining this process to its cgroup (see sync.hpp).
  bool join_pending = (go.flags & kGoJoinPending) != 0;
  std::function<Status()> await_join = [&]() -> Status {
    if (!join_pending) return {};
    HULL_TRY(ctx.sync->expect(SyncType::kJoined));
    join_pending = false;
    return {};
  };

  if (ctx.new_user_ns) {
    // Become root of the new user namespace when 0 is mapped; otherwise stay as mapped.
    if (::setresgid(0, 0, 0) < 0 && errno != EINVAL) return sys_fail("setresgid 0");
    if (::setresuid(0, 0, 0) < 0 && errno != EINVAL) return sys_fail("setresuid 0");
  }
  // Keyrings belong to the user namespace: joined as its root, as runc does.
  if (!ctx.session_keyring.empty()) HULL_CHECK(join_session_keyring(ctx.session_keyring));
  if (ctx.net_ns_fd >= 0 && ::setns(ctx.net_ns_fd, CLONE_NEWNET) < 0)
    return sys_fail("join network namespace");
  if (ctx.mount_ns_fd >= 0 && ::setns(ctx.mount_ns_fd, CLONE_NEWNS) < 0)
    return sys_fail("join mount namespace");
  // A new netns starts with lo down; runc (its "loopback" network) and crun bring it up.
  if (ctx.new_net_ns && !loopback_up()) return sys_fail("bring lo up in the new network namespace");
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
    return sys_failf("sethostname {}", spec.hostname);
  if (!spec.domainname.empty() &&
      ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
    return sys_failf("setdomainname {}", spec.domainname);
  // linux.personality (runc 1.2, crun): LINUX32 makes uname report a 32-bit machine.
  if (!spec.linux.personality.empty() &&
      ::personality(spec.linux.personality == "LINUX32" ? PER_LINUX32 : PER_LINUX) < 0)
    return sys_failf("personality {}", spec.linux.personality);

  RootfsPlan plan{&spec, ctx.rootfs, ctx.bundle, ctx.in_user_ns, &await_join};
  UniqueFd rootfd = HULL_TRY(prepare_rootfs(plan));
  HULL_CHECK(mount_all(plan, rootfd.get()));
  // A missing cwd is created, as runc and crun do; resolved inside the root, so a cwd
  // through a symlink or a magic link never makes anything outside it.
  if (auto cwd = open_in_root(rootfd.get(), proc.cwd); !cwd && cwd.error().code == ENOENT)
    if (auto made = ensure_target(rootfd.get(), proc.cwd, true); !made)
      return std::unexpected(made.error().wrap(fmt::format("create cwd \"{}\"", proc.cwd)));

  HULL_CHECK(await_join());

  Pty pty;
  if (proc.terminal) {
    pty = HULL_TRY(open_pty(rootfd.get(), proc.console_size));
    HULL_CHECK(mount_console(rootfd.get(), pty.slave.get()));
    HULL_CHECK(ctx.sync->send(SyncType::kConsole, {}, pty.master.get()));
    pty.master.reset();
  }
  // The parent runs prestart and createRuntime in the runtime's namespaces and answers
  // with the state JSON the container's own hooks get on stdin.
  const oci::Hooks& hooks = spec.hooks;
  std::string hook_state;
  if (!hooks.prestart.empty() || !hooks.create_runtime.empty() || !hooks.create_container.empty() ||
      !hooks.start_container.empty()) {
    HULL_CHECK(ctx.sync->send(SyncType::kHooks));
    hook_state = HULL_TRY(ctx.sync->expect(SyncType::kHooksDone)).text;
    // In the container's namespaces, before pivot_root: the path resolves on the host.
    HULL_CHECK(run_hooks(hooks.create_container, hook_state, "createContainer"));
  }
  if (ctx.unshare_cgroup_ns && ::unshare(CLONE_NEWCGROUP) < 0)
    return sys_fail("unshare cgroup namespace");

  // Kept across pivot_root to reopen the exec fifo; CLOEXEC, closed before exec.
  UniqueFd proc_fd_dir;
  if (ctx.fifo_fd >= 0) {
    proc_fd_dir.reset(::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!proc_fd_dir) return sys_fail("open /proc/self/fd");
  }
  HULL_CHECK(enter_rootfs(plan, rootfd.get(), ctx.no_pivot));
  rootfd.reset();
  HULL_CHECK(finalize_rootfs(plan));

  if (ctx.fifo_fd >= 0) end_created_init_on_signals();
  // After `start` released the fifo, this process's errors go to `start` through the
  // fifo's write end, which closes on exec (see start() in lifecycle.cpp).
  UniqueFd fifo_w;
  Status r = become_process(proc, *ctx.sync, std::move(pty.slave), ctx.setgroups_allowed,
                            ctx.preserve_fds, ctx.seccomp, [&]() -> Status {
                              if (ctx.fifo_fd >= 0) {
                                fifo_w = HULL_TRY(wait_for_start(ctx.fifo_fd, proc_fd_dir.get()));
                                proc_fd_dir.reset();
                                ::close(ctx.fifo_fd);
                              }
                              if (hooks.start_container.empty()) return {};
                              // In the container, after start and before the program: status
                              // "created".
                              Json state = Json::parse(hook_state, nullptr, false);
                              if (state.is_object()) state["status"] = "created";
                              return run_hooks(hooks.start_container,
                                               state.is_object() ? state.dump() : hook_state,
                                               "startContainer");
                            });
  if (!r && fifo_w) {
    const std::string& m = r.error().message;
    (void)!::write(fifo_w.get(), m.data(), m.size());
  }
  return r;
}

}  // namespace

Status become_process(const oci::Process& proc, const SyncSocket& sync, UniqueFd tty_slave,
                      bool setgroups_allowed, int preserve_fds, const seccomp::Filter* filter,
                      const std::function<Status()>& wait_start) {
  auto load_seccomp = [&]() -> Status {
    auto listener = HULL_TRY(seccomp::load(*filter));
    if (listener) HULL_CHECK(sync.send(SyncType::kSeccompFd, {}, listener.get()));
    return {};
  };
  if (::setsid() < 0) return sys_fail("setsid");
  if (tty_slave) {
    HULL_CHECK(become_tty_session(tty_slave.get()));
    tty_slave.reset();
  }
  HULL_CHECK(apply_rlimits(proc));
  HULL_CHECK(apply_lsm_labels(proc));
  if (::chdir(proc.cwd.c_str()) < 0)
    return sys_failf("chdir to cwd (\"{}\") set in config.json failed", proc.cwd);
  if (filter && !proc.no_new_privileges) HULL_CHECK(load_seccomp());
  HULL_CHECK(drop_bounding_set(proc));
  HULL_CHECK(apply_user_and_caps(proc, setgroups_allowed));
  ::umask(proc.user.umask.value_or(022));
  // The cwd must be inside the container's root: a path through an fd that reached the
  // host would show as "(unreachable)" here.
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd) || cwd[0] != '/')
    return failf("cwd \"{}\" is outside the container's root", proc.cwd);

  std::vector<std::string> env = env_with_home(proc);
  std::string path = HULL_TRY(find_executable(proc.args[0], env));
  if (filter && proc.no_new_privileges) HULL_CHECK(load_seccomp());

  HULL_CHECK(sync.send(SyncType::kReady));
  auto ack = HULL_TRY(sync.expect(SyncType::kAck));
  // Init waits on the exec fifo here unless started at once (kAckStartNow, no fifo), then
  // runs the startContainer hooks; exec has nothing to do.
  (void)ack;
  HULL_CHECK(wait_start());

  std::vector<char*> argv, envp;
  for (const auto& a : proc.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  // Everything above the preserved fds is closed by exec; the sync socket's close tells
  // the parent that exec succeeded.
  ::syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
  for (int i = 0; i < preserve_fds; ++i) ::fcntl(3 + i, F_SETFD, 0);
  ::execve(path.c_str(), argv.data(), envp.data());
  int err = errno;
  if (err == EACCES) return fail(fmt::format("exec: \"{}\": permission denied", path), err);
  return sys_fail(fmt::format("exec: \"{}\"", path), err);
}

Status save_filter(int dirfd, const seccomp::Filter& f) {
  uint32_t head[2] = {f.flags, f.uses_notify ? 1u : 0u};
  std::string data(reinterpret_cast<const char*>(head), sizeof head);
  data.append(reinterpret_cast<const char*>(f.program.data()),
              f.program.size() * sizeof(sock_filter));
  return write_state_file(dirfd, "seccomp.bpf", data);
}

Result<seccomp::Filter> load_filter(const std::string& path) {
  auto data = HULL_TRY(fs::read_file(path));
  uint32_t head[2];
  if (data.size() < sizeof head || (data.size() - sizeof head) % sizeof(sock_filter) != 0)
    return failf("{}: malformed", path);
  std::memcpy(head, data.data(), sizeof head);
  seccomp::Filter f;
  f.flags = head[0];
  f.uses_notify = head[1] != 0;
  f.program.resize((data.size() - sizeof head) / sizeof(sock_filter));
  std::memcpy(f.program.data(), data.data() + sizeof head, data.size() - sizeof head);
  return f;
}

void report_and_exit(const SyncSocket& sync, const Status& r) {
  int code = r ? 0 : r.error().code;
  std::string msg = r ? "init returned" : r.error().message;
  (void)sync.send(SyncType::kError, msg, -1, 0, code);
  ::_exit(code == ENOENT ? 127 : code == EACCES ? 126 : 1);
}

void init_main(InitContext& ctx) {
  report_and_exit(*ctx.sync, setup(ctx));
}

}  // namespace hull::runtime

// exec: a new process in a running container. This process joins the container's pid
// (and time) namespace for its children, clones into the container's cgroup, and the
// child joins the other namespaces (the user namespace last, while it still has the
// host's privileges for the others) before the steps it shares with init.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>

#include "cgroups/manager.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/userns.hpp"
#include "runtime/clone.hpp"
#include "runtime/cloned_binary.hpp"
#include "runtime/console.hpp"
#include "runtime/container.hpp"
#include "runtime/init.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/rootfs.hpp"

namespace hull::runtime {
namespace {

struct NsEntry {
  const char* name;
  int flag;
};
// Order matters: the user namespace is joined last.
constexpr std::array<NsEntry, 6> kJoinOrder = {{{"cgroup", CLONE_NEWCGROUP},
                                                {"ipc", CLONE_NEWIPC},
                                                {"uts", CLONE_NEWUTS},
                                                {"net", CLONE_NEWNET},
                                                {"mnt", CLONE_NEWNS},
                                                {"user", CLONE_NEWUSER}}};

struct Joins {
  std::vector<std::pair<UniqueFd, int>> child;  // joined by the child, in order
  bool user = false;
  std::vector<std::string> tasks;  // v1 `tasks` files the child writes 0 to (cgroups::SelfJoin)
  std::string session_keyring;     // init's "_ses.<id>", joined as runc's exec does
};

bool same_ns(pid_t pid, const char* name) {
  struct stat a {
  }, b{};
  if (::stat(fmt::format("/proc/{}/ns/{}", pid, name).c_str(), &a) < 0) return true;
  if (::stat(fmt::format("/proc/self/ns/{}", name).c_str(), &b) < 0) return true;
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

Result<UniqueFd> open_ns(pid_t pid, const char* name) {
  std::string p = fmt::format("/proc/{}/ns/{}", pid, name);
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_failf("open {}", p);
  return fd;
}

[[noreturn]] void exec_child(const ExecOptions& opts, const SyncSocket& sync, Joins& joins,
                             bool setgroups_allowed, const seccomp::Filter* filter) {
  auto run = [&]() -> Status {
    std::vector<int> keep{sync.get()};
    for (auto& [fd, flag] : joins.child) keep.push_back(fd.get());
    close_inherited_fds(keep, opts.preserve_fds);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    HULL_TRY(sync.expect(SyncType::kGo));
    // Into the container's v1 cgroups while still the host's root, before any setns.
    for (const auto& t : joins.tasks)
      if (auto r = fs::write_existing(t, "0"); !r)
        return std::unexpected(r.error().wrap("join the container's cgroup"));
    for (auto& [fd, flag] : joins.child) {
      if (::setns(fd.get(), flag) < 0) return sys_failf("join namespace (flag {:#x})", flag);
      fd.reset();
    }
    if (joins.user) {
      if (::setresgid(0, 0, 0) < 0 && errno != EINVAL) return sys_fail("setresgid 0");
      if (::setresuid(0, 0, 0) < 0 && errno != EINVAL) return sys_fail("setresuid 0");
    }
    if (!joins.session_keyring.empty()) HULL_CHECK(join_session_keyring(joins.session_keyring));
    UniqueFd slave;
    if (opts.process.terminal) {
      UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!root) return sys_fail("open /");
      Pty pty = HULL_TRY(open_pty(root.get(), opts.process.console_size));
      HULL_CHECK(sync.send(SyncType::kConsole, {}, pty.master.get()));
      slave = std::move(pty.slave);
    }
    return become_process(opts.process, sync, std::move(slave), setgroups_allowed,
                          opts.preserve_fds, filter, [] { return Status{}; });
  };
  report_and_exit(sync, run());
}

}  // namespace

Result<int> exec(const StateStore& store, const ExecOptions& opts) {
  State s = HULL_TRY(store.load(opts.id));
  ContainerStatus st = store.status_of(s);
  if (st == ContainerStatus::stopped) return fail("cannot exec in a stopped container");
  if (st == ContainerStatus::paused && !opts.ignore_paused)
    return fail("cannot exec in a paused container (use --ignore-paused to override)");
  if (opts.process.args.empty()) return fail("exec: no command given");
  HULL_CHECK(check_lsm_support(opts.process));
  if (opts.process.terminal && opts.detach && opts.console_socket.empty())
    return fail("exec --tty --detach needs --console-socket");

  // Pin the container's init while its namespaces are opened.
  UniqueFd init_pidfd(static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0)));
  if (!init_pidfd || !process_alive(s.pid, s.pid_start_time))
    return fail("container is not running", ESRCH);
  // CVE-2019-5736: this process will be visible in the container's pid namespace.
  uint64_t bnd = bounding_set_of(s.pid).value_or(~uint64_t{0});
  if (opts.process.capabilities)
    for (int c : opts.process.capabilities->bounding) bnd |= uint64_t{1} << (c & 63);
  if (opts.shared_pid_ns || could_ptrace_runtime(bnd, s.pid)) HULL_CHECK(reexec_from_sealed_copy());

  Joins joins;
  if (!s.no_new_keyring) joins.session_keyring = "_ses." + opts.id;
  // Rootless: joining the other namespaces needs CAP_SYS_ADMIN in this process's own user
  // namespace, which an unprivileged user has only in the container's: enter it first.
  const bool enter_user_first = ::geteuid() != 0 && !same_ns(s.pid, "user");
  if (enter_user_first) {
    UniqueFd fd = HULL_TRY(open_ns(s.pid, "user"));
    if (::setns(fd.get(), CLONE_NEWUSER) < 0)
      return sys_failf("join user namespace of {}", opts.id);
    joins.user = true;
  }
  for (const char* name : {"pid", "time"}) {
    if (same_ns(s.pid, name)) continue;
    UniqueFd fd = HULL_TRY(open_ns(s.pid, name));
    if (::setns(fd.get(), 0) < 0) return sys_failf("join {} namespace of {}", name, opts.id);
  }
  for (const auto& [name, flag] : kJoinOrder) {
    if (same_ns(s.pid, name)) continue;
    UniqueFd fd = HULL_TRY(open_ns(s.pid, name));
    if (flag == CLONE_NEWUSER) joins.user = true;
    joins.child.emplace_back(std::move(fd), flag);
  }
  bool setgroups_allowed = true;
  // Joined now or already in (the rootless engine's): a single mapping denies setgroups.
  if (joins.user || userns::running_in_user_ns()) {
    auto sg = fs::read_file(fmt::format("/proc/{}/setgroups", s.pid));
    setgroups_allowed = !sg || sg->find("deny") == std::string::npos;
  }

  std::unique_ptr<cgroups::Manager> cgroup;
  if (!s.cgroup.is_null()) {
    auto m = cgroups::load_manager(s.cgroup);
    if (!m) return std::unexpected(m.error().wrap("cgroup"));
    cgroup = std::move(*m);
  }
  if (!opts.sub_cgroups.empty()) {
    if (!cgroup) return fail("--cgroup: the container has no cgroup", ENOTSUP);
    auto sub = cgroup->sub_cgroup(opts.sub_cgroups);
    if (!sub) return std::unexpected(sub.error().wrap("--cgroup"));
    cgroup = std::move(*sub);
  }
  std::optional<seccomp::Filter> filter;
  if (std::string f = store.dir(opts.id) + "/seccomp.bpf"; fs::exists(f)) {
    filter = HULL_TRY(load_filter(f));
    // The notify listener belongs to the container's init: an exec'd process gets the same
    // filter without a second listener (its notify actions then fail with ENOSYS).
    filter->uses_notify = false;
    filter->flags &= ~SECCOMP_FILTER_FLAG_NEW_LISTENER;
  }
  auto [parent_sock, child_sock] = HULL_TRY(SyncSocket::make_pair());
  if (!opts.detach) block_forwarded_signals();
  // Into the cgroup, fastest first: clone3 into it (v2); on v1 the child moves itself
  // through the `tasks` files (no RCU grace period, unlike a cgroup.procs write from here)
  // and clone3 puts it in the hybrid cgroup2 dir; else cgroup.procs below.
  UniqueFd cg_fd = cgroup ? cgroup->clone_into_fd() : UniqueFd();
  if (cgroup) {
    auto sj = cgroup->self_join();
    joins.tasks = std::move(sj.tasks);
    if (!joins.tasks.empty() && !sj.clone_into.empty())
      cg_fd.reset(::open(sj.clone_into.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  // runc's fallback on v2 (cgroups::exec_joins_init_cgroup): a container's cgroup that
  // refuses the process by the kernel's rules gives way to its init's own cgroup.
  const bool explicit_sub = !opts.sub_cgroups.empty();
  auto init_fallback = [&](const Error& refused) -> Result<std::unique_ptr<cgroups::Manager>> {
    auto m = cgroup->init_cgroup(s.pid);
    if (!m)
      return std::unexpected(
          Error{refused.code, fmt::format("join the container's cgroup: {} (and its init's: {})",
                                          refused.message, m.error().message)});
    log::debug("exec: the container's cgroup refused the process ({}): joining its init's, {}",
               refused.message, (*m)->path());
    return m;
  };
  auto cloned = clone_child(0, cg_fd.get());
  if (!cloned && cg_fd &&
      cgroups::exec_joins_init_cgroup(cgroup->kind(), cloned.error().code, explicit_sub)) {
    cgroup = HULL_TRY(init_fallback(cloned.error()));
    cg_fd = cgroup->clone_into_fd();
    cloned = clone_child(0, cg_fd.get());
  }
  if (!cloned)
    return std::unexpected(cg_fd ? cloned.error().wrap(fmt::format("cgroup {}", cgroup->path()))
                                 : cloned.error());
  Child child = std::move(*cloned);
  if (child.pid == 0) {
    parent_sock.close();
    exec_child(opts, child_sock, joins, setgroups_allowed, filter ? &*filter : nullptr);
  }
  child_sock.close();
  joins.child.clear();
  // Kills and reaps the child if anything below fails.
  struct Reaper {
    Child* c;
    bool armed = true;
    ~Reaper() {
      if (!armed) return;
      ::syscall(SYS_pidfd_send_signal, c->pidfd.get(), SIGKILL, nullptr, 0);
      siginfo_t info{};
      ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(c->pidfd.get()), &info, WEXITED);
    }
  } reaper{&child};

  if (cgroup && !joins.tasks.empty())
    HULL_CHECK(cgroup->add_pid_after_self_join(child.pid, child.in_cgroup));
  else if (cgroup && !child.in_cgroup) {
    // Without CLONE_INTO_CGROUP (Linux < 5.7) the same fallback, on cgroup.procs.
    auto added = cgroup->add_pid(child.pid);
    if (!added && cgroups::exec_joins_init_cgroup(cgroup->kind(), added.error().code, explicit_sub))
      added = HULL_TRY(init_fallback(added.error()))->add_pid(child.pid);
    HULL_CHECK(std::move(added));
  }
  HULL_CHECK(apply_oom_score_adj(child.pid, opts.process));
  HULL_CHECK(parent_sock.send(SyncType::kGo));
  UniqueFd console;
  for (;;) {
    auto m = HULL_TRY(parent_sock.recv());
    if (m.type == SyncType::kError) return fail(std::move(m.text), m.err);
    if (m.type == SyncType::kReady) break;
    if (m.type != SyncType::kConsole) return fail("sync: unexpected message");
    if (opts.console_socket.empty())
      console = std::move(m.fd);
    else
      HULL_CHECK(send_console_fd(opts.console_socket, m.fd.get()));
  }
  if (!opts.pid_file.empty())
    HULL_CHECK(fs::write_output(opts.pid_file, std::to_string(child.pid)));
  HULL_CHECK(parent_sock.send(SyncType::kAck, {}, -1, kAckStartNow));
  if (auto m = parent_sock.recv(); m) {
    if (m->type == SyncType::kError) return fail(std::move(m->text), m->err);
    return fail("sync: unexpected message");
  } else if (m.error().code != EPIPE) {
    return std::unexpected(m.error());
  }
  reaper.armed = false;
  if (opts.detach) return 0;
  return wait_process(child.pidfd.get(), console.get(), 0, opts.detach_keys);
}

}  // namespace hull::runtime

// The parent's half of container creation: everything is prepared here, before clone,
// so the child only makes syscalls; then the handshake of sync.hpp. An Undo guard
// removes what was made if any step fails.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <ctime>

#include "cgroups/manager.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/own_thread.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"
#include "common/userns.hpp"
#include "runtime/clone.hpp"
#include "runtime/cloned_binary.hpp"
#include "runtime/console.hpp"
#include "runtime/container.hpp"
#include "runtime/hooks.hpp"
#include "runtime/init.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/sync.hpp"

namespace hull::runtime {
namespace {

// Undoes a half-made container in reverse order unless committed.
struct Undo {
  const StateStore* store = nullptr;
  std::string id;
  bool dir_made = false;
  cgroups::Manager* cgroup = nullptr;
  pid_t child = 0;
  int pidfd = -1;
  // A create that fails once the child exists goes on to the poststop hooks, as the
  // spec's lifecycle does (step 12) and runc does.
  std::span<const oci::Hook> poststop;
  std::string stopped_state;
  bool committed = false;
  bool* oom_killed = nullptr;  // set when the cgroup saw an OOM kill
  // runc's `run --keep`: once the cgroup exists, a failed start leaves the container
  // stopped (this state saved in its directory; the empty cgroup removed, as runc removes
  // it) for `delete`, which runs the poststop hooks then.
  const State* keep = nullptr;

  ~Undo() {
    if (committed) return;
    const bool kept = keep && cgroup;
    if (child > 0) {
      if (pidfd >= 0)
        ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
      else
        ::kill(child, SIGKILL);
      while (::waitpid(child, nullptr, __WALL) < 0 && errno == EINTR) {
      }
      if (!kept) run_hooks_warn(poststop, stopped_state, "poststop");
    }
    if (cgroup) {
      if (auto n = cgroup->oom_kill_count(); oom_killed && n && *n > 0) *oom_killed = true;
      if (auto r = cgroup->destroy(); !r) log::warn("cleanup: {}", r.error().message);
    }
    if (kept) {
      auto r = store->save(*keep);
      if (r) return;
      log::warn("keep container {}: {}", id, r.error().message);
    }
    if (dir_made) {
      if (auto r = store->remove(id); !r) log::warn("cleanup: {}", r.error().message);
    }
  }
};

Result<std::string> absolute(const std::string& path) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) return sys_failf("{}", path);
  return std::string(buf);
}

// An unprivileged user may write a map of its own id only; anything more goes through
// the setuid newuidmap/newgidmap (Debian's uidmap), which check /etc/subuid and
// /etc/subgid.
bool needs_id_helper(const std::vector<oci::IdMapping>& maps, uint32_t own) {
  return maps.size() > 1 || (maps.size() == 1 && (maps[0].host_id != own || maps[0].size != 1));
}

Status run_id_helper(const char* name, pid_t pid, const std::vector<oci::IdMapping>& maps) {
  std::string path;
  for (const char* dir : {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"}) {
    std::string p = std::string(dir) + name;
    if (::access(p.c_str(), X_OK) == 0) {
      path = p;
      break;
    }
  }
  if (path.empty())
    return failf(
        "rootless: {} not found (install uidmap): the config maps more than the "
        "user's own id",
        name);
  oci::Hook h;
  h.path = path;
  h.args = {name, std::to_string(pid)};
  for (const auto& m : maps) {
    h.args.push_back(std::to_string(m.container_id));
    h.args.push_back(std::to_string(m.host_id));
    h.args.push_back(std::to_string(m.size));
  }
  h.timeout = 30;
  return run_program(h, {}, path);
}

Status write_id_maps(pid_t pid, const oci::Linux& lx, bool rootless) {
  auto render = [](const std::vector<oci::IdMapping>& maps) {
    std::string s;
    for (const auto& m : maps) s += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
    return s;
  };
  std::string base = fmt::format("/proc/{}/", pid);
  if (rootless && needs_id_helper(lx.uid_mappings, ::geteuid()))
    HULL_CHECK(run_id_helper("newuidmap", pid, lx.uid_mappings));
  else if (!lx.uid_mappings.empty())
    HULL_CHECK(fs::write_existing(base + "uid_map", render(lx.uid_mappings)));
  if (rootless && needs_id_helper(lx.gid_mappings, ::getegid())) {
    HULL_CHECK(run_id_helper("newgidmap", pid, lx.gid_mappings));
  } else if (!lx.gid_mappings.empty()) {
    // Without CAP_SETGID, gid_map can only be written once setgroups is denied (3.19).
    if (rootless) HULL_CHECK(fs::write_existing(base + "setgroups", "deny"));
    HULL_CHECK(fs::write_existing(base + "gid_map", render(lx.gid_mappings)));
  }
  return {};
}

// Namespaces this process joined for the child's sake, and how to get back to its own.
struct RestoreNamespaces {
  std::vector<std::pair<UniqueFd, int>> saved;
  Status now() {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it)
      if (::setns(it->first.get(), it->second) < 0)
        return sys_fail("return to the runtime's own namespaces");
    saved.clear();
    return {};
  }
  ~RestoreNamespaces() { (void)now(); }
};

// As runc: a sysctl may be set only where the container has its own copy of it, so that
// a config cannot change the host's kernel through a shared namespace.
Status validate_sysctl(const oci::Linux& lx) {
  auto is_new = [&](oci::NamespaceType t) {
    const oci::Namespace* n = lx.find_namespace(t);
    return n != nullptr;
  };
  for (const auto& [raw, value] : lx.sysctl) {
    std::string key = raw;
    std::replace(key.begin(), key.end(), '/', '.');
    bool ipc = key.starts_with("fs.mqueue.") || key == "kernel.msgmax" || key == "kernel.msgmnb" ||
               key == "kernel.msgmni" || key == "kernel.sem" || key == "kernel.shmall" ||
               key == "kernel.shmmax" || key == "kernel.shmmni" || key == "kernel.shm_rmid_forced";
    if (ipc) {
      if (!is_new(oci::NamespaceType::ipc))
        return failf("config.json: linux.sysctl: \"{}\" needs an ipc namespace", raw);
      continue;
    }
    if (key.starts_with("net.")) {
      if (!is_new(oci::NamespaceType::network))
        return failf("config.json: linux.sysctl: \"{}\" needs a network namespace", raw);
      continue;
    }
    // runc and crun refuse it: hostname is the field for that, and the two could disagree.
    if (key == "kernel.hostname")
      return failf(
          "config.json: linux.sysctl: \"{}\" is not allowed: set the hostname field instead", raw);
    if (key == "kernel.domainname") {
      if (!is_new(oci::NamespaceType::uts))
        return failf("config.json: linux.sysctl: \"{}\" needs a uts namespace", raw);
      continue;
    }
    return failf("config.json: linux.sysctl: \"{}\" is not in a separate kernel namespace", raw);
  }
  return {};
}

Status validate(const oci::Spec& spec, const CreateOptions& opts, LaunchMode mode) {
  if (!spec.process) return fail("config.json: process: required to create a container");
  if (spec.process->args.empty()) return fail("config.json: process.args: must not be empty");
  const auto& lx = spec.linux;
  if (!lx.has_namespace(oci::NamespaceType::mount))
    return fail("config.json: linux.namespaces: a mount namespace is required");
  if (!spec.hostname.empty() && !lx.has_namespace(oci::NamespaceType::uts))
    return fail("config.json: hostname: setting it needs a new uts namespace");
  if (spec.process->terminal && mode != LaunchMode::run && opts.console_socket.empty())
    return fail("process.terminal is true: --console-socket is required when detaching");
  if (!spec.process->terminal && !opts.console_socket.empty())
    return fail("--console-socket is only used with process.terminal true");
  HULL_CHECK(validate_sysctl(spec.linux));
  HULL_CHECK(check_lsm_support(*spec.process));
  if (!spec.linux.time_offsets.empty() && !spec.linux.has_namespace(oci::NamespaceType::time))
    return fail("config.json: linux.timeOffsets: needs a new time namespace");
  return {};
}

}  // namespace

int listen_fds_from_env() {
  const char* fds = ::getenv("LISTEN_FDS");
  if (!fds) return 0;  // the usual case: nothing more to look at
  const char* pid = ::getenv("LISTEN_PID");
  auto n = parse_int<int>(fds);
  if (!pid || !n || *n <= 0 || parse_int<pid_t>(pid) != ::getpid()) return 0;
  return *n;
}

Result<Launched> launch(const StateStore& store, const CreateOptions& opts, LaunchMode mode) {
  auto bundle = absolute(opts.bundle);
  if (!bundle) return std::unexpected(bundle.error().wrap("bundle"));
  auto spec = oci::load_spec(*bundle);
  if (!spec) return std::unexpected(spec.error());
  CreateOptions o = opts;
  o.bundle = *bundle;
  o.bundle_resolved = true;
  if (o.listen_fds > 0 && spec->process) {
    // As runc: the fds come first, the --preserve-fds ones after them, and the program's
    // LISTEN_PID is 1, its pid in its own pid namespace. These replace the config's own.
    auto& env = spec->process->env;
    std::erase_if(env, [](const std::string& e) {
      return e.starts_with("LISTEN_FDS=") || e.starts_with("LISTEN_PID=");
    });
    env.push_back(fmt::format("LISTEN_FDS={}", o.listen_fds));
    env.push_back("LISTEN_PID=1");
    o.preserve_fds += o.listen_fds;
  }
  return launch(store, o, mode, *spec);
}

static Result<Launched> launch_inner(const StateStore& store, const CreateOptions& opts,
                                     LaunchMode mode, const oci::Spec& spec, bool* oom_killed);

Result<Launched> launch(const StateStore& store, const CreateOptions& opts, LaunchMode mode,
                        const oci::Spec& spec) {
  bool oom_killed = false;
  auto r = launch_inner(store, opts, mode, spec, &oom_killed);
  if (!r && oom_killed)
    return std::unexpected(r.error().wrap("container init was OOM-killed (memory limit too low?)"));
  return r;
}

static Result<Launched> launch_inner(const StateStore& store, const CreateOptions& opts,
                                     LaunchMode mode, const oci::Spec& spec, bool* oom_killed) {
  HULL_CHECK(validate_id(opts.id));
  HULL_CHECK(validate(spec, opts, mode));
  const auto& lx = spec.linux;
  // Uid 0 of a user namespace (the rootless engine's) is rootless too: no cgroup without
  // delegation, no mknod.
  const bool rootless = ::geteuid() != 0 || userns::running_in_user_ns();
  // CVE-2019-5736: until it execs, init is this binary; in a pid namespace shared with
  // other processes that may hold CAP_SYS_PTRACE, run from a sealed copy. A joined pid
  // namespace holds processes this config says nothing about (another container's, with
  // whatever capabilities and user namespace it has): always. The host's: when this
  // container's own processes, which will see the runtime's later execs, could ptrace it.
  const auto* pidns = lx.find_namespace(oci::NamespaceType::pid);
  const bool joins_pidns = pidns && !pidns->path.empty();
  if (joins_pidns || (!pidns && !lx.has_namespace(oci::NamespaceType::user))) {
    uint64_t bnd = 0;  // absent: no capabilities at all (apply_user_and_caps)
    if (spec.process->capabilities)
      for (int c : spec.process->capabilities->bounding) bnd |= uint64_t{1} << (c & 63);
    if (joins_pidns || could_ptrace_runtime(bnd, 0)) {
      // The engine creates from its monitor, forked mid-way through `hull run`: a re-exec
      // would run the command again. For `--pid container:NAME` the CLI (or `hull
      // __relaunch`) re-executed from a sealed copy before anything else, so the monitor
      // forked from it runs from that copy; a joined pid namespace without one is a bug:
      // refused, not left to PR_SET_DUMPABLE, which does not stop a peer holding
      // CAP_SYS_PTRACE. Its `--pid host` needs no copy: whoever holds CAP_SYS_PTRACE over
      // the host's user namespace in the host's pid namespace can open /proc/<pid>/exe of
      // every hull process (a `hull ps`) anyway.
      if (!opts.in_engine_monitor)
        HULL_CHECK(reexec_from_sealed_copy());
      else if (joins_pidns && !running_from_sealed_copy())
        return fail(
            "CVE-2019-5736: the engine joins another pid namespace only from a sealed copy of "
            "hull (it was not re-executed from one)");
    }
  }

  auto find_rootfs = [&]() -> Result<std::string> {
    std::string rootfs = spec.root.path;
    // The usual "rootfs", one name in a resolved bundle, needs no realpath (a readlink for
    // each component of the path) when it is a directory itself, not a symlink.
    const bool one_name = opts.bundle_resolved && !rootfs.empty() &&
                          rootfs.find('/') == std::string::npos && rootfs != "." && rootfs != "..";
    if (rootfs.empty() || rootfs.front() != '/') rootfs = opts.bundle + "/" + rootfs;
    struct stat st {};
    if (one_name && ::lstat(rootfs.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return rootfs;
    if (::stat(rootfs.c_str(), &st) < 0) return sys_failf("rootfs {}", rootfs);
    if (!S_ISDIR(st.st_mode)) return failf("rootfs {}: not a directory", rootfs);
    return absolute(rootfs);
  };
  // With a before_clone hook the rootfs may be mounted meanwhile: it is looked at after.
  std::string rootfs_abs;
  if (!opts.before_clone) rootfs_abs = HULL_TRY(find_rootfs());

  // Declared before the guard, which refers to them while it unwinds.
  std::unique_ptr<cgroups::Manager> cgroup;
  Child child;
  State kept;  // --keep: what state.json says of a start that failed
  Undo undo;
  undo.store = &store;
  undo.id = opts.id;
  undo.oom_killed = oom_killed;
  UniqueFd dirfd = HULL_TRY(store.create_dir(opts.id));
  undo.dir_made = true;

  UniqueFd fifo;
  if (mode == LaunchMode::create) {
    if (::mkfifoat(dirfd.get(), "exec.fifo", 0622) < 0) return sys_fail("mkfifo exec.fifo");
    // The umask must not take the write bit for others: the program may run as any user,
    // or as a mapped root that is no one on the host.
    if (::fchmodat(dirfd.get(), "exec.fifo", 0622, 0) < 0) return sys_fail("chmod exec.fifo");
    fifo.reset(::openat(dirfd.get(), "exec.fifo", O_PATH | O_CLOEXEC));
    if (!fifo) return sys_fail("open exec.fifo");
  }

  auto cg = cgroups::make_manager({opts.id, lx.cgroups_path, rootless, lx.devices});
  if (!cg) return std::unexpected(cg.error().wrap("cgroup"));
  cgroup = std::move(*cg);
  // Until state.json, what destroy finds if this process dies (a killed engine monitor):
  // noted before the directories are made (and again before any parent it must make), so
  // that no moment leaves one unnamed.
  auto note = [&](const Json& j) { return store.save_cgroup_at(dirfd.get(), j); };
  HULL_CHECK(note(cgroup->to_json()));
  const oci::Resources* res = lx.resources ? &*lx.resources : nullptr;
  if (auto r = cgroup->create(res, note); !r) return std::unexpected(r.error().wrap("cgroup"));
  undo.cgroup = cgroup.get();
  // What state.json says of the container whatever its process: the created one's below,
  // and run --keep's of a start that fails before it.
  auto describe = [&](State& st) {
    st.id = opts.id;
    st.bundle = opts.bundle;
    st.rootfs = rootfs_abs;
    st.created = rfc3339_now();
    st.annotations = spec.annotations;
    st.cgroup = cgroup->to_json();
    if (lx.resources) st.resources = oci::to_json(*lx.resources);
    st.hooks.poststart = spec.hooks.poststart;
    st.hooks.poststop = spec.hooks.poststop;
    st.owner = rootless ? std::to_string(::geteuid()) : "root";
    st.no_new_keyring = opts.no_new_keyring;
  };
  if (opts.keep_on_failure) {
    describe(kept);
    undo.keep = &kept;
  }
  if (opts.before_clone) {
    HULL_CHECK(opts.before_clone());
    rootfs_abs = HULL_TRY(find_rootfs());
    kept.rootfs = rootfs_abs;
  }

  // Namespaces given by path are joined by this process before clone, so the child starts
  // in them and new namespaces nest correctly (a joined user namespace owns the new ones).
  // The mount namespace is joined by the child, as this process still needs the host's.
  uint64_t clone_flags = 0;
  bool new_user = false;
  RestoreNamespaces restore;
  UniqueFd mount_ns, user_ns, net_ns;
  // In a user namespace this process could not setns back to the host's pid, ipc, uts or
  // cgroup namespaces (the initial user namespace owns them): a short-lived thread joins
  // them and clones the child, and ends (see clone below).
  const bool joined_by_thread = rootless && userns::running_in_user_ns();
  struct ThreadJoin {
    UniqueFd fd;
    const oci::Namespace* ns;
  };
  std::vector<ThreadJoin> thread_joins;
  for (const auto& ns : lx.namespaces) {
    if (ns.path.empty()) {
      if (ns.type == oci::NamespaceType::user) new_user = true;
      if (ns.type != oci::NamespaceType::cgroup)
        clone_flags |= static_cast<uint64_t>(oci::namespace_clone_flag(ns.type));
      continue;
    }
    UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_failf("open {} namespace {}", oci::namespace_name(ns.type), ns.path);
    if (ns.type == oci::NamespaceType::mount)
      mount_ns = std::move(fd);
    else if (ns.type == oci::NamespaceType::user)
      user_ns = std::move(fd);
    else if (ns.type == oci::NamespaceType::network && rootless && userns::running_in_user_ns())
      // In a user namespace this process could not setns back to the host's netns (the
      // initial namespace owns it): the child joins it instead.
      net_ns = std::move(fd);
    else if (joined_by_thread &&
             (ns.type == oci::NamespaceType::pid || ns.type == oci::NamespaceType::ipc ||
              ns.type == oci::NamespaceType::uts || ns.type == oci::NamespaceType::cgroup))
      thread_joins.push_back({std::move(fd), &ns});
    else {
      // The engine launches in-process and lives on (its monitor tears down the network
      // after the container): remember where this process was, to come back after clone.
      std::string own = fmt::format("/proc/thread-self/ns/{}",
                                    ns.type == oci::NamespaceType::pid
                                        ? std::string("pid_for_children")
                                        : std::string(oci::namespace_proc_name(ns.type)));
      UniqueFd back(::open(own.c_str(), O_RDONLY | O_CLOEXEC));
      if (!back) return sys_failf("open {}", own);
      restore.saved.emplace_back(std::move(back), oci::namespace_clone_flag(ns.type));
      if (::setns(fd.get(), oci::namespace_clone_flag(ns.type)) < 0)
        return sys_failf("join {} namespace {}", oci::namespace_name(ns.type), ns.path);
    }
  }
  if (user_ns && ::setns(user_ns.get(), CLONE_NEWUSER) < 0) return sys_fail("join user namespace");
  const oci::Namespace* cgns = lx.find_namespace(oci::NamespaceType::cgroup);

  std::optional<seccomp::Filter> filter;
  if (lx.seccomp) {
    auto f = seccomp::compile_cached(*lx.seccomp, store.root() + "/.cache/seccomp");
    if (!f) return std::unexpected(f.error());
    filter = std::move(*f);
    HULL_CHECK(save_filter(dirfd.get(), *filter));
  }

  auto [parent_sock, child_sock] = HULL_TRY(SyncSocket::make_pair());
  InitContext ctx;
  ctx.seccomp = filter ? &*filter : nullptr;
  ctx.spec = &spec;
  ctx.rootfs = rootfs_abs;
  ctx.bundle = opts.bundle;
  ctx.sync = &child_sock;
  ctx.fifo_fd = fifo ? fifo.get() : -1;
  ctx.mount_ns_fd = mount_ns ? mount_ns.get() : -1;
  ctx.net_ns_fd = net_ns ? net_ns.get() : -1;
  ctx.new_user_ns = new_user;
  ctx.in_user_ns = new_user || rootless;
  ctx.new_mount_ns = !mount_ns;
  ctx.new_net_ns = (clone_flags & CLONE_NEWNET) != 0;
  ctx.unshare_cgroup_ns = cgns && cgns->path.empty();
  ctx.no_pivot = opts.no_pivot;
  if (!opts.no_new_keyring) ctx.session_keyring = "_ses." + opts.id;
  ctx.preserve_fds = opts.preserve_fds;
  ctx.default_signals = opts.default_signals;
  ctx.setgroups_allowed = !(new_user && rootless && !needs_id_helper(lx.gid_mappings, ::getegid()));
  // Joined, not made: the namespace we are in may have setgroups denied (a single mapping).
  if (!new_user && rootless)
    if (auto sg = fs::read_file("/proc/self/setgroups");
        sg && sg->find("deny") != std::string::npos)
      ctx.setgroups_allowed = false;
  ctx.keep_fds = {child_sock.get()};
  if (fifo) ctx.keep_fds.push_back(fifo.get());
  if (mount_ns) ctx.keep_fds.push_back(mount_ns.get());
  if (net_ns) ctx.keep_fds.push_back(net_ns.get());

  // Signals that arrive before run's wait loop stay pending and are forwarded then.
  if (mode == LaunchMode::run) block_forwarded_signals();

  // Time offsets can only be written before any process lives in the namespace, so this
  // process makes it for its children (time_for_children), writes the offsets, and the
  // child is cloned straight into it; this process's own clocks are untouched.
  UniqueFd own_time_ns;
  if (const auto* tn = lx.find_namespace(oci::NamespaceType::time);
      tn && tn->path.empty() && !lx.time_offsets.empty()) {
    own_time_ns.reset(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
    if (!own_time_ns) return sys_fail("open /proc/self/ns/time_for_children");
    if (::unshare(CLONE_NEWTIME) < 0) return sys_fail("unshare time namespace");
    std::string offsets;
    for (const auto& [clock, off] : lx.time_offsets)
      offsets += fmt::format("{} {} {}\n", clock, off.secs, off.nanosecs);
    if (auto r = fs::write_existing("/proc/self/timens_offsets", offsets); !r)
      return std::unexpected(r.error().wrap("linux.timeOffsets"));
    clone_flags &= ~static_cast<uint64_t>(CLONE_NEWTIME);
  }

  // How the child gets into its cgroup, fastest first: clone3 into it (v2); the child
  // moving itself through v1 `tasks` files (plus clone3 into the hybrid cgroup2 dir),
  // which needs no RCU grace period but host root (not possible from a user namespace);
  // else this process writes cgroup.procs while the child mounts (see kGoJoinPending).
  UniqueFd cg_fd = cgroup->clone_into_fd();
  cgroups::Manager::SelfJoin self_join;
  if (!new_user && !user_ns) self_join = cgroup->self_join();
  if (!self_join.tasks.empty()) {
    ctx.join_tasks = self_join.tasks;
    if (!self_join.clone_into.empty())
      cg_fd.reset(::open(self_join.clone_into.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  if (thread_joins.empty()) {
    child = HULL_TRY(clone_child(clone_flags, cg_fd.get()));
  } else {
    // setns of pid (pid_for_children), ipc, uts and cgroup namespaces is per thread, and
    // the thread's end is the way back. The child is a copy of that thread; once the
    // thread is gone the kernel makes this one its parent (another thread of the group).
    // The thread shares this one's time_for_children, so time offsets still apply.
    child = HULL_TRY(on_own_thread([&]() -> Result<Child> {
      for (const auto& j : thread_joins)
        if (::setns(j.fd.get(), oci::namespace_clone_flag(j.ns->type)) < 0)
          return sys_failf("join {} namespace {}", oci::namespace_name(j.ns->type), j.ns->path);
      auto c = clone_child(clone_flags, cg_fd.get());
      if (c && c->pid == 0) {
        parent_sock.close();
        init_main(ctx);
      }
      return c;
    }));
  }
  if (child.pid == 0) {
    parent_sock.close();
    init_main(ctx);
  }
  undo.child = child.pid;
  undo.pidfd = child.pidfd.get();
  if (opts.keep_on_failure) {
    // Its start time while it surely runs: `state` then says stopped, never a reused pid.
    kept.pid = child.pid;
    kept.pid_start_time = process_start_time(child.pid).value_or(0);
  }
  HULL_CHECK(restore.now());
  if (own_time_ns && ::setns(own_time_ns.get(), CLONE_NEWTIME) < 0)
    return sys_fail("restore time namespace");
  child_sock.close();
  State partial;  // what hooks see on stdin before state.json exists
  partial.id = opts.id;
  partial.pid = undo.child;
  partial.bundle = opts.bundle;
  partial.annotations = spec.annotations;
  undo.poststop = spec.hooks.poststop;
  undo.stopped_state = oci_state(partial, ContainerStatus::stopped).dump();

  if (new_user) HULL_CHECK(write_id_maps(undo.child, lx, rootless));
  HULL_CHECK(apply_oom_score_adj(undo.child, *spec.process));
  // The child waits for kJoined before anything that needs its cgroup: the cgroup mount
  // (which binds the cgroups it is in), hooks (they look the pid's cgroup up), a cgroup
  // namespace, and exec (kAck comes later still).
  const bool self_joined = !ctx.join_tasks.empty();
  const bool join_pending = !child.in_cgroup && (!self_joined || !self_join.clone_into.empty());
  HULL_CHECK(parent_sock.send(SyncType::kGo, {}, -1, join_pending ? kGoJoinPending : 0));
  if (join_pending) {
    if (self_joined)
      HULL_CHECK(cgroup->add_pid_after_self_join(undo.child, false));
    else
      HULL_CHECK(cgroup->add_pid(undo.child));
    HULL_CHECK(parent_sock.send(SyncType::kJoined));
  }

  Launched out;
  for (;;) {
    auto m = HULL_TRY(parent_sock.recv());
    if (m.type == SyncType::kError) return fail(std::move(m.text), m.err);
    if (m.type == SyncType::kReady) break;
    if (m.type == SyncType::kHooks) {
      // The child has its mounts and waits before pivot_root; these hooks run here, in
      // the runtime's namespaces.
      std::string st = oci_state(partial, ContainerStatus::creating).dump();
      HULL_CHECK(run_hooks(spec.hooks.prestart, st, "prestart"));
      HULL_CHECK(run_hooks(spec.hooks.create_runtime, st, "createRuntime"));
      HULL_CHECK(parent_sock.send(SyncType::kHooksDone, st));
    } else if (m.type == SyncType::kSeccompFd) {
      HULL_CHECK(seccomp::send_listener_fd(lx.seccomp->listener_path, m.fd.get(),
                                           oci_state(partial, ContainerStatus::creating).dump(),
                                           lx.seccomp->listener_metadata));
    } else if (m.type == SyncType::kConsole) {
      if (opts.console_socket.empty()) {
        out.console = std::move(m.fd);
      } else {
        HULL_CHECK(send_console_fd(opts.console_socket, m.fd.get()));
      }
    } else {
      return failf("sync: unexpected message {}", static_cast<uint32_t>(m.type));
    }
  }

  State& s = out.state;
  describe(s);
  s.pid = undo.child;
  s.pid_start_time = HULL_TRY(process_start_time(s.pid));
  s.created_user_ns = new_user;
  if (const auto* pidns = lx.find_namespace(oci::NamespaceType::pid))
    s.own_pid_ns = pidns->path.empty();
  HULL_CHECK(store.save_at(dirfd.get(), s));
  if (opts.keep_on_failure) kept = s;
  if (!opts.pid_file.empty()) HULL_CHECK(fs::write_output(opts.pid_file, std::to_string(s.pid)));

  HULL_CHECK(
      parent_sock.send(SyncType::kAck, {}, -1, mode == LaunchMode::create ? 0 : kAckStartNow));
  if (mode != LaunchMode::create) {
    // The socket is CLOEXEC in the child: EOF means execve succeeded.
    auto m = parent_sock.recv();
    if (m) {
      if (m->type == SyncType::kError) return fail(std::move(m->text), m->err);
      return failf("sync: unexpected message {}", static_cast<uint32_t>(m->type));
    }
    if (m.error().code != EPIPE) return std::unexpected(m.error());
    // The program runs; a failing poststart hook is a warning (runtime-spec config.md).
    run_hooks_warn(spec.hooks.poststart, oci_state(s, ContainerStatus::running).dump(),
                   "poststart");
  }
  undo.committed = true;
  out.pidfd = std::move(child.pidfd);
  return out;
}

}  // namespace hull::runtime

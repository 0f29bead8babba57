// What the container's init (the cloned child) needs to set the container up. Built by
// the parent before clone; the child reads its own copy of it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "oci/spec.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/sync.hpp"

namespace hull::runtime {

struct InitContext {
  const oci::Spec* spec = nullptr;
  std::string rootfs;  // absolute host path
  std::string bundle;  // absolute host path
  SyncSocket* sync = nullptr;
  int fifo_fd = -1;      // O_PATH fd of exec.fifo; -1 when run starts at once
  int mount_ns_fd = -1;  // a mount namespace to join by path
  int net_ns_fd = -1;    // a network namespace to join by path (rootless engine)
  bool new_user_ns = false;
  // In a user namespace (a new one, or the rootless engine's): no mknod, sysfs and mqueue
  // may need a bind instead.
  bool in_user_ns = false;
  bool new_mount_ns = false;
  bool new_net_ns = false;         // made by clone: init brings its lo up, as runc and crun do
  bool unshare_cgroup_ns = false;  // after joining the cgroup (not done by clone3)
  bool no_pivot = false;
  std::string session_keyring;    // "_ses.<id>"; empty with --no-new-keyring
  bool setgroups_allowed = true;  // false when gid_map was written after setgroups=deny
  int preserve_fds = 0;
  bool default_signals = false;  // CreateOptions::default_signals
  // v1 `tasks` files init writes "0" to, first thing after kGo (cgroups::Manager::SelfJoin).
  std::vector<std::string> join_tasks;
  std::vector<int> keep_fds;                 // fds above 2 that survive the early close
  const seccomp::Filter* seccomp = nullptr;  // compiled by the parent
};

// Runs in the child after clone; never returns.
[[noreturn]] void init_main(InitContext& ctx);

// The steps init and exec share once the process is in the container's namespaces and
// root: session and tty, rlimits, cwd, user and capabilities, then the program found in
// $PATH; seccomp (before the capability drop without no_new_privs, which needs
// CAP_SYS_ADMIN, else as late as the handshake allows); kReady, and on kAck wait_start
// (init: the exec fifo unless started at once, then the startContainer hooks), then exec.
Status become_process(const oci::Process& proc, const SyncSocket& sync, UniqueFd tty_slave,
                      bool setgroups_allowed, int preserve_fds, const seccomp::Filter* filter,
                      const std::function<Status()>& wait_start);

// The compiled filter kept in the state dir, so exec applies the container's filter.
Status save_filter(int dirfd, const seccomp::Filter& f);
Result<seccomp::Filter> load_filter(const std::string& path);
// Closes every inherited fd except stdio, the preserved ones (3..3+preserve_fds-1) and
// keep, so no host directory fd can be reached through /proc/self/fd (CVE-2024-21626).
void close_inherited_fds(std::vector<int> keep, int preserve_fds);
// Sends r (an error) to the parent and exits with 127/126/1 as runc does.
[[noreturn]] void report_and_exit(const SyncSocket& sync, const Status& r);

}  // namespace hull::runtime

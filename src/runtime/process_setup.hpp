// The process attributes of config.json's `process`, applied by init after the rootfs is
// in place: rlimits, oom_score_adj, the user and groups, the five capability sets, and the
// program to exec found in $PATH with runc's error phrases.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/spec.hpp"

namespace hull::runtime {

Status apply_rlimits(const oci::Process& p);
// Written by the parent into /proc/PID: the child is not dumpable, so inside a user
// namespace it could not write its own /proc files.
Status apply_oom_score_adj(pid_t pid, const oci::Process& p);
// setgroups/setresgid/setresuid, keeping the capabilities the config gives across the
// uid change; then no_new_privs. `setgroups_allowed` is false in a user namespace whose
// setgroups file says deny.
Status apply_user_and_caps(const oci::Process& p, bool setgroups_allowed);
// Drops the bounding set to the config's (needs CAP_SETPCAP: call while still root).
Status drop_bounding_set(const oci::Process& p);

// process.apparmorProfile and process.selinuxLabel. On a host without that LSM runc and
// crun refuse the config rather than run the program unconfined; so does
// check_lsm_support, in the parent before anything is made. apply_lsm_labels, in the
// child, asks for the profile or label at the coming execve.
Status check_lsm_support(const oci::Process& p);
Status apply_lsm_labels(const oci::Process& p);

// runc's session keyring: the process joins "_ses.<id>" (made when absent, then searchable
// by its owner as runc sets it) instead of inheriting the caller's session keyring and
// the keys in it. Skipped where the kernel has no keyrings (ENOSYS, as runc) or a
// seccomp filter around the runtime refuses keyctl (EPERM: Docker's default profile).
Status join_session_keyring(const std::string& name);

// Finds args[0] as execve would after a PATH lookup in env. Errors use runc's phrases,
// which engines map to exit codes: `exec: "x": executable file not found in $PATH` (127),
// `exec: "/x": stat /x: no such file or directory` (127), `exec: "/x": permission denied`
// (126).
Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env);

}  // namespace hull::runtime

// The flags `run` and `create` share, as docker spells them. Flags only: validation and
// meaning are engine::build_spec's.
#pragma once

#include <cstdlib>
#include <memory>

#include "cli/engine/verb.hpp"
#include "common/signals.hpp"
#include "engine/engine.hpp"
#include "engine/monitor.hpp"
#include "engine/spec_builder.hpp"

namespace hull::cli {

// A repeatable option taking one value per occurrence (`-e A -e B`), so that the image
// name and the command after it are never swallowed.
inline CLI::Option* add_multi(CLI::App* c, const std::string& name, std::vector<std::string>& v,
                              const std::string& desc) {
  return c->add_option(name, v, desc)->allow_extra_args(false)->type_size(1);
}

inline void add_run_flags(CLI::App* c, engine::RunOptions& o) {
  // Flags stop at the image (the first word that is not a flag): what follows is the
  // command and its own flags. No positional is declared, so that with --rootfs the
  // command's own flags (`sh -c`) are never taken for hull's.
  c->prefix_command();
  c->footer("Usage: IMAGE [COMMAND [ARG...]], or --rootfs DIR COMMAND [ARG...]");
  c->set_help_flag("--help", "print this help");  // -h is --hostname, as in docker
  c->add_flag("-d,--detach", o.detach, "run in the background and print the container id");
  c->add_flag("-i,--interactive", o.interactive, "keep stdin open");
  c->add_flag("-t,--tty", o.tty, "allocate a pseudo-terminal");
  c->add_flag("--rm", o.rm, "remove the container when it exits");
  c->add_option("--name", o.name, "container name");
  add_multi(c, "-e,--env", o.env, "set an environment variable (NAME=VALUE, or NAME to copy)");
  add_multi(c, "--env-file", o.env_files, "read environment variables from a file");
  c->add_option("-w,--workdir", o.workdir, "working directory inside the container");
  c->add_option("-u,--user", o.user, "user: name|uid[:group|gid]");
  add_multi(c, "--group-add", o.group_add, "another group for the process (name or gid)");
  c->add_option("--entrypoint", o.entrypoint, "override the image's entrypoint");
  c->add_option("-h,--hostname", o.hostname, "container host name");
  add_multi(c, "-v,--volume", o.volumes, "bind mount or volume: SRC:DST[:ro]");
  add_multi(c, "--mount", o.mounts, "mount: type=bind|volume|tmpfs,source=,target=,...");
  add_multi(c, "--tmpfs", o.tmpfs, "tmpfs mount: DST[:OPTIONS]");
  c->add_flag("--read-only", o.read_only, "mount the root filesystem read-only");
  c->add_option("-m,--memory", o.memory, "memory limit (e.g. 64m)");
  c->add_option("--memory-swap", o.memory_swap, "memory plus swap limit, -1 for unlimited");
  c->add_option("--cpus", o.cpus, "number of CPUs (e.g. 1.5)");
  c->add_option("-c,--cpu-shares", o.cpu_shares, "CPU shares (relative weight)");
  c->add_option("--cpuset-cpus", o.cpuset_cpus, "CPUs allowed (e.g. 0-2,4)");
  c->add_option("--pids-limit", o.pids_limit, "maximum number of processes (-1 unlimited)");
  add_multi(c, "--ulimit", o.ulimits, "ulimit: NAME=SOFT[:HARD]");
  add_multi(c, "--cap-add", o.cap_add, "add a capability (or ALL)");
  add_multi(c, "--cap-drop", o.cap_drop, "drop a capability (or ALL)");
  c->add_flag("--privileged", o.privileged, "give all capabilities and devices, no seccomp");
  add_multi(c, "--security-opt", o.security_opts,
            "seccomp=unconfined|FILE, no-new-privileges, systempaths=unconfined");
  c->add_flag("--init", o.init, "run an init as PID 1 that reaps and forwards signals");
  c->add_option("--stop-signal", o.stop_signal, "signal to stop the container");
  c->add_option("--stop-timeout", o.stop_timeout, "seconds to wait before killing on stop");
  c->add_option("--restart", o.restart, "no|on-failure[:N]|always|unless-stopped");
  add_multi(c, "-l,--label", o.labels, "label KEY=VALUE");
  c->add_option("--pull", o.pull, "missing|always|never");
  c->add_option("--platform", o.platform, "platform of the image (linux/amd64)");
  c->add_option("--pid", o.pid_mode, "PID namespace: host");
  c->add_option("--ipc", o.ipc_mode, "IPC namespace: host");
  c->add_option("--uts", o.uts_mode, "UTS namespace: host");
  add_multi(c, "--sysctl", o.sysctls, "namespaced sysctl KEY=VALUE");
  c->add_option("--shm-size", o.shm_size, "size of /dev/shm (default 64m)");
  add_multi(c, "--log-opt", o.log_opts, "json-file log option: max-size=, max-file=");
  c->add_option("--network,--net", o.network,
                "network: none, host, container:NAME, or a network name");
  add_multi(c, "--network-alias", o.network_aliases, "another name on the network");
  c->add_option("--ip", o.ip, "IPv4 address on the network (e.g. 10.89.0.10)");
  c->add_option("--mac-address", o.mac_address, "eth0's MAC address (e.g. 02:42:0a:59:00:05)");
  c->add_option("--domainname", o.domainname, "container NIS domain name");
  add_multi(c, "-p,--publish", o.publish, "publish a port: [ip:]hostPort:containerPort[/proto]");
  c->add_flag("-P,--publish-all", o.publish_all, "publish every exposed port on a free host port");
  add_multi(c, "--add-host", o.add_hosts, "add a hosts entry NAME:IP (IP may be host-gateway)");
  add_multi(c, "--dns", o.dns, "DNS server for /etc/resolv.conf");
  add_multi(c, "--dns-search", o.dns_search, "DNS search domain");
  add_multi(c, "--dns-option,--dns-opt", o.dns_options, "resolv.conf option (e.g. ndots:2)");
  c->add_option("--rootfs", o.rootfs, "run a root filesystem directory instead of an image");
}

// After parsing: the command is what followed the image.
inline void finish_run_flags(CLI::App* c, engine::RunOptions& o) {
  o.command = c->remaining();
  if (!o.command.empty() && o.command.front() == "--") o.command.erase(o.command.begin());
  if (o.rootfs.empty() && !o.command.empty()) {
    o.image = o.command.front();
    o.command.erase(o.command.begin());
  }
}

inline Result<engine::Engine> open_engine(const EngineGlobals& g) {
  return engine::Engine::open(g.root, g.run_root);
}

// CVE-2019-5736: a launch into another container's pid namespace runs from a sealed copy
// of hull, made before anything else (docs/security.md). The copy runs this command line
// again with the stores given in the environment: a rootless hull has entered its user
// namespace, where its per-user defaults (from the real uid) are not found again.
inline Status reexec_sealed(const EngineGlobals& g) {
  ::setenv("HULL_ROOT", g.root.c_str(), 1);
  ::setenv("HULL_RUN_ROOT", g.run_root.c_str(), 1);
  return engine::reexec_sealed_hull();
}

// start and restart: when one of the containers joins another's pid namespace, before any
// container is touched.
inline Status seal_for_pid_joins(engine::Engine& e, const EngineGlobals& g,
                                 const std::vector<std::string>& refs) {
  for (const auto& ref : refs)
    if (auto c = e.db().find(ref); c && engine::joins_container(c->config.pid_mode))
      return reexec_sealed(g);
  return {};
}

// stop's and restart's -s: a name or number as kill takes it; empty is the container's own
// stop signal.
inline Result<std::optional<int>> parse_stop_signal(const std::string& text) {
  if (text.empty()) return std::optional<int>();
  auto sig = parse_signal(text);
  if (!sig || *sig == 0) return failf("invalid signal \"{}\"", text);
  return sig;
}

// A failed action's report: the docker CLI's 1 whatever the failure (a start that failed
// included: `docker restart` of a program not found exits 1).
inline int report_failure(const Error& e) {
  return verb_failure(e);
}
inline int report_failure(const engine::RunError& e) {
  return verb_failure(e.error);
}

// docker's multi-container verbs (stop, kill, pause...): the action runs on each named
// container in turn; each success prints the name as given, each failure is reported and
// the rest still run. The status is 1 if any failed, as docker's, else 0. action(engine, ref)
// returns std::expected<void, Error or engine::RunError>.
template <class Action>
int for_each_container(const EngineGlobals& g, const std::vector<std::string>& refs,
                       Action&& action) {
  auto e = open_engine(g);
  if (!e) return verb_failure(e.error());
  int rc = 0;
  for (const auto& ref : refs) {
    if (auto r = action(*e, ref); !r)
      rc = report_failure(r.error());
    else
      fmt::print("{}\n", ref);
  }
  return rc;
}

}  // namespace hull::cli

// hull-runtime exec [--process FILE] [-t --console-socket S] [-d] [--pid-file F] [-e K=V]
//                   [--cwd D] [-u UID[:GID]] [--additional-gids G] [-c CAP] [--no-new-privs]
//                   [--preserve-fds N] [--process-label L] [--apparmor P] [--ignore-paused]
//                   [--cgroup [CONTROLLER[,...]:]PATH]...
//                   ID [COMMAND [ARG...]]
// Without --process the container's own config.json process is the base, as runc does.
#include "cli/runtime/verb.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "oci/capabilities.hpp"
#include "runtime/container.hpp"

namespace hull::cli {
namespace {

struct ExecArgs {
  std::string id, process_file, cwd, user, process_label, apparmor;
  std::vector<std::string> command, env, caps, additional_gids, cgroups;
  bool tty = false, no_new_privs = false;
  runtime::ExecOptions opts;
};

Result<oci::Process> build_process(const Globals& g, ExecArgs& a) {
  if (!a.process_file.empty()) {
    auto text = HULL_TRY(fs::read_file(a.process_file == "-" ? "/dev/stdin" : a.process_file));
    oci::Process p = HULL_TRY(oci::parse_process(text, a.process_file));
    // Without capabilities of its own the process gets the container's, as with runc and
    // crun (absent would otherwise mean none at all).
    if (!p.capabilities) {
      auto state = HULL_TRY(store_of(g).load(a.id));
      auto spec = HULL_TRY(oci::load_spec(state.bundle));
      p.capabilities = spec.process && spec.process->capabilities ? *spec.process->capabilities
                                                                  : oci::Capabilities{};
    }
    return p;
  }
  if (a.command.empty()) return fail("exec: a command or --process is required");
  auto state = HULL_TRY(store_of(g).load(a.id));
  auto spec = HULL_TRY(oci::load_spec(state.bundle));
  if (!spec.process) return fail("config.json has no process to base exec on");
  oci::Process p = *spec.process;
  p.args = a.command;
  p.terminal = a.tty;
  p.console_size.reset();
  for (const auto& e : a.env) p.env.push_back(e);
  if (!a.cwd.empty()) {
    // runc: "Cwd must be an absolute path"; a relative one would resolve against wherever
    // init's setup left the process.
    if (a.cwd.front() != '/') return failf("--cwd \"{}\": cwd must be an absolute path", a.cwd);
    p.cwd = a.cwd;
  }
  if (!a.process_label.empty()) p.selinux_label = a.process_label;
  if (!a.apparmor.empty()) p.apparmor_profile = a.apparmor;
  if (!a.user.empty()) {
    auto parts = split(a.user, ':');
    auto uid = parse_int<uid_t>(parts[0]);
    if (!uid || parts.size() > 2) return failf("--user {}: expected UID[:GID]", a.user);
    p.user.uid = *uid;
    if (parts.size() == 2) {
      auto gid = parse_int<gid_t>(parts[1]);
      if (!gid) return failf("--user {}: expected UID[:GID]", a.user);
      p.user.gid = *gid;
    }
  }
  for (const auto& g2 : a.additional_gids) {
    auto gid = parse_int<gid_t>(g2);
    if (!gid) return failf("--additional-gids {}: not a number", g2);
    p.user.additional_gids.push_back(*gid);
  }
  if (!a.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    for (const auto& c : a.caps) {
      auto cap = oci::capability_from_name(c);
      if (!cap) return failf("--cap {}: unknown capability", c);
      for (auto* set :
           {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted})
        set->push_back(*cap);
    }
  }
  if (a.no_new_privs) p.no_new_privileges = true;
  return p;
}

// runc's --cgroup values: PATH (every controller) or CONTROLLER[,CONTROLLER...]:PATH, each
// controller and the bare path at most once.
Result<std::map<std::string, std::string>> parse_sub_cgroups(const std::vector<std::string>& args) {
  std::map<std::string, std::string> out;
  for (const auto& arg : args) {
    auto colon = arg.find(':');
    if (colon == std::string::npos) {
      if (!out.emplace("", arg).second)
        return fail("invalid --cgroup argument(s): multiple <path> values specified");
      continue;
    }
    std::string path = arg.substr(colon + 1);
    for (auto controller : split(std::string_view(arg).substr(0, colon), ',')) {
      if (controller.empty())
        return failf("invalid --cgroup argument: {} (empty <controller> prefix)", arg);
      if (!out.emplace(std::string(controller), path).second)
        return failf("invalid --cgroup argument(s): controller {} specified multiple times",
                     controller);
    }
  }
  return out;
}

}  // namespace

HULL_VERB(exec, [](CLI::App& app, Globals& g) {
  auto a = std::make_shared<ExecArgs>();
  auto* c = app.add_subcommand("exec", "run a new process in a running container");
  c->add_option("id", a->id, "container id")->required();
  c->add_option("-p,--process", a->process_file, "OCI process JSON file (- for stdin)");
  c->add_flag("-t,--tty", a->tty, "allocate a pty");
  c->add_option("--console-socket", a->opts.console_socket, "socket receiving the pty master");
  c->add_flag("-d,--detach", a->opts.detach, "return once the process runs");
  c->add_option("--pid-file", a->opts.pid_file, "file to write the process's pid to");
  // One value per occurrence, as runc's: a vector option would otherwise take the id and
  // the command after it as more values (`exec -e A=1 ID sh` had no id).
  auto repeatable = [c](std::string name, std::vector<std::string>& v, std::string desc) {
    c->add_option(std::move(name), v, std::move(desc))->allow_extra_args(false)->type_size(1);
  };
  repeatable("-e,--env", a->env, "KEY=VALUE to add to the environment");
  c->add_option("--cwd", a->cwd, "working directory in the container");
  c->add_option("-u,--user", a->user, "UID[:GID]");
  repeatable("-g,--additional-gids", a->additional_gids, "additional group ids");
  repeatable("-c,--cap", a->caps, "add a capability");
  c->add_flag("--no-new-privs", a->no_new_privs, "set no_new_privs");
  c->add_option("--process-label", a->process_label, "SELinux label of the process");
  c->add_option("--apparmor", a->apparmor, "AppArmor profile of the process");
  repeatable("--cgroup", a->cgroups,
             "run in this sub-cgroup of the container's: PATH, or CONTROLLER[,...]:PATH (v1)");
  c->add_flag("--ignore-paused", a->opts.ignore_paused, "allow exec in a paused container");
  c->add_option("--preserve-fds", a->opts.preserve_fds, "pass N extra fds (from 3)")
      ->check(CLI::NonNegativeNumber);
  // Everything after the id is the command, flags included (`exec ID sh -c "..."`).
  c->prefix_command();
  return [a, c, &g] {
    a->command = c->remaining();
    // CLI11 collects an unknown flag before the id with the command; runc refuses it. A
    // command never starts with '-', so that is where one shows.
    if (!a->command.empty() && a->command[0].starts_with('-'))
      return report(Error{EINVAL, fmt::format("flag provided but not defined: {}", a->command[0])});
    // A process that could not be started exits 255, as runc's exec (crun's too for a
    // failed start): a caller can tell it from a program that ran and exited 1.
    constexpr int kExecFailed = 255;
    auto sub_cgroups = parse_sub_cgroups(a->cgroups);
    if (!sub_cgroups) {
      report(sub_cgroups.error());
      return kExecFailed;
    }
    a->opts.sub_cgroups = std::move(*sub_cgroups);
    auto p = build_process(g, *a);
    if (!p) {
      report(p.error());
      return kExecFailed;
    }
    a->opts.id = a->id;
    a->opts.process = std::move(*p);
    auto r = runtime::exec(store_of(g), a->opts);
    if (!r) {
      report(r.error());
      return kExecFailed;
    }
    return *r;
  };
});

}  // namespace hull::cli

// hull exec [-d] [-i] [-t] [-e K=V] [--env-file FILE] [-w DIR] [-u USER] [--privileged]
//           [--detach-keys KEYS] CONTAINER CMD [ARG...]
// In-process through the runtime library: the new process joins the container's
// namespaces and cgroup with the security settings of its init.
#include <fcntl.h>
#include <unistd.h>

#include "cli/engine/run_flags.hpp"
#include "common/detach_keys.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "oci/capabilities.hpp"
#include "runtime/container.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(exec, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::string ref, workdir, user, detach_keys;
    std::vector<std::string> env, env_files, command;
    bool detach = false, interactive = false, tty = false, privileged = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("exec", "run a command in a running container");
  c->prefix_command();
  c->add_option("container", a->ref, "container name or id")->required();
  c->add_flag("-d,--detach", a->detach, "run in the background");
  c->add_flag("-i,--interactive", a->interactive, "keep stdin open");
  c->add_flag("-t,--tty", a->tty, "allocate a pseudo-terminal");
  add_multi(c, "-e,--env", a->env, "set an environment variable");
  add_multi(c, "--env-file", a->env_files, "read environment variables from a file");
  c->add_option("-w,--workdir", a->workdir, "working directory");
  c->add_option("-u,--user", a->user, "user: name|uid[:group|gid]");
  c->add_flag("--privileged", a->privileged, "all capabilities");
  c->add_option("--detach-keys", a->detach_keys,
                "keys that detach from a -t process, leaving it running (ctrl-p,ctrl-q)");
  return [a, c, &g]() -> int {
    a->command = c->remaining();
    if (a->command.empty()) return engine_report(Error{0, "exec: a command is required"});
    // docker's daemon refuses a bad sequence before the exec starts: 1.
    auto keys = detach_keys::parse(a->detach_keys);
    if (!keys) return verb_failure(keys.error());
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    auto ct = e->find(a->ref);
    if (!ct) return verb_failure(ct.error());
    if (ct->state.status == engine::ContainerStatus::paused)
      return verb_failure(Error{
          0, fmt::format("container {} is paused, unpause the container before exec", a->ref)});
    if (ct->state.status != engine::ContainerStatus::running)
      return verb_failure(Error{0, fmt::format("container {} is not running", a->ref)});
    auto spec = e->load_spec(ct->config.id);
    if (!spec) return verb_failure(spec.error());
    auto rs = e->store().load(ct->config.id);
    if (!rs) return verb_failure(rs.error());
    oci::Process p = *spec->process;
    // --network container:NAME took NAME's hostname when it started (the record has it).
    if (!spec->hostname.empty() && spec->hostname != ct->config.hostname)
      for (auto& e : p.env)
        if (e == "HOSTNAME=" + spec->hostname) e = "HOSTNAME=" + ct->config.hostname;
    p.args = a->command;
    p.terminal = a->tty;
    p.console_size.reset();
    // docker's order: the files' variables, then -e's; a bare NAME is the caller's value,
    // left out when the caller has none.
    engine::BuildContext ctx;
    ctx.getenv = [](const std::string& name) -> std::optional<std::string> {
      const char* v = ::getenv(name.c_str());
      return v ? std::optional<std::string>(v) : std::nullopt;
    };
    std::vector<std::string> env;
    for (const auto& f : a->env_files) {
      auto vars = engine::read_env_file(f, ctx);
      if (!vars) return verb_failure(vars.error());
      env.insert(env.end(), vars->begin(), vars->end());
    }
    for (const auto& kv : a->env) {
      if (kv.find('=') != std::string::npos) {
        env.push_back(kv);
      } else if (auto v = ctx.getenv(kv)) {
        env.push_back(kv + "=" + *v);
      }
    }
    for (const auto& kv : env) {
      auto name = kv.substr(0, kv.find('='));
      std::erase_if(p.env, [&](const std::string& x) { return x.substr(0, x.find('=')) == name; });
      p.env.push_back(kv);
    }
    if (a->tty && std::none_of(p.env.begin(), p.env.end(),
                               [](const std::string& x) { return x.starts_with("TERM="); }))
      p.env.push_back("TERM=xterm");
    if (!a->workdir.empty()) p.cwd = a->workdir;
    std::string user = a->user.empty() ? ct->config.user : a->user;
    auto u = engine::resolve_process_user(rs->rootfs, user, ct->config.group_add);
    if (!u) return engine_report(u.error());
    p.user = *u;
    if (a->privileged) {
      // What this process holds: a capability outside its bounding set cannot be given.
      uint64_t bnd = ~uint64_t{0};
      if (auto st = fs::read_file("/proc/self/status"))
        for (auto line : split(*st, '\n'))
          if (line.starts_with("CapBnd:"))
            bnd = parse_int<uint64_t>(trim(line.substr(7)), 16).value_or(bnd);
      std::vector<int> all;
      for (const auto& cn : oci::capability_table())
        if (cn.value < 64 && (bnd & (uint64_t{1} << cn.value))) all.push_back(cn.value);
      p.capabilities = oci::Capabilities{all, all, {}, all, {}};
    }
    if (!a->interactive && !a->tty) {
      int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::close(null);
      }
    }
    runtime::ExecOptions opts;
    opts.id = ct->config.id;
    // --pid container:NAME, this container's or another's into it: the other container's
    // processes see this exec's runtime, whatever this one's capabilities.
    opts.shared_pid_ns = engine::joins_container(ct->config.pid_mode);
    if (!opts.shared_pid_ns)
      if (auto all = e->db().list())
        opts.shared_pid_ns = std::any_of(all->begin(), all->end(), [&](const auto& other) {
          return other.config.pid_mode == "container:" + ct->config.id;
        });
    opts.process = std::move(p);
    opts.detach = a->detach;
    // Only a terminal's input is watched for them, as docker's.
    if (a->tty) opts.detach_keys = std::move(*keys);
    // The runtime may re-execute this command line from a sealed copy of hull (a shared
    // pid namespace, CVE-2019-5736): a rootless hull, in its user namespace by then, finds
    // its stores again only through the environment (as reexec_sealed).
    ::setenv("HULL_ROOT", g.root.c_str(), 1);
    ::setenv("HULL_RUN_ROOT", g.run_root.c_str(), 1);
    auto r = runtime::exec(e->store(), opts);
    if (!r) {
      log::error("{}", r.error().message);
      return engine::launch_exit_code(r.error());
    }
    return *r;
  };
});

}  // namespace hull::cli

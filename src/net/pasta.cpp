// Rootless networking: pasta (Debian's passt) gives an unprivileged user's netns a tap
// interface with the host's addresses and routes and forwards published ports into it,
// with no privilege beyond the user namespace that owns the netns.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "net/network.hpp"

extern char** environ;

namespace hull::net {

Result<pid_t> start_pasta(const PastaRequest& rq) {
  if (rq.netns_path.empty()) return fail("pasta: no netns path", EINVAL);
  if (rq.pid_file.empty()) return fail("pasta: no pid file", EINVAL);
  std::vector<std::string> args = {"pasta", "--config-net", "--quiet"};
  std::string tcp, udp;
  for (const auto& p : rq.ports) {
    if (p.host_port == 0) return failf("pasta: port {} has no host port", p.container_port);
    std::string spec = p.host_ip.empty()
                           ? fmt::format("{}:{}", p.host_port, p.container_port)
                           : fmt::format("{}/{}:{}", p.host_ip, p.host_port, p.container_port);
    std::string& list = p.proto == "udp" ? udp : tcp;
    if (!list.empty()) list += ',';
    list += spec;
  }
  // Only what was asked: pasta's default would forward every port the container binds.
  args.insert(args.end(), {"-t", tcp.empty() ? "none" : tcp, "-u", udp.empty() ? "none" : udp, "-T",
                           "none", "-U", "none"});
  if (!rq.userns_path.empty()) args.insert(args.end(), {"--userns", rq.userns_path});
  args.insert(args.end(), {"--pid", rq.pid_file, "--netns", rq.netns_path});

  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = 0;
  // pasta's stderr goes to a file beside the pid file, not a pipe: the daemon it forks
  // would hold a pipe open. Read back on failure so the error says what pasta said.
  const std::string err_path = rq.pid_file + ".err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  // Default dispositions and no blocked signal: a caller's ignored SIGPIPE (the engine's
  // monitor ignores it) makes pasta fail with "Couldn't install signal handlers".
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  // posix_spawnp: pasta daemonises itself; the foreground process exits once the netns
  // is configured, so its status is the set-up's result.
  int err = posix_spawnp(&child, "pasta", &fa, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) {
    ::unlink(err_path.c_str());
    return sys_fail("spawn pasta (is the passt package installed?)", err);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return sys_fail("waitpid pasta");
  auto said = fs::read_file(err_path);
  ::unlink(err_path.c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // Its last line is the reason ("Failed to open tun socket in namespace", ...).
    std::string why;
    if (said)
      for (auto line : split(*said, '\n'))
        if (!trim(line).empty()) why = std::string(trim(line));
    return failf("pasta for netns \"{}\" failed (exit status {}){}{}", rq.netns_path,
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                 why.empty() ? "" : ": ", why);
  }
  auto text = HULL_TRY(fs::read_file(rq.pid_file));
  auto pid = parse_int<pid_t>(trim(text));
  if (!pid || *pid <= 0) return failf("pasta pid file \"{}\": no pid", rq.pid_file);
  return *pid;
}

}  // namespace hull::net

// Rootless networking: pasta (Debian's passt) gives an unprivileged user's netns a tap
// interface with the host's addresses and routes and forwards published ports into it,
// with no privilege beyond the user namespace that owns the netns.
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
  // posix_spawnp: pasta daemonises itself; the foreground process exits once the netns
  // is configured, so its status is the set-up's result.
  if (int err = posix_spawnp(&child, "pasta", nullptr, nullptr, argv.data(), environ); err != 0)
    return sys_fail("spawn pasta (is the passt package installed?)", err);
  int status = 0;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return sys_fail("waitpid pasta");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return failf("pasta for netns \"{}\" failed (status {})", rq.netns_path, status);
  auto text = HULL_TRY(fs::read_file(rq.pid_file));
  auto pid = parse_int<pid_t>(trim(text));
  if (!pid || *pid <= 0) return failf("pasta pid file \"{}\": no pid", rq.pid_file);
  return *pid;
}

}  // namespace hull::net

#include "runtime/cloned_binary.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

extern char** environ;

namespace hull::runtime {
namespace {

constexpr unsigned kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
// Set across the re-exec so that a copy that is somehow not sealed cannot loop forever.
constexpr const char* kReexecMark = "_HULL_SEALED_REEXEC";

bool fd_is_sealed(int fd) {
  int seals = ::fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (static_cast<unsigned>(seals) & kSeals) == kSeals;
}

}  // namespace

bool running_from_sealed_copy() {
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  return self && fd_is_sealed(self.get());
}

Status reexec_from_sealed_copy() {
  if (running_from_sealed_copy()) {
    ::unsetenv(kReexecMark);
    return {};
  }
  if (::getenv(kReexecMark)) return fail("re-exec from a sealed copy: the copy is not sealed");

  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return sys_fail("open /proc/self/exe");
  struct stat st {};
  if (::fstat(self.get(), &st) < 0) return sys_fail("stat /proc/self/exe");
  UniqueFd mem(static_cast<int>(
      ::syscall(SYS_memfd_create, program_invocation_short_name, MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!mem) return sys_fail("memfd_create");
  for (off_t left = st.st_size; left > 0;) {
    ssize_t n = ::sendfile(mem.get(), self.get(), nullptr, static_cast<size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sys_fail("copy /proc/self/exe to memfd");
    left -= n;
  }
  if (::fcntl(mem.get(), F_ADD_SEALS, kSeals) < 0) return sys_fail("seal memfd");

  auto cmdline = HULL_TRY(fs::read_file("/proc/self/cmdline"));
  std::vector<char*> argv;
  for (size_t i = 0; i < cmdline.size();) {
    argv.push_back(cmdline.data() + i);
    i += std::char_traits<char>::length(cmdline.data() + i) + 1;
  }
  argv.push_back(nullptr);
  ::setenv(kReexecMark, "1", 1);
  ::syscall(SYS_execveat, mem.get(), "", argv.data(), environ, AT_EMPTY_PATH);
  int err = errno;
  ::unsetenv(kReexecMark);
  return sys_fail(fmt::format("execveat sealed copy of {}", program_invocation_short_name), err);
}

Result<uint64_t> bounding_set_of(pid_t pid) {
  std::string path = fmt::format("/proc/{}/status", pid);
  auto status = HULL_TRY(fs::read_file(path));
  for (auto line : split(status, '\n')) {
    if (!line.starts_with("CapBnd:")) continue;
    auto v = trim(line.substr(7));
    uint64_t bits = 0;
    for (char c : v) {
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return failf("{}: malformed CapBnd", path);
      bits = bits << 4 | static_cast<uint64_t>(d);
    }
    return bits;
  }
  return failf("{}: no CapBnd", path);
}

bool could_ptrace_runtime(uint64_t cap_bnd, pid_t pid) {
  if (!((cap_bnd >> CAP_SYS_PTRACE) & 1)) return false;
  // In a user namespace of its own the capability does not reach the runtime, whose
  // memory belongs to the host's user namespace.
  struct stat a {
  }, b{};
  std::string theirs = pid ? fmt::format("/proc/{}/ns/user", pid) : "/proc/self/ns/user";
  if (::stat(theirs.c_str(), &a) < 0 || ::stat("/proc/self/ns/user", &b) < 0) return true;
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

}  // namespace hull::runtime

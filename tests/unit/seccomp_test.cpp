// seccomp filters exercised for real: each test loads a filter into a forked child that
// set no_new_privs first (so no root is needed) and reports through its exit status.
#include "runtime/seccomp.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>

#include <gtest/gtest.h>

#include "common/fs.hpp"
#include "common/json.hpp"

#include <seccomp.h>

namespace hull::runtime::seccomp {
namespace {

using oci::SeccompAction;

// Forks, sets no_new_privs, loads filter and returns fn()'s value as exit status; returns
// the raw wait status. Exit 100 means the load failed.
int run_filtered(const Filter& filter, const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(101);
    auto listener = load(filter);
    if (!listener) _exit(100);
    _exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

oci::SeccompSyscall rule(std::vector<std::string> names, SeccompAction action,
                         std::optional<unsigned> errno_ret = std::nullopt,
                         std::vector<oci::SeccompArg> args = {}) {
  oci::SeccompSyscall s;
  s.names = std::move(names);
  s.action = action;
  s.errno_ret = errno_ret;
  s.args = std::move(args);
  return s;
}

oci::Seccomp allow_all_but(std::vector<oci::SeccompSyscall> rules) {
  oci::Seccomp s;
  s.default_action = SeccompAction::allow;
  s.syscalls = std::move(rules);
  return s;
}

// errno of a raw syscall, 0 on success.
template <class... A>
int sys_errno(long nr, A... a) {
  errno = 0;
  long r = ::syscall(nr, a...);
  return r < 0 ? errno : 0;
}

TEST(Seccomp, ErrnoActionUsesErrnoRet) {
  auto f = compile(allow_all_but({rule({"getcwd"}, SeccompAction::errno_, E2BIG),
                                  rule({"mkdir", "mkdirat"}, SeccompAction::errno_, EROFS)}));
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_FALSE(f->uses_notify);
  EXPECT_EQ(f->flags, 0u);
  int st = run_filtered(*f, [] {
    char buf[256];
    if (::getcwd(buf, sizeof buf) != nullptr || errno != E2BIG) return 1;
    if (::mkdir("/tmp/hull-seccomp-never", 0700) == 0 || errno != EROFS) return 2;
    if (::getpid() <= 0) return 3;  // everything else still allowed
    return 0;
  });
  EXPECT_EQ(exit_code(st), 0);
}

TEST(Seccomp, ErrnoDefaultsToEperm) {
  auto f = compile(allow_all_but({rule({"getppid"}, SeccompAction::errno_)}));
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(exit_code(run_filtered(*f, [] { return sys_errno(SYS_getppid) == EPERM ? 0 : 1; })), 0);
}

TEST(Seccomp, DefaultErrnoRet) {
  oci::Seccomp s;
  s.default_action = SeccompAction::errno_;
  s.default_errno_ret = EXDEV;
  s.syscalls = {rule({"exit", "exit_group"}, SeccompAction::allow)};
  auto f = compile(s);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(exit_code(run_filtered(*f, [] { return sys_errno(SYS_getppid) == EXDEV ? 0 : 1; })), 0);

  s.default_errno_ret.reset();
  f = compile(s);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(exit_code(run_filtered(*f, [] { return sys_errno(SYS_getppid) == EPERM ? 0 : 1; })), 0);
}

TEST(Seccomp, ArgConditionMatchesOnlyThatValue) {
  auto f = compile(allow_all_but(
      {rule({"personality"}, SeccompAction::errno_, E2BIG, {{0, PER_LINUX32, 0, "SCMP_CMP_EQ"}}),
       // MASKED_EQ: value is the mask, valueTwo the datum.
       rule({"dup3"}, SeccompAction::errno_, E2BIG,
            {{2, O_CLOEXEC, O_CLOEXEC, "SCMP_CMP_MASKED_EQ"}})}));
  ASSERT_TRUE(f) << f.error().message;
  int st = run_filtered(*f, [] {
    if (sys_errno(SYS_personality, 0xffffffffUL) != 0) return 1;  // query: allowed
    if (sys_errno(SYS_personality, PER_LINUX32) != E2BIG) return 2;
    if (sys_errno(SYS_dup3, 0, 10, O_CLOEXEC) != E2BIG) return 3;
    if (sys_errno(SYS_dup3, 0, 10, 0) != 0) return 4;
    return 0;
  });
  EXPECT_EQ(exit_code(st), 0);
}

TEST(Seccomp, EveryComparisonOperator) {
  // getpriority(PRIO_PROCESS, who) with a rule on `who`: E2BIG means the rule matched.
  struct Case {
    const char* op;
    uint64_t value;
    unsigned match, miss;
  };
  const Case cases[] = {{"SCMP_CMP_NE", 7, 8, 7},
                        {"SCMP_CMP_LT", 7, 6, 7},
                        {"SCMP_CMP_LE", 7, 7, 8},
                        {"SCMP_CMP_EQ", 7, 7, 6},
                        {"SCMP_CMP_GE", 7, 7, 6},
                        {"SCMP_CMP_GT", 7, 8, 7},
                        {"SCMP_CMP_MASKED_EQ", 0xf0, 0x35, 0x45}};
  for (const auto& c : cases) {
    uint64_t two = std::string_view(c.op) == "SCMP_CMP_MASKED_EQ" ? 0x30 : 0;
    auto f = compile(allow_all_but(
        {rule({"getpriority"}, SeccompAction::errno_, E2BIG, {{1, c.value, two, c.op}})}));
    ASSERT_TRUE(f) << c.op << ": " << f.error().message;
    int st = run_filtered(*f, [&] {
      if (sys_errno(SYS_getpriority, PRIO_PROCESS, c.match) != E2BIG) return 1;
      if (sys_errno(SYS_getpriority, PRIO_PROCESS, c.miss) == E2BIG) return 2;
      return 0;
    });
    EXPECT_EQ(exit_code(st), 0) << c.op;
  }
}

TEST(Seccomp, ConditionsOnDifferentArgsAreAndedSameArgAreOred) {
  auto f = compile(
      allow_all_but({rule({"getpriority"}, SeccompAction::errno_, E2BIG,
                          {{0, PRIO_PGRP, 0, "SCMP_CMP_EQ"}, {0, PRIO_USER, 0, "SCMP_CMP_EQ"}}),
                     rule({"setpriority"}, SeccompAction::errno_, E2BIG,
                          {{0, PRIO_PROCESS, 0, "SCMP_CMP_EQ"}, {1, 12345, 0, "SCMP_CMP_EQ"}})}));
  ASSERT_TRUE(f) << f.error().message;
  int st = run_filtered(*f, [] {
    if (sys_errno(SYS_getpriority, PRIO_PGRP, 0) != E2BIG) return 1;
    if (sys_errno(SYS_getpriority, PRIO_USER, 0) != E2BIG) return 2;
    if (sys_errno(SYS_getpriority, PRIO_PROCESS, 0) != 0) return 3;
    if (sys_errno(SYS_setpriority, PRIO_PROCESS, 12345, 0) != E2BIG) return 4;
    if (sys_errno(SYS_setpriority, PRIO_PROCESS, 0, 0) == E2BIG) return 5;
    return 0;
  });
  EXPECT_EQ(exit_code(st), 0);
}

TEST(Seccomp, KillActionsDeliverSigsys) {
  for (auto action : {SeccompAction::kill_process, SeccompAction::kill_thread, SeccompAction::kill,
                      SeccompAction::trap}) {
    auto f = compile(allow_all_but({rule({"getppid"}, action)}));
    ASSERT_TRUE(f) << f.error().message;
    int st = run_filtered(*f, [] {
      ::syscall(SYS_getppid);
      return 0;
    });
    ASSERT_TRUE(WIFSIGNALED(st)) << "action " << static_cast<int>(action) << " status " << st;
    EXPECT_EQ(WTERMSIG(st), SIGSYS);
  }
}

TEST(Seccomp, UnknownNamesAreSkipped) {
  auto f = compile(
      allow_all_but({rule({"hull_no_such_syscall", "getppid"}, SeccompAction::errno_, E2BIG)}));
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_EQ(f->skipped.size(), 1u);
  EXPECT_EQ(f->skipped[0], "hull_no_such_syscall");
  EXPECT_EQ(exit_code(run_filtered(*f, [] { return sys_errno(SYS_getppid) == E2BIG ? 0 : 1; })), 0);
}

TEST(Seccomp, ArchitecturesAndFlags) {
  auto s = allow_all_but({rule({"getppid"}, SeccompAction::errno_, E2BIG)});
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                     "SCMP_ARCH_LOONGARCH64"};  // the last is unknown to libseccomp 2.5
  s.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
             "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
  auto f = compile(s);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->flags, unsigned(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG |
                               SECCOMP_FILTER_FLAG_SPEC_ALLOW));
  EXPECT_EQ(exit_code(run_filtered(*f, [] { return sys_errno(SYS_getppid) == E2BIG ? 0 : 1; })), 0);
}

TEST(Seccomp, InvalidInputNamesTheField) {
  auto s =
      allow_all_but({rule({"getppid"}, SeccompAction::errno_, E2BIG, {{0, 1, 0, "SCMP_CMP_FOO"}})});
  auto f = compile(s);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message,
            "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_FOO\"");

  s.syscalls[0].args[0] = {6, 1, 0, "SCMP_CMP_EQ"};
  f = compile(s);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0-5)");

  s.syscalls[0].args.clear();
  s.flags = {"SECCOMP_FILTER_FLAG_BOGUS"};
  f = compile(s);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "linux.seccomp.flags: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\"");

  s.flags.clear();
  s.architectures = {"x86_64"};
  f = compile(s);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "linux.seccomp.architectures: unknown architecture \"x86_64\"");

  s.architectures.clear();
  s.default_action = SeccompAction::notify;
  s.listener_path = "/x";
  EXPECT_FALSE(compile(s));

  s.default_action = SeccompAction::allow;
  s.syscalls = {rule({"getppid"}, SeccompAction::notify)};
  s.listener_path.clear();
  f = compile(s);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used");
}

TEST(Seccomp, LogAllowsAndTraceWithoutTracerIsEnosys) {
  auto f = compile(allow_all_but(
      {rule({"getppid"}, SeccompAction::log), rule({"getpgid"}, SeccompAction::trace, E2BIG)}));
  ASSERT_TRUE(f) << f.error().message;
  int st = run_filtered(*f, [] {
    if (sys_errno(SYS_getppid) != 0) return 1;
    // SECCOMP_RET_TRACE with no tracer attached: the syscall fails with ENOSYS.
    if (sys_errno(SYS_getpgid, 0) != ENOSYS) return 2;
    return 0;
  });
  EXPECT_EQ(exit_code(st), 0);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hull-seccomp-XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() { (void)fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Seccomp, NotifyListenerReachesTheAgent) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string sock_path = dir.path() + "/agent.sock";
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, sock_path.c_str());
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);

  auto s = allow_all_but({rule({"getppid"}, SeccompAction::notify)});
  s.listener_path = sock_path;
  s.listener_metadata = "hello agent";
  auto f = compile(s);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_TRUE(f->uses_notify);
  EXPECT_TRUE(f->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);

  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    auto fd = load(*f);
    if (!fd || !fd->valid()) _exit(1);
    std::string state = fmt::format(
        R"({{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":{},"bundle":"/b"}})",
        ::getpid());
    if (!send_listener_fd(sock_path, fd->get(), state, "hello agent")) _exit(2);
    // Blocks until the agent answers through the fd it received.
    _exit(sys_errno(SYS_getppid) == E2BIG ? 0 : 3);
  }
  ASSERT_GT(pid, 0);
  struct Child {
    pid_t pid;
    bool reaped = false;
    ~Child() {
      if (reaped) return;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    int wait() {
      int st = 0;
      ::waitpid(pid, &st, 0);
      reaped = true;
      return st;
    }
  } child{pid};

  pollfd pfd{listener.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
  UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn);

  std::string text;
  UniqueFd notify_fd;
  char buf[4096];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  for (;;) {
    iovec iov{buf, sizeof buf};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(conn.get(), &mh, MSG_CMSG_CLOEXEC);
    ASSERT_GE(n, 0);
    if (n == 0) break;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
      if (c->cmsg_type == SCM_RIGHTS) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
        notify_fd.reset(fd);
      }
    text.append(buf, static_cast<size_t>(n));
  }
  ASSERT_TRUE(notify_fd);
  auto j = parse_json(text, "message");
  ASSERT_TRUE(j) << text;
  EXPECT_EQ((*j)["ociVersion"], "1.2.0");
  EXPECT_EQ((*j)["fds"], Json::array({"seccompFd"}));
  EXPECT_EQ((*j)["pid"], pid);
  EXPECT_EQ((*j)["metadata"], "hello agent");
  EXPECT_EQ((*j)["state"]["id"], "c1");

  // Answer the child's getppid through the received fd.
  seccomp_notif req{};
  pollfd npfd{notify_fd.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&npfd, 1, 5000), 1);
  ASSERT_EQ(::ioctl(notify_fd.get(), SECCOMP_IOCTL_NOTIF_RECV, &req), 0) << strerror(errno);
  EXPECT_EQ(req.data.nr, SYS_getppid);
  EXPECT_EQ(req.pid, static_cast<__u32>(pid));
  seccomp_notif_resp resp{};
  resp.id = req.id;
  resp.error = -E2BIG;
  ASSERT_EQ(::ioctl(notify_fd.get(), SECCOMP_IOCTL_NOTIF_SEND, &resp), 0) << strerror(errno);

  EXPECT_EQ(exit_code(child.wait()), 0);
}

TEST(Seccomp, SendListenerFdErrors) {
  auto st = send_listener_fd("/nonexistent/hull.sock", 0, R"({"pid":1})", "");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ENOENT);
  EXPECT_FALSE(send_listener_fd("/x", 0, "not json", ""));
}

// Runs a classic BPF program on a seccomp_data for syscall nr (x86_64), as the kernel
// would; returns the action and counts the instructions executed.
struct Verdict {
  uint32_t action = 0;
  int steps = 0;
};
Verdict run_bpf(const std::vector<sock_filter>& prog, int nr) {
  uint32_t data[16] = {};
  data[0] = static_cast<uint32_t>(nr);
  data[1] = AUDIT_ARCH_X86_64;
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  Verdict v;
  for (size_t pc = 0; pc < prog.size(); ++pc, ++v.steps) {
    const sock_filter& i = prog[pc];
    switch (i.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        a = data[i.k / 4];
        break;
      case BPF_LD | BPF_IMM:
        a = i.k;
        break;
      case BPF_LD | BPF_MEM:
        a = mem[i.k];
        break;
      case BPF_LDX | BPF_IMM:
        x = i.k;
        break;
      case BPF_LDX | BPF_MEM:
        x = mem[i.k];
        break;
      case BPF_ST:
        mem[i.k] = a;
        break;
      case BPF_STX:
        mem[i.k] = x;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        a &= i.k;
        break;
      case BPF_MISC | BPF_TAX:
        x = a;
        break;
      case BPF_MISC | BPF_TXA:
        a = x;
        break;
      case BPF_JMP | BPF_JA:
        pc += i.k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += a == i.k ? i.jt : i.jf;
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += a > i.k ? i.jt : i.jf;
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += a >= i.k ? i.jt : i.jf;
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += (a & i.k) ? i.jt : i.jf;
        break;
      case BPF_RET | BPF_K:
        v.action = i.k;
        ++v.steps;
        return v;
      default:
        ADD_FAILURE() << "opcode " << i.code << " at " << pc;
        return v;
    }
  }
  ADD_FAILURE() << "program ran off its end for syscall " << nr;
  return v;
}

// An allowlist as big as docker's profile is exported as a binary tree (libseccomp's
// SCMP_FLTATR_CTL_OPTIMIZE 2): the kernel emulates the filter for every syscall number
// when it installs it (its action cache), so a linear list of ~300 comparisons made that
// seccomp() take 0.5 ms of every container start; the tree, 0.1 ms.
TEST(Seccomp, BigAllowlistIsABinaryTree) {
  oci::Seccomp spec;
  spec.default_action = SeccompAction::errno_;
  spec.architectures = {"SCMP_ARCH_X86_64"};
  std::vector<std::string> names;
  std::vector<int> listed;
  for (int nr = 0; nr < 320; nr += 1) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
    if (!name) continue;
    names.emplace_back(name);
    listed.push_back(nr);
    ::free(name);
  }
  ASSERT_GT(names.size(), 250u);
  spec.syscalls.push_back(rule(names, SeccompAction::allow));
  auto f = compile(spec);
  ASSERT_TRUE(f) << f.error().message;
  int most = 0;
  for (int nr = 0; nr < 450; ++nr) {
    Verdict v = run_bpf(f->program, nr);
    bool allowed = std::find(listed.begin(), listed.end(), nr) != listed.end();
    EXPECT_EQ(v.action == SECCOMP_RET_ALLOW, allowed) << "syscall " << nr;
    most = std::max(most, v.steps);
  }
  EXPECT_LE(most, 40) << "a linear list takes one comparison per syscall";
}

TEST(Seccomp, CacheHitsAndSurvivesCorruption) {
  TempDir dir;
  std::string cache = dir.path() + "/cache";
  auto s = allow_all_but({rule({"getppid"}, SeccompAction::errno_, E2BIG)});
  auto plain = compile(s);
  ASSERT_TRUE(plain);
  auto first = compile_cached(s, cache);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->program.size(), plain->program.size());

  auto fd = fs::open_dir(cache);
  ASSERT_TRUE(fd);
  std::vector<std::string> entries;
  for (const auto& e : std::filesystem::directory_iterator(cache))
    entries.push_back(e.path().string());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].ends_with(".bpf"));

  auto second = compile_cached(s, cache);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->program.size(), plain->program.size());
  EXPECT_EQ(std::memcmp(second->program.data(), plain->program.data(),
                        plain->program.size() * sizeof(sock_filter)),
            0);
  EXPECT_EQ(
      exit_code(run_filtered(*second, [] { return sys_errno(SYS_getppid) == E2BIG ? 0 : 1; })), 0);

  // A different profile gets a different entry.
  auto other = allow_all_but({rule({"getppid"}, SeccompAction::errno_, EXDEV)});
  ASSERT_TRUE(compile_cached(other, cache));
  EXPECT_NE(canonical_json(s), canonical_json(other));

  // A corrupt entry is recompiled and rewritten.
  ASSERT_TRUE(fs::write_file(entries[0], "hull-seccomp-v1\ngarbage"));
  auto third = compile_cached(s, cache);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->program.size(), plain->program.size());
  auto data = fs::read_file(entries[0]);
  ASSERT_TRUE(data);
  EXPECT_GT(data->size(), 100u);

  // A well-formed entry for another profile under this profile's name (a hash collision)
  // is never used: the filter is recompiled from this profile.
  std::string other_entry;
  for (const auto& e : std::filesystem::directory_iterator(cache))
    if (e.path().string() != entries[0]) other_entry = *fs::read_file(e.path().string());
  ASSERT_FALSE(other_entry.empty());
  ASSERT_TRUE(fs::write_file(entries[0], other_entry));
  auto fourth = compile_cached(s, cache);
  ASSERT_TRUE(fourth);
  EXPECT_EQ(
      exit_code(run_filtered(*fourth, [] { return sys_errno(SYS_getppid) == E2BIG ? 0 : 1; })), 0);
}

}  // namespace
}  // namespace hull::runtime::seccomp

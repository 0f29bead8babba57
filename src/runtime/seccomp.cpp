#include "runtime/seccomp.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <memory>
#include <string_view>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/send_fds.hpp"

namespace hull::runtime::seccomp {
namespace {

struct ArchName {
  std::string_view name;
  uint32_t arch;
};

// The runtime-spec's architecture names. Names this libseccomp does not know (e.g.
// SCMP_ARCH_LOONGARCH64 before libseccomp 2.6) are skipped with a debug line, as runc does.
constexpr std::array kArchs{
    ArchName{"SCMP_ARCH_X86", SCMP_ARCH_X86},
    ArchName{"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    ArchName{"SCMP_ARCH_X32", SCMP_ARCH_X32},
    ArchName{"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    ArchName{"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    ArchName{"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    ArchName{"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    ArchName{"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    ArchName{"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    ArchName{"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    ArchName{"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    ArchName{"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    ArchName{"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    ArchName{"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    ArchName{"SCMP_ARCH_S390", SCMP_ARCH_S390},
    ArchName{"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    ArchName{"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    ArchName{"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    ArchName{"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
};

struct FlagName {
  std::string_view name;
  unsigned flag;
};

// linux.seccomp.flags. WAIT_KILLABLE_RECV (Linux 5.19) is not in runtime-spec 1.2 but runc
// and crun accept it.
constexpr std::array kFlags{
    FlagName{"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    FlagName{"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    FlagName{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    FlagName{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

struct OpName {
  std::string_view name;
  scmp_compare op;
};

constexpr std::array kOps{
    OpName{"SCMP_CMP_NE", SCMP_CMP_NE},
    OpName{"SCMP_CMP_LT", SCMP_CMP_LT},
    OpName{"SCMP_CMP_LE", SCMP_CMP_LE},
    OpName{"SCMP_CMP_EQ", SCMP_CMP_EQ},
    OpName{"SCMP_CMP_GE", SCMP_CMP_GE},
    OpName{"SCMP_CMP_GT", SCMP_CMP_GT},
    OpName{"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

constexpr unsigned kMaxArgs = 6;

std::string_view action_name(oci::SeccompAction a) {
  switch (a) {
    case oci::SeccompAction::kill:
      return "SCMP_ACT_KILL";
    case oci::SeccompAction::kill_process:
      return "SCMP_ACT_KILL_PROCESS";
    case oci::SeccompAction::kill_thread:
      return "SCMP_ACT_KILL_THREAD";
    case oci::SeccompAction::trap:
      return "SCMP_ACT_TRAP";
    case oci::SeccompAction::errno_:
      return "SCMP_ACT_ERRNO";
    case oci::SeccompAction::trace:
      return "SCMP_ACT_TRACE";
    case oci::SeccompAction::allow:
      return "SCMP_ACT_ALLOW";
    case oci::SeccompAction::log:
      return "SCMP_ACT_LOG";
    case oci::SeccompAction::notify:
      return "SCMP_ACT_NOTIFY";
  }
  return "?";
}

// errnoRet applies to ERRNO and TRACE only; both default to EPERM, as in runc.
uint32_t to_scmp_action(oci::SeccompAction a, std::optional<unsigned> errno_ret) {
  uint16_t ret = static_cast<uint16_t>(errno_ret.value_or(EPERM));
  switch (a) {
    case oci::SeccompAction::kill:
      return SCMP_ACT_KILL;
    case oci::SeccompAction::kill_process:
      return SCMP_ACT_KILL_PROCESS;
    case oci::SeccompAction::kill_thread:
      return SCMP_ACT_KILL_THREAD;
    case oci::SeccompAction::trap:
      return SCMP_ACT_TRAP;
    case oci::SeccompAction::errno_:
      return SCMP_ACT_ERRNO(ret);
    case oci::SeccompAction::trace:
      return SCMP_ACT_TRACE(ret);
    case oci::SeccompAction::allow:
      return SCMP_ACT_ALLOW;
    case oci::SeccompAction::log:
      return SCMP_ACT_LOG;
    case oci::SeccompAction::notify:
      return SCMP_ACT_NOTIFY;
  }
  return SCMP_ACT_KILL;
}

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

// Flags and NOTIFY use need no libseccomp: computed for both the compile and cache paths.
Status compute_flags(const oci::Seccomp& spec, Filter& out) {
  if (spec.default_action == oci::SeccompAction::notify)
    return fail("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
                EINVAL);
  for (size_t i = 0; i < spec.syscalls.size(); ++i) {
    const auto& sc = spec.syscalls[i];
    if (sc.action != oci::SeccompAction::notify) continue;
    out.uses_notify = true;
    // The runtime itself writes (sync socket, logs) between load and exec: a notified
    // write would wait for an agent that has not got the fd yet. runc refuses it too.
    for (const auto& name : sc.names)
      if (name == "write")
        return failf("linux.seccomp.syscalls[{}]: SCMP_ACT_NOTIFY cannot be used for write", i);
  }
  if (out.uses_notify && spec.listener_path.empty())
    return fail("linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used", EINVAL);
  for (const auto& name : spec.flags) {
    bool found = false;
    for (const auto& f : kFlags)
      if (f.name == name) {
        out.flags |= f.flag;
        found = true;
      }
    if (!found) return failf("linux.seccomp.flags: unknown flag \"{}\"", name);
  }
  if (out.uses_notify) {
    out.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // TSYNC and NEW_LISTENER are exclusive unless TSYNC_ESRCH (Linux 5.7) is set too.
    if (out.flags & SECCOMP_FILTER_FLAG_TSYNC) out.flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  }
  return {};
}

Result<std::vector<sock_filter>> export_bpf(void* ctx) {
  UniqueFd fd(::memfd_create("hull-seccomp", MFD_CLOEXEC));
  if (!fd) return sys_fail("memfd_create");
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0)
    return sys_fail("seccomp_export_bpf", -rc);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return sys_fail("fstat seccomp memfd");
  auto size = static_cast<size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0)
    return failf("seccomp_export_bpf: program of {} bytes", size);
  std::vector<sock_filter> program(size / sizeof(sock_filter));
  size_t done = 0;
  auto* bytes = reinterpret_cast<char*>(program.data());
  while (done < size) {
    ssize_t n = ::pread(fd.get(), bytes + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sys_fail("read seccomp memfd", n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  return program;
}

Status add_rule(void* ctx, int nr, uint32_t action, const std::vector<scmp_arg_cmp>& conds) {
  int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conds.size()),
                                  conds.empty() ? nullptr : conds.data());
  if (rc < 0) return sys_fail("seccomp_rule_add", -rc);
  return {};
}

Json json_of(const oci::Seccomp& spec) {
  Json syscalls = Json::array();
  for (const auto& sc : spec.syscalls) {
    Json args = Json::array();
    for (const auto& a : sc.args)
      args.push_back(
          {{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
    syscalls.push_back({{"names", sc.names},
                        {"action", action_name(sc.action)},
                        {"errnoRet", sc.errno_ret ? Json(*sc.errno_ret) : Json(nullptr)},
                        {"args", std::move(args)}});
  }
  return Json{
      {"defaultAction", action_name(spec.default_action)},
      {"defaultErrnoRet", spec.default_errno_ret ? Json(*spec.default_errno_ret) : Json(nullptr)},
      {"architectures", spec.architectures},
      {"syscalls", std::move(syscalls)}};
}

// Cache entries are named by a 64-bit FNV-1a hash of their input (libseccomp version,
// native arch, canonical JSON of the profile) and hold that whole input: a hit must match
// it byte for byte, so a collision only costs a recompile, never a wrong filter. This keeps
// a cryptographic hash, and so libcrypto (3 MiB of RSS per start), out of the runtime.
// Entry: magic, input length, input, FNV-1a of the program (hex), program bytes. v3: the
// programs are binary trees (compile), so v2's lists are not reused.
constexpr std::string_view kCacheMagic = "hull-seccomp-v3\n";

uint64_t fnv1a(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string hex64(uint64_t v) {
  return fmt::format("{:016x}", v);
}

std::optional<std::vector<sock_filter>> decode_cache_entry(std::string_view data,
                                                           std::string_view input) {
  if (!data.starts_with(kCacheMagic)) return std::nullopt;
  data.remove_prefix(kCacheMagic.size());
  size_t nl = data.find('\n');
  if (nl == std::string_view::npos || data.substr(0, nl) != std::to_string(input.size()))
    return std::nullopt;
  data.remove_prefix(nl + 1);
  if (!data.starts_with(input)) return std::nullopt;
  data.remove_prefix(input.size());
  if (data.size() < 17 || data[16] != '\n') return std::nullopt;
  std::string_view checksum = data.substr(0, 16);
  std::string_view body = data.substr(17);
  if (body.empty() || body.size() % sizeof(sock_filter) != 0 ||
      body.size() / sizeof(sock_filter) > BPF_MAXINSNS)
    return std::nullopt;
  if (hex64(fnv1a(body)) != checksum) return std::nullopt;
  std::vector<sock_filter> program(body.size() / sizeof(sock_filter));
  std::memcpy(program.data(), body.data(), body.size());
  return program;
}

std::string encode_cache_entry(const std::vector<sock_filter>& program, std::string_view input) {
  std::string_view body(reinterpret_cast<const char*>(program.data()),
                        program.size() * sizeof(sock_filter));
  std::string out(kCacheMagic);
  out += std::to_string(input.size());
  out += '\n';
  out += input;
  out += hex64(fnv1a(body));
  out += '\n';
  out += body;
  return out;
}

}  // namespace

std::string canonical_json(const oci::Seccomp& spec) {
  return json_of(spec).dump();
}

Result<Filter> compile(const oci::Seccomp& spec) {
  Filter out;
  HULL_CHECK(compute_flags(spec, out));

  uint32_t default_action = to_scmp_action(spec.default_action, spec.default_errno_ret);
  Ctx ctx(seccomp_init(default_action));
  if (!ctx) return fail("seccomp_init: invalid default action", EINVAL);
  // The program is only exported: whether libseccomp would set no_new_privs on its own
  // seccomp_load is irrelevant, the runtime sets it from process.noNewPrivileges.

  for (const auto& name : spec.architectures) {
    const ArchName* found = nullptr;
    for (const auto& a : kArchs)
      if (a.name == name) found = &a;
    if (!found) {
      if (!name.starts_with("SCMP_ARCH_"))
        return failf("linux.seccomp.architectures: unknown architecture \"{}\"", name);
      log::debug("seccomp: skipping architecture {} unknown to libseccomp", name);
      continue;
    }
    int rc = seccomp_arch_add(ctx.get(), found->arch);
    if (rc < 0 && rc != -EEXIST) return sys_fail(fmt::format("seccomp_arch_add {}", name), -rc);
  }

  std::vector<scmp_arg_cmp> conds;
  size_t rules = 0;
  for (size_t i = 0; i < spec.syscalls.size(); ++i) {
    const auto& sc = spec.syscalls[i];
    std::string field = fmt::format("linux.seccomp.syscalls[{}]", i);
    uint32_t action = to_scmp_action(sc.action, sc.errno_ret);
    // libseccomp refuses a rule whose action is the default one; it would be a no-op.
    if (action == default_action) continue;

    conds.clear();
    std::array<unsigned, kMaxArgs> per_index{};
    for (size_t j = 0; j < sc.args.size(); ++j) {
      const auto& a = sc.args[j];
      if (a.index >= kMaxArgs)
        return failf("{}.args[{}].index: {} is out of range (0-5)", field, j, a.index);
      const OpName* op = nullptr;
      for (const auto& o : kOps)
        if (o.name == a.op) op = &o;
      if (!op) return failf("{}.args[{}].op: unknown operator \"{}\"", field, j, a.op);
      conds.push_back(scmp_arg_cmp{a.index, op->op, a.value, a.value_two});
      ++per_index[a.index];
    }
    // libseccomp ANDs the conditions of one rule but cannot hold two on the same argument;
    // profiles use repeated indexes to mean "any of" (runc adds one rule per condition).
    bool repeated = false;
    for (unsigned n : per_index) repeated |= n > 1;

    for (const auto& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        log::debug("seccomp: skipping syscall {} unknown to libseccomp", name);
        out.skipped.push_back(name);
        continue;
      }
      Status st;
      if (repeated) {
        for (const auto& c : conds) {
          st = add_rule(ctx.get(), nr, action, {c});
          if (!st) break;
        }
      } else {
        st = add_rule(ctx.get(), nr, action, conds);
      }
      if (!st) return std::unexpected(st.error().wrap(fmt::format("{}: {}", field, name)));
      ++rules;
    }
  }

  // A binary tree of the syscall numbers instead of a linear list: when a filter is
  // installed, the kernel runs it for every syscall number to build its action cache, so
  // docker's ~300-name allowlist made seccomp() take 0.5 ms of each start (0.1 ms as a
  // tree, measured). Not for a few rules (runc's threshold is 8), and never for none:
  // libseccomp before 2.5.4 then drops the default action from the tree (its issue 370).
  // An older libseccomp that lacks the attribute keeps the list.
  if (rules >= 8) (void)seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  out.program = HULL_TRY(export_bpf(ctx.get()));
  return out;
}

Result<Filter> compile_cached(const oci::Seccomp& spec, const std::string& cache_dir) {
  if (cache_dir.empty()) return compile(spec);
  const scmp_version* v = seccomp_version();
  std::string input = fmt::format("{}.{}.{} {} {}", v->major, v->minor, v->micro,
                                  seccomp_arch_native(), canonical_json(spec));
  std::string name = hex64(fnv1a(input)) + ".bpf";
  std::string path = cache_dir + "/" + name;

  if (auto data = fs::read_file(path)) {
    if (auto program = decode_cache_entry(*data, input)) {
      Filter out;
      HULL_CHECK(compute_flags(spec, out));
      out.program = std::move(*program);
      return out;
    }
    log::debug("seccomp: ignoring corrupt cache entry {}", path);
  }

  Filter out = HULL_TRY(compile(spec));
  // A cache that cannot be written only costs time: log it, do not fail the container.
  if (auto st = fs::mkdir_p(cache_dir, 0700); !st) {
    log::debug("seccomp cache: {}", st.error().message);
    return out;
  }
  auto dir = fs::open_dir(cache_dir);
  if (!dir) {
    log::debug("seccomp cache: {}", dir.error().message);
    return out;
  }
  if (auto st = fs::write_atomic_at(dir->get(), name, encode_cache_entry(out.program, input), 0600);
      !st)
    log::debug("seccomp cache: {}", st.error().message);
  return out;
}

int load_raw(const Filter& filter) noexcept {
  if (filter.program.empty() || filter.program.size() > BPF_MAXINSNS) return -EINVAL;
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(filter.program.size());
  prog.filter = const_cast<sock_filter*>(filter.program.data());
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, filter.flags, &prog);
  if (rc < 0) return -errno;
  if (filter.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) return static_cast<int>(rc);
  // With TSYNC alone, a positive value is the id of a thread that could not be synced.
  if (rc > 0) return -ESRCH;
  return -1;
}

Result<UniqueFd> load(const Filter& filter) {
  int rc = load_raw(filter);
  if (rc < -1) {
    int err = -rc;
    if (err == EACCES)
      return fail(
          "seccomp(SECCOMP_SET_MODE_FILTER): permission denied (needs no_new_privs or "
          "CAP_SYS_ADMIN)",
          err);
    if (err == ESRCH && (filter.flags & SECCOMP_FILTER_FLAG_TSYNC))
      return fail("seccomp(SECCOMP_SET_MODE_FILTER): TSYNC: a thread could not be synchronised",
                  err);
    return sys_fail("seccomp(SECCOMP_SET_MODE_FILTER)", err);
  }
  return UniqueFd(rc);  // -1: no listener
}

Status send_listener_fd(const std::string& listener_path, int notify_fd,
                        const std::string& state_json, const std::string& metadata) {
  Json state = HULL_TRY(parse_json(state_json, "container state"));
  if (!state.is_object()) return fail("container state: not a JSON object");
  Json msg{{"ociVersion", oci::kSpecVersion},
           {"fds", Json::array({"seccompFd"})},
           {"pid", state.value("pid", 0)},
           {"metadata", metadata},
           {"state", std::move(state)}};
  std::string text = msg.dump();

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (listener_path.empty() || listener_path.size() >= sizeof addr.sun_path)
    return failf("seccomp listener \"{}\": path empty or too long", listener_path);
  std::memcpy(addr.sun_path, listener_path.data(), listener_path.size());

  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_fail("socket AF_UNIX");
  int rc;
  do {
    rc = ::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return sys_failf("connect to seccomp listener {}", listener_path);

  size_t sent = 0;
  while (sent < text.size()) {
    const iovec iov{text.data() + sent, text.size() - sent};
    // The fd travels with the first chunk only.
    const std::span<const int> fds(&notify_fd, sent == 0 ? 1 : 0);
    ssize_t n = send_with_fds(sock.get(), std::span(&iov, 1), fds);
    if (n < 0) return sys_failf("send to seccomp listener {}", listener_path);
    sent += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace hull::runtime::seccomp

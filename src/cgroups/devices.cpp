#include "cgroups/devices.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace hull::cgroups {
namespace {

bool is_wild(const std::optional<int64_t>& v) {
  return !v || *v < 0;
}

bool is_catch_all(const oci::DeviceRule& r) {
  return (r.type.empty() || r.type == "a") && is_wild(r.major) && is_wild(r.minor);
}

Result<int> access_bits(const std::string& access, bool* all) {
  std::string a = access.empty() ? "rwm" : access;
  int bits = 0;
  for (char c : a) {
    if (c == 'r')
      bits |= BPF_DEVCG_ACC_READ;
    else if (c == 'w')
      bits |= BPF_DEVCG_ACC_WRITE;
    else if (c == 'm')
      bits |= BPF_DEVCG_ACC_MKNOD;
    else
      return failf("device rule access \"{}\": only r, w and m are allowed", access);
  }
  *all = bits == (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD);
  return bits;
}

constexpr bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
constexpr bpf_insn ldx_w(uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
constexpr bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn mov32_reg(uint8_t dst, uint8_t src) {
  return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
constexpr bpf_insn jmp_imm(uint8_t op, uint8_t dst, int32_t imm, int16_t off) {
  return insn(BPF_JMP | op | BPF_K, dst, 0, off, imm);
}
constexpr bpf_insn jmp_reg(uint8_t op, uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_JMP | op | BPF_X, dst, src, off, 0);
}
constexpr bpf_insn exit_insn() {
  return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

long sys_bpf(int cmd, bpf_attr* attr) {
  return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

}  // namespace

std::vector<oci::DeviceRule> device_rules(const std::vector<oci::DeviceRule>& spec_rules,
                                          const std::vector<oci::Device>& devices) {
  std::vector<oci::DeviceRule> out = spec_rules;
  for (const auto& d : devices) {
    if (d.type == 'p') continue;  // fifos are not device-controlled
    out.push_back({true, d.type == 'b' ? "b" : "c", d.major, d.minor, "rwm"});
  }
  // runc's default allowed set: mknod of anything, the usual character devices,
  // pseudo-terminals and /dev/net/tun.
  const oci::DeviceRule defaults[] = {
      {true, "c", std::nullopt, std::nullopt, "m"},
      {true, "b", std::nullopt, std::nullopt, "m"},
      {true, "c", 1, 3, "rwm"},               // null
      {true, "c", 1, 8, "rwm"},               // random
      {true, "c", 1, 7, "rwm"},               // full
      {true, "c", 5, 0, "rwm"},               // tty
      {true, "c", 1, 5, "rwm"},               // zero
      {true, "c", 1, 9, "rwm"},               // urandom
      {true, "c", 5, 1, "rwm"},               // console
      {true, "c", 136, std::nullopt, "rwm"},  // pts/*
      {true, "c", 5, 2, "rwm"},               // ptmx
      {true, "c", 10, 200, "rwm"},            // net/tun
  };
  out.insert(out.end(), std::begin(defaults), std::end(defaults));
  return out;
}

Result<V1DeviceWrite> v1_device_line(const oci::DeviceRule& r) {
  bool all = false;
  HULL_TRY(access_bits(r.access, &all));
  std::string_view type = r.type.empty() ? std::string_view("a") : std::string_view(r.type);
  if (type != "a" && type != "b" && type != "c")
    return failf("device rule type \"{}\": must be a, b or c", r.type);
  V1DeviceWrite w;
  w.file = r.allow ? "devices.allow" : "devices.deny";
  if (is_catch_all(r) && all) {
    w.line.push_back('a');  // not = "a": a GCC 12 -Wstringop-overflow false positive
    return w;
  }
  auto num = [](const std::optional<int64_t>& v) {
    return is_wild(v) ? std::string("*") : std::to_string(*v);
  };
  w.line = fmt::format("{} {}:{} {}", type, num(r.major), num(r.minor),
                       r.access.empty() ? "rwm" : r.access);
  return w;
}

Result<std::vector<bpf_insn>> device_program(const std::vector<oci::DeviceRule>& rules) {
  // struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } in r1;
  // access_type is (access << 16) | type.
  std::vector<bpf_insn> p = {
      ldx_w(BPF_REG_2, BPF_REG_1, 0),         // r2 = access_type
      alu32_imm(BPF_AND, BPF_REG_2, 0xffff),  // r2 = type
      ldx_w(BPF_REG_3, BPF_REG_1, 0),         // r3 = access_type
      alu32_imm(BPF_RSH, BPF_REG_3, 16),      // r3 = access
      ldx_w(BPF_REG_4, BPF_REG_1, 4),         // r4 = major
      ldx_w(BPF_REG_5, BPF_REG_1, 8),         // r5 = minor
  };
  bool unconditional = false;
  for (auto it = rules.rbegin(); it != rules.rend() && !unconditional; ++it) {
    const auto& r = *it;
    bool all = false;
    int acc = HULL_TRY(access_bits(r.access, &all));
    std::vector<bpf_insn> checks;  // each jumps to the next block with a placeholder offset
    std::string_view type = r.type.empty() ? std::string_view("a") : std::string_view(r.type);
    if (type == "b" || type == "c")
      checks.push_back(
          jmp_imm(BPF_JNE, BPF_REG_2, type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0));
    else if (type != "a")
      return failf("device rule type \"{}\": must be a, b or c", r.type);
    if (!all) {
      checks.push_back(mov32_reg(BPF_REG_1, BPF_REG_3));
      checks.push_back(alu32_imm(BPF_AND, BPF_REG_1, acc));
      // An allow rule must cover every access asked for; a deny rule matches when it
      // covers any of them.
      checks.push_back(r.allow ? jmp_reg(BPF_JNE, BPF_REG_1, BPF_REG_3, 0)
                               : jmp_imm(BPF_JEQ, BPF_REG_1, 0, 0));
    }
    if (!is_wild(r.major)) {
      if (*r.major > UINT32_MAX) return failf("device rule major {}: out of range", *r.major);
      checks.push_back(jmp_imm(BPF_JNE, BPF_REG_4, static_cast<int32_t>(*r.major), 0));
    }
    if (!is_wild(r.minor)) {
      if (*r.minor > UINT32_MAX) return failf("device rule minor {}: out of range", *r.minor);
      checks.push_back(jmp_imm(BPF_JNE, BPF_REG_5, static_cast<int32_t>(*r.minor), 0));
    }
    unconditional = checks.empty();
    checks.push_back(insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r.allow ? 1 : 0));
    checks.push_back(exit_insn());
    // Point every jump at the end of this block.
    for (size_t i = 0; i < checks.size(); ++i)
      if (BPF_CLASS(checks[i].code) == BPF_JMP && BPF_OP(checks[i].code) != BPF_EXIT)
        checks[i].off = static_cast<int16_t>(checks.size() - i - 1);
    p.insert(p.end(), checks.begin(), checks.end());
  }
  if (!unconditional) {
    p.push_back(insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));  // deny
    p.push_back(exit_insn());
  }
  return p;
}

Status attach_device_program(int cgroup_fd, const std::vector<bpf_insn>& program) {
  // The programs already attached, to detach after the new one is in place, so the
  // cgroup is never without a filter.
  uint32_t old_ids[64] = {};
  bpf_attr q{};
  q.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = reinterpret_cast<uint64_t>(old_ids);
  q.query.prog_cnt = 64;
  uint32_t old_count = sys_bpf(BPF_PROG_QUERY, &q) == 0 ? q.query.prog_cnt : 0;

  static char log_buf[8192];
  bpf_attr a{};
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = reinterpret_cast<uint64_t>(program.data());
  a.insn_cnt = static_cast<uint32_t>(program.size());
  a.license = reinterpret_cast<uint64_t>("Apache");
  a.log_buf = reinterpret_cast<uint64_t>(log_buf);
  a.log_size = sizeof log_buf;
  a.log_level = 1;
  UniqueFd prog(static_cast<int>(sys_bpf(BPF_PROG_LOAD, &a)));
  if (!prog) {
    int err = errno;
    return sys_fail(fmt::format("bpf BPF_PROG_LOAD device program ({} instructions): {}",
                                program.size(), std::string(log_buf, strnlen(log_buf, 200))),
                    err);
  }
  bpf_attr at{};
  at.target_fd = static_cast<uint32_t>(cgroup_fd);
  at.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  at.attach_type = BPF_CGROUP_DEVICE;
  at.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &at) < 0) return sys_fail("bpf BPF_PROG_ATTACH device program");

  for (uint32_t i = 0; i < old_count && i < 64; ++i) {
    bpf_attr g{};
    g.prog_id = old_ids[i];
    UniqueFd old(static_cast<int>(sys_bpf(BPF_PROG_GET_FD_BY_ID, &g)));
    if (!old) continue;
    bpf_attr d{};
    d.target_fd = static_cast<uint32_t>(cgroup_fd);
    d.attach_bpf_fd = static_cast<uint32_t>(old.get());
    d.attach_type = BPF_CGROUP_DEVICE;
    if (sys_bpf(BPF_PROG_DETACH, &d) < 0)
      return sys_failf("bpf BPF_PROG_DETACH old device program {}", old_ids[i]);
  }
  return {};
}

}  // namespace hull::cgroups

// The device cgroup: the rule list runc applies (the spec's resources.devices, then an
// allow for each linux.devices node, then the default set every container gets), its v1
// form (devices.allow / devices.deny lines) and its v2 form, a BPF_PROG_TYPE_CGROUP_DEVICE
// program written by hand as runc and crun do (cgroup v2 has no device files).
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "oci/spec.hpp"

namespace hull::cgroups {

std::vector<oci::DeviceRule> device_rules(const std::vector<oci::DeviceRule>& spec_rules,
                                          const std::vector<oci::Device>& devices);

// v1: the file ("devices.allow" or "devices.deny") and line for a rule; the whole-table
// rule "a *:* rwm" is written as "a".
struct V1DeviceWrite {
  std::string file, line;
};
Result<V1DeviceWrite> v1_device_line(const oci::DeviceRule& rule);

// v2: the program for a rule list. The last matching rule decides (as v1 applies rules in
// order), so rules are emitted last first and the first match returns; no rule matching
// means deny. Rules hidden behind a later catch-all are left out (the verifier rejects
// unreachable code).
Result<std::vector<bpf_insn>> device_program(const std::vector<oci::DeviceRule>& rules);

// Loads the program and attaches it to the cgroup (BPF_F_ALLOW_MULTI), then detaches the
// device programs that were there before (a live update replaces them).
Status attach_device_program(int cgroup_fd, const std::vector<bpf_insn>& program);

}  // namespace hull::cgroups

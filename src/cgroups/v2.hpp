// cgroup v2: one directory in the unified tree. Controllers are enabled down the path
// through cgroup.subtree_control, v1-style values are converted (cpu.weight, io.weight,
// memory.swap.max), devices are a BPF program, and processes can be cloned straight
// into the cgroup (CLONE_INTO_CGROUP).
#pragma once

#include "cgroups/files.hpp"
#include "cgroups/manager.hpp"

namespace hull::cgroups {

class V2 final : public Manager {
 public:
  V2(std::string mount, std::string rel_path, std::vector<oci::Device> devices, bool fake);
  static Result<std::unique_ptr<V2>> load(const Json& saved);

  Kind kind() const override { return Kind::v2; }
  Status create(const oci::Resources* resources, const Note& note = {}) override;
  UniqueFd clone_into_fd() const override;
  Status add_pid(pid_t pid) override;
  Status apply(const oci::Resources& resources) override;
  Status freeze(bool frozen) override;
  Result<bool> frozen() const override;
  Result<std::vector<pid_t>> pids() const override;
  Status kill_all(int signal) override;
  Result<Stats> stats() const override;
  Result<uint64_t> oom_kill_count() const override;
  Status destroy() override;
  Result<std::unique_ptr<Manager>> sub_cgroup(const SubPaths& paths) const override;
  Result<std::unique_ptr<Manager>> init_cgroup(pid_t init) const override;
  Json to_json() const override;
  std::string path() const override { return rel_; }

  const std::string& dir() const { return dir_; }

 private:
  Status enable_controllers();
  Status apply_devices(const std::vector<oci::DeviceRule>& rules);

  std::string mount_, rel_, dir_;
  std::vector<oci::Device> devices_;
  std::vector<std::string> created_;
  detail::Files files_;
};

}  // namespace hull::cgroups

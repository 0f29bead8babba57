// cgroup v1: one directory per mounted hierarchy (memory, cpu, cpuacct, cpuset, pids,
// blkio, devices, freezer, hugetlb, name=systemd, ...), each nested under the caller's own
// cgroup in that hierarchy as runc places them. On a hybrid host the container also gets
// a directory in the cgroup2 tree, which has no controllers there but gives cgroup.kill
// and a single place that lists every process.
#pragma once

#include "cgroups/files.hpp"
#include "cgroups/manager.hpp"

namespace hull::cgroups {

class V1 final : public Manager {
 public:
  struct Dir {
    std::vector<std::string> controllers;
    std::string path;  // absolute: mount + cgroup path
  };

  V1(std::vector<Dir> dirs, std::string unified_dir, std::string rel_path,
     std::vector<oci::Device> devices, bool fake);
  static Result<std::unique_ptr<V1>> load(const Json& saved);

  Kind kind() const override { return Kind::v1; }
  Status create(const oci::Resources* resources, const Note& note = {}) override;
  UniqueFd clone_into_fd() const override { return {}; }
  Status add_pid(pid_t pid) override;
  SelfJoin self_join() const override;
  Status add_pid_after_self_join(pid_t pid, bool cloned_into) override;
  Status apply(const oci::Resources& resources) override;
  Status freeze(bool frozen) override;
  Result<bool> frozen() const override;
  Result<std::vector<pid_t>> pids() const override;
  Status kill_all(int signal) override;
  Result<Stats> stats() const override;
  Result<uint64_t> oom_kill_count() const override;
  Status destroy() override;
  Result<std::unique_ptr<Manager>> sub_cgroup(const SubPaths& paths) const override;
  Json to_json() const override;
  std::string path() const override { return rel_; }

  // The directory of the hierarchy holding controller, or nullptr.
  const std::string* dir_of(std::string_view controller) const;

 private:
  Status apply_devices(const std::vector<oci::DeviceRule>& rules);
  Status apply_memory(const oci::MemoryResources& m);
  Status apply_cpu(const oci::CpuResources& c);
  Status apply_blkio(const oci::BlockIoResources& b);
  Result<const std::string*> need(std::string_view controller, std::string_view field) const;

  std::vector<Dir> dirs_;
  std::string unified_;  // "" unless hybrid
  std::string rel_;
  std::vector<oci::Device> devices_;
  std::vector<std::string> created_;  // every directory made, outermost first
  detail::Files files_;
};

}  // namespace hull::cgroups

#pragma once

#include "cgroups/manager.hpp"

namespace hull::cgroups {

class Disabled final : public Manager {
 public:
  Kind kind() const override { return Kind::disabled; }
  Status create(const oci::Resources* resources, const Note& note = {}) override;
  UniqueFd clone_into_fd() const override { return {}; }
  Status add_pid(pid_t) override { return {}; }
  Status apply(const oci::Resources&) override { return {}; }
  Status freeze(bool frozen) override;
  Result<bool> frozen() const override { return false; }
  Result<std::vector<pid_t>> pids() const override;
  Status kill_all(int signal) override;
  Result<Stats> stats() const override { return Stats{}; }
  Result<uint64_t> oom_kill_count() const override { return 0; }
  Status destroy() override { return {}; }
  Json to_json() const override { return Json{{"kind", "disabled"}}; }
  std::string path() const override { return "/"; }
};

}  // namespace hull::cgroups

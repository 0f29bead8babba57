// `hull volume create|ls|inspect|rm|prune`, docker's local driver: a volume is
// <root>/volumes/<name>/_data and a row of containers.db (its time, labels, and whether
// it is anonymous: made by `-v /dst` or `--mount type=volume` without a source). A volume
// is in use while any container record, running or not, mounts it.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"
#include "engine/record.hpp"

namespace hull::engine {

struct Volume {
  std::string name;
  int64_t created = 0;  // ns since the epoch
  std::map<std::string, std::string> labels;
  bool anonymous = false;
  std::vector<std::string> users;  // ids of the containers that mount it
};

// docker's rule for a volume name: [a-zA-Z0-9][a-zA-Z0-9_.-]+.
Status check_volume_name(std::string_view name);

// `volume create`: a new name is made; an existing one is left as it is (docker's).
Status create_volume(Db& db, const std::string& name,
                     const std::map<std::string, std::string>& labels, bool anonymous);
Result<std::vector<Volume>> list_volumes(Db& db);
Result<Volume> find_volume(Db& db, const std::string& name);
// docker's `volume inspect` shape.
Json volume_json(const Volume& v, const std::string& root);
// Removes the directory and the row; refused while a container mounts it.
Status remove_volume(Db& db, const Volume& v);
// A container's anonymous volumes that no other container mounts (`rm -v`, `--rm`).
void remove_anonymous_volumes(Db& db, const ContainerConfig& c);
// The bytes of the regular files under a volume's directory, nothing followed.
uint64_t volume_bytes(const std::string& root, const std::string& name);
// `volume prune` and `system prune --volumes`: the volumes no container mounts, anonymous
// ones only unless `all` (docker since 23.0), that `keep` does not spare.
struct VolumePrune {
  std::vector<std::string> removed;
  uint64_t reclaimed = 0;
};
Result<VolumePrune> prune_volumes(Db& db, bool all,
                                  const std::function<bool(const Volume&)>& wanted = {});

}  // namespace hull::engine

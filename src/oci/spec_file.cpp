// Writing a config.json for the `spec` verb: created exclusively, never over an existing
// one (runc refuses the same way).
#include <fcntl.h>

#include "common/unique_fd.hpp"
#include "oci/spec.hpp"

namespace hull::oci {

Status create_spec_file(const std::string& bundle_dir, const Spec& spec) {
  std::string path = bundle_dir.empty() ? "config.json" : bundle_dir + "/config.json";
  std::string text = to_json(spec).dump(1, '\t');
  text += '\n';
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd) {
    if (errno == EEXIST) return failf("{} already exists: remove it first", path);
    return sys_failf("create {}", path);
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::write(fd.get(), rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_failf("write {}", path);
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace hull::oci

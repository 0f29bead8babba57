// Images from files: `hull import` (a root filesystem tarball -> a one-layer image),
// `hull load` and `hull save` (docker-archive and oci-archive tarballs).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "image/store.hpp"

namespace hull::image {

// Reads a (possibly gzip/zstd-compressed) rootfs tarball from path ("-" = stdin) and
// records it as a one-layer image tagged ref (untagged when ref is empty, as docker's).
// Returns the image id. changes are Dockerfile lines applied to the config, as `docker
// import --change`: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL.
// message (`-m`) is the config's comment and its history entry's, "Imported from PATH"
// when empty.
Result<std::string> import_rootfs(Store& store, const std::string& path, std::string_view ref,
                                  const std::vector<std::string>& changes = {},
                                  std::string_view message = {});

// Loads every image of a docker-archive (manifest.json) or oci-archive (index.json)
// tarball ("-" = stdin). Returns "Loaded image: ..." lines.
Result<std::vector<std::string>> load_archive(Store& store, const std::string& path);

enum class ArchiveFormat { docker, oci };
// Writes the named images into one archive at path ("-" = stdout).
Status save_archive(Store& store, const std::vector<std::string>& names, const std::string& path,
                    ArchiveFormat format);

}  // namespace hull::image

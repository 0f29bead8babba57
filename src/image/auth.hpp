// Registry credentials in docker's config.json format: {"auths": {"host": {"auth":
// base64("user:password")}}}, at $DOCKER_CONFIG/config.json or ~/.docker/config.json.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace hull::image {

struct Credentials {
  std::string username, password;
};

// file empty: the default location.
std::string auth_file_path(std::string_view file = {});
Result<std::optional<Credentials>> find_credentials(std::string_view registry,
                                                    std::string_view file = {});
Status store_credentials(std::string_view registry, const Credentials& c,
                         std::string_view file = {});
// Returns false when there was nothing to remove.
Result<bool> erase_credentials(std::string_view registry, std::string_view file = {});

std::string base64_encode(std::string_view in);
Result<std::string> base64_decode(std::string_view in);

}  // namespace hull::image

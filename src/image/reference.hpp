// Image references parsed as docker parses them: "busybox" is
// docker.io/library/busybox:latest, "ns/img:tag", "host:port/ns/img@sha256:<hex>".
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace hull::image {

struct Reference {
  std::string registry;    // "docker.io", "127.0.0.1:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // "latest" unless a digest alone was given
  std::string digest;      // "sha256:<64 hex>" or empty

  // Full form: "docker.io/library/busybox:latest" (with "@digest" when set).
  std::string str() const;
  // "registry/repository", the key of a repository.
  std::string name() const { return registry + "/" + repository; }
  // How docker shows the repository: "busybox" for docker.io/library/busybox.
  std::string familiar_name() const;
  // What a manifest request asks for: the digest when set, else the tag.
  std::string_view reference() const { return digest.empty() ? tag : digest; }
};

// default_registry: what a name without a registry names; empty: the configured one
// (registry_config(), docker.io unless hull.json says otherwise). Names read from an
// archive's docker manifest.json are docker's own and pass "docker.io".
Result<Reference> parse_reference(std::string_view s, std::string_view default_registry = {});

// Why a "host[:port]" is not a registry name; empty when it is one.
std::string registry_problem(std::string_view registry);
// The registry host docker.io really answers on.
std::string registry_endpoint_host(std::string_view registry);
// Loopback registries (127.0.0.0/8, ::1, localhost) speak plain HTTP by default.
bool is_loopback_registry(std::string_view registry);
// "sha256:<64 lower hex>".
bool valid_digest(std::string_view d);

}  // namespace hull::image

// Streaming SHA-256 (OpenSSL EVP) for content digests: "sha256:<64 hex>".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace hull {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, size_t len);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Lower-case hex of the digest; the hasher must not be used afterwards.
  std::string hex_final();

  static std::string hex(std::string_view data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hull

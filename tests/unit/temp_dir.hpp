// A fresh directory under /tmp, removed with everything in it at the end of the test.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace hull::test {

struct TempDir {
  std::string path;
  explicit TempDir(const char* prefix = "hull-test") {
    std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
    path = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace hull::test

#include <sys/mount.h>

#include <gtest/gtest.h>

#include "oci/spec.hpp"

namespace hull::oci {
namespace {

TEST(OciSpec, DefaultSpecRoundTrips) {
  for (bool rootless : {false, true}) {
    Spec s = default_spec(rootless);
    auto back = parse_spec(to_json(s).dump());
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, s) << to_json(s).dump(2) << "\n" << to_json(*back).dump(2);
  }
}

}  // namespace
}  // namespace hull::oci

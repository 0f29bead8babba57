#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/fs.hpp"
#include "runtime/rootfs.hpp"

namespace hull::runtime {
namespace {

class RootConfinement : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hull-rootfs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    ASSERT_TRUE(fs::mkdir_p(root_ + "/etc"));
    ASSERT_TRUE(fs::mkdir_p(base_ + "/outside"));
    // Symlinks a hostile image could carry: absolute, and climbing out with "..".
    ASSERT_EQ(symlink("/outside", (root_ + "/abs").c_str()), 0);
    ASSERT_EQ(symlink("../../../../outside", (root_ + "/rel").c_str()), 0);
    rootfd_.reset(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(rootfd_);
  }
  void TearDown() override { (void)fs::remove_all(base_); }

  std::string base_, root_;
  UniqueFd rootfd_;
};

TEST_F(RootConfinement, AbsoluteSymlinkStaysInside) {
  auto fd = ensure_target(rootfd_.get(), "/abs/proc", true);
  ASSERT_TRUE(fd) << fd.error().message;
  EXPECT_TRUE(fs::exists(root_ + "/outside/proc"));
  EXPECT_FALSE(fs::exists(base_ + "/outside/proc"));
}

TEST_F(RootConfinement, DotDotSymlinkStaysInside) {
  auto fd = ensure_target(rootfd_.get(), "/rel/file", false);
  ASSERT_TRUE(fd) << fd.error().message;
  EXPECT_TRUE(fs::exists(root_ + "/outside/file"));
  EXPECT_FALSE(fs::exists(base_ + "/outside/file"));
}

TEST_F(RootConfinement, DotDotPathStaysInside) {
  auto fd = ensure_target(rootfd_.get(), "/../../x", true);
  ASSERT_TRUE(fd) << fd.error().message;
  EXPECT_TRUE(fs::exists(root_ + "/x"));
  EXPECT_FALSE(fs::exists(base_ + "/x"));
}

TEST_F(RootConfinement, MissingIsEnoentNotCreatedByOpen) {
  auto fd = open_in_root(rootfd_.get(), "/etc/nope");
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code, ENOENT);
  EXPECT_EQ(fd_path(7), "/proc/self/fd/7");
}

}  // namespace
}  // namespace hull::runtime

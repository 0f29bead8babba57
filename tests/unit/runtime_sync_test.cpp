#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/mountinfo.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/sync.hpp"

namespace hull::runtime {
namespace {

TEST(SyncSocket, CarriesTypesTextAndFds) {
  auto pair = SyncSocket::make_pair();
  ASSERT_TRUE(pair);
  auto& [a, b] = *pair;
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_TRUE(a.send(SyncType::kConsole, "hello", p[1], 3));
  auto m = b.recv();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, SyncType::kConsole);
  EXPECT_EQ(m->text, "hello");
  EXPECT_EQ(m->flags, 3u);
  ASSERT_TRUE(m->fd.valid());
  ASSERT_EQ(write(m->fd.get(), "x", 1), 1);
  char c = 0;
  ASSERT_EQ(read(p[0], &c, 1), 1);
  EXPECT_EQ(c, 'x');
  close(p[0]);
  close(p[1]);
}

TEST(SyncSocket, ErrorFromPeerBecomesError) {
  auto pair = SyncSocket::make_pair();
  ASSERT_TRUE(pair);
  auto& [a, b] = *pair;
  ASSERT_TRUE(a.send(SyncType::kError, "mount proc on /proc: operation not permitted", -1, 0, EPERM));
  auto m = b.expect(SyncType::kReady);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, EPERM);
  EXPECT_EQ(m.error().message, "mount proc on /proc: operation not permitted");
}

TEST(SyncSocket, EofIsEpipe) {
  auto pair = SyncSocket::make_pair();
  ASSERT_TRUE(pair);
  pair->first.close();
  auto m = pair->second.recv();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, EPIPE);
}

TEST(MountInfo, ParsesOptionalFieldsAndEscapes) {
  auto v = parse_mountinfo(
      "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n"
      "40 30 0:37 /a\\040b /mnt/x\\040y rw - cgroup2 cgroup2 rw\n");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].mount_point, "/sys/fs/cgroup/cpu");
  EXPECT_EQ(v[0].fstype, "cgroup");
  EXPECT_EQ(v[0].super_options, "rw,cpu");
  EXPECT_EQ(v[1].root, "/a b");
  EXPECT_EQ(v[1].mount_point, "/mnt/x y");
  EXPECT_EQ(v[1].fstype, "cgroup2");
}

class FindExecutable : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hull-exec-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    write_file("/prog", 0755);
    write_file("/data", 0644);
  }
  void TearDown() override {
    unlink((dir_ + "/prog").c_str());
    unlink((dir_ + "/data").c_str());
    rmdir(dir_.c_str());
  }
  void write_file(const std::string& name, mode_t mode) {
    int fd = open((dir_ + name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, mode);
    ASSERT_GE(fd, 0);
    close(fd);
    chmod((dir_ + name).c_str(), mode);
  }
  std::string dir_;
};

TEST_F(FindExecutable, SearchesPathFromEnv) {
  auto r = find_executable("prog", {"PATH=/nonexistent:" + dir_});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, dir_ + "/prog");
}

TEST_F(FindExecutable, RuncPhrases) {
  auto missing = find_executable("nope", {"PATH=" + dir_});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "exec: \"nope\": executable file not found in $PATH");
  auto abs_missing = find_executable(dir_ + "/nope", {});
  ASSERT_FALSE(abs_missing);
  EXPECT_NE(abs_missing.error().message.find("no such file or directory"), std::string::npos);
  // Even root needs an x bit for X_OK.
  auto denied = find_executable(dir_ + "/data", {});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().message, "exec: \"" + dir_ + "/data\": permission denied");
  auto dir = find_executable(dir_, {});
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().message.find("permission denied"), std::string::npos);
}

}  // namespace
}  // namespace hull::runtime

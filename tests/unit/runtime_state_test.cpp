#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/fs.hpp"
#include "runtime/state.hpp"

namespace hull::runtime {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hull-state-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { (void)fs::remove_all(root_); }
  std::string root_;
};

TEST_F(StateStoreTest, RoundTripKeepsEveryField) {
  StateStore store(root_ + "/run");
  ASSERT_TRUE(store.create_dir("c1"));
  State s;
  s.id = "c1";
  s.pid = 4242;
  s.pid_start_time = 99;
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "2026-11-22T00:00:00Z";
  s.annotations = {{"k", "v"}};
  s.cgroup = Json{{"kind", "v1"}};
  s.hooks.poststop.push_back({"/bin/true", {"true", "x"}, {"A=1"}, 5});
  s.created_user_ns = true;
  s.owner = "root";
  ASSERT_TRUE(store.save(s));
  auto back = store.load("c1");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->pid, 4242);
  EXPECT_EQ(back->pid_start_time, 99u);
  EXPECT_EQ(back->rootfs, "/b/rootfs");
  EXPECT_EQ(back->annotations.at("k"), "v");
  EXPECT_EQ(back->cgroup["kind"], "v1");
  ASSERT_EQ(back->hooks.poststop.size(), 1u);
  EXPECT_EQ(back->hooks.poststop[0].args[1], "x");
  EXPECT_EQ(back->hooks.poststop[0].timeout, 5);
  EXPECT_TRUE(back->created_user_ns);
  EXPECT_FALSE(fs::exists(store.dir("c1") + "/state.json.tmp"));
}

TEST_F(StateStoreTest, DuplicateIdIsRefused) {
  StateStore store(root_);
  ASSERT_TRUE(store.create_dir("dup"));
  auto again = store.create_dir("dup");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "container with id \"dup\" already exists");
}

TEST_F(StateStoreTest, MissingContainerSaysSo) {
  StateStore store(root_);
  auto r = store.load("nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_EQ(r.error().message, "container \"nope\" does not exist");
}

TEST_F(StateStoreTest, ListIsSorted) {
  StateStore store(root_);
  for (auto id : {"b", "a", "c"}) ASSERT_TRUE(store.create_dir(id));
  auto ids = store.list();
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(StateStoreTest, StatusFollowsProcessAndFifo) {
  StateStore store(root_);
  ASSERT_TRUE(store.create_dir("me"));
  State s;
  s.id = "me";
  s.pid = getpid();
  s.pid_start_time = *process_start_time(getpid());
  EXPECT_EQ(store.status_of(s), ContainerStatus::running);
  ASSERT_EQ(mkfifo((store.dir("me") + "/exec.fifo").c_str(), 0600), 0);
  EXPECT_EQ(store.status_of(s), ContainerStatus::created);
  s.pid_start_time += 1;  // a reused pid: same number, another process
  EXPECT_EQ(store.status_of(s), ContainerStatus::stopped);
}

TEST(ValidateId, RejectsPathsAndOddCharacters) {
  EXPECT_TRUE(validate_id("abc-1_2.3"));
  EXPECT_FALSE(validate_id(""));
  EXPECT_FALSE(validate_id(".."));
  EXPECT_FALSE(validate_id("a/b"));
  EXPECT_FALSE(validate_id("a b"));
  EXPECT_FALSE(validate_id(std::string(1025, 'a')));
}

TEST(OciState, StoppedHasNoPid) {
  State s;
  s.id = "x";
  s.pid = 7;
  s.bundle = "/b";
  auto j = oci_state(s, ContainerStatus::stopped);
  EXPECT_EQ(j["status"], "stopped");
  EXPECT_FALSE(j.contains("pid"));
  EXPECT_EQ(oci_state(s, ContainerStatus::running)["pid"], 7);
}

}  // namespace
}  // namespace hull::runtime

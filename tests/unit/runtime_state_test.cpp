#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/fs.hpp"
#include "runtime/control.hpp"
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
  s.own_pid_ns = true;
  s.resources = Json{{"pids", {{"limit", 7}}}};
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
  EXPECT_TRUE(back->own_pid_ns);
  EXPECT_EQ(back->resources["pids"]["limit"], 7);
  EXPECT_FALSE(fs::exists(store.dir("c1") + "/state.json.tmp"));
}

TEST_F(StateStoreTest, RemoveTakesTheWholeDirectory) {
  StateStore store(root_);
  ASSERT_TRUE(store.create_dir("gone"));
  State s;
  s.id = "gone";
  ASSERT_TRUE(store.save(s));
  // A file besides state.json (exec.fifo, seccomp.bpf...): the fast path falls back.
  ASSERT_TRUE(fs::write_file(store.dir("gone") + "/seccomp.bpf", "x"));
  ASSERT_TRUE(store.remove("gone"));
  EXPECT_FALSE(fs::exists(store.dir("gone")));
  ASSERT_TRUE(store.create_dir("gone"));
  ASSERT_TRUE(store.remove("gone"));  // no state.json at all
  EXPECT_FALSE(fs::exists(store.dir("gone")));
}

TEST(MergeResources, UpdateOverridesOnlyWhatItSets) {
  oci::Resources base;
  base.memory = oci::MemoryResources{};
  base.memory->limit = 64 << 20;
  base.memory->swap = 128 << 20;
  base.pids_limit = 64;
  base.devices.push_back({false, "a", std::nullopt, std::nullopt, "rwm"});
  oci::Resources upd;
  upd.memory = oci::MemoryResources{};
  upd.memory->limit = 32 << 20;
  upd.cpu = oci::CpuResources{};
  upd.cpu->shares = 256;
  auto m = merge_resources(base, upd);
  ASSERT_TRUE(m.memory);
  EXPECT_EQ(m.memory->limit, 32 << 20);
  EXPECT_EQ(m.memory->swap, 128 << 20);  // kept
  EXPECT_EQ(m.pids_limit, 64);
  ASSERT_TRUE(m.cpu);
  EXPECT_EQ(m.cpu->shares, 256u);
  EXPECT_EQ(m.devices.size(), 1u);  // an update without devices keeps them
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

TEST(PsTable, KeepsHeaderAndTheContainersRowsAsRunc) {
  std::string out =
      "UID          PID    PPID  C STIME TTY          TIME CMD\n"
      "root           1       0  0 10:00 ?        00:00:01 /sbin/init\n"
      "root         812     800  0 10:01 ?        00:00:00 sleep 1000\n"
      "root        8120       1  0 10:02 pts/0    00:00:00 -bash\n"
      "root         900     812  0 10:03 ?        00:00:00 sh -c x\n";
  auto r = filter_ps_output(out, {900, 812});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r,
            "UID          PID    PPID  C STIME TTY          TIME CMD\n"
            "root         812     800  0 10:01 ?        00:00:00 sleep 1000\n"
            "root         900     812  0 10:03 ?        00:00:00 sh -c x\n");
  // The PID column by name, wherever it is.
  EXPECT_EQ(*filter_ps_output("COMMAND PID\nsleep 812\nbash 8120\n", {812}),
            "COMMAND PID\nsleep 812\n");
  auto none = filter_ps_output("COMMAND\nsleep\n", {812});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "couldn't find PID field in ps output");
  EXPECT_FALSE(filter_ps_output("PID CMD\nx sleep\n", {812}));
}

}  // namespace

}  // namespace hull::runtime

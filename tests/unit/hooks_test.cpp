// Hooks run for real with /bin/sh: stdin, args, env, exit status, timeout, errors.
#include "runtime/hooks.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hull::runtime {
namespace {

oci::Hook sh(std::string script, std::vector<std::string> env = {}) {
  oci::Hook h;
  h.path = "/bin/sh";
  h.args = {"sh", "-c", std::move(script)};
  h.env = std::move(env);
  return h;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class HooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hull-hooks-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(HooksTest, StateOnStdinArgsAndEnv) {
  auto out = dir_ / "out";
  oci::Hook h =
      sh("cat > " + out.string() + "; echo \"$0 $1 $FOO\" >> " + out.string(), {"FOO=bar"});
  h.args.push_back("arg0");
  h.args.push_back("arg1");
  std::vector<oci::Hook> hooks{h};
  ASSERT_TRUE(run_hooks(hooks, R"({"id":"x"})", "prestart"));
  EXPECT_EQ(slurp(out), "{\"id\":\"x\"}arg0 arg1 bar\n");
}

TEST_F(HooksTest, RunInOrderAndStopAtFirstFailure) {
  auto out = dir_ / "out";
  std::vector<oci::Hook> hooks{sh("echo one >> " + out.string()),
                               sh("echo two >> " + out.string() + "; exit 4"),
                               sh("echo three >> " + out.string())};
  auto r = run_hooks(hooks, "{}", "createRuntime");
  ASSERT_FALSE(r);
  EXPECT_EQ(slurp(out), "one\ntwo\n");
  EXPECT_NE(r.error().message.find("createRuntime hook \"/bin/sh\": exit status 4"),
            std::string::npos)
      << r.error().message;
}

TEST_F(HooksTest, ErrorCarriesStderr) {
  std::vector<oci::Hook> hooks{sh("echo 'no such device' >&2; exit 1")};
  auto r = run_hooks(hooks, "{}", "poststart");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "poststart hook \"/bin/sh\": exit status 1: stderr: no such device");
}

TEST_F(HooksTest, MissingProgram) {
  oci::Hook h;
  h.path = "/nonexistent/hook";
  std::vector<oci::Hook> hooks{h};
  auto r = run_hooks(hooks, "{}", "prestart");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_NE(r.error().message.find("prestart hook \"/nonexistent/hook\": exec"), std::string::npos);
}

TEST_F(HooksTest, RelativePathRefused) {
  oci::Hook h;
  h.path = "bin/true";
  std::vector<oci::Hook> hooks{h};
  auto r = run_hooks(hooks, "{}", "prestart");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("must be absolute"), std::string::npos);
}

TEST_F(HooksTest, TimeoutKillsTheHookAndItsChildren) {
  auto pidfile = dir_ / "pid";
  oci::Hook h = sh("sleep 30 & echo $! > " + pidfile.string() + "; wait");
  h.timeout = 1;
  std::vector<oci::Hook> hooks{h};
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_hooks(hooks, "{}", "createContainer");
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("timed out after 1s"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(5));
  pid_t child = std::stoi(slurp(pidfile));
  // The grandchild died with the hook's process group (it may linger as a zombie of init).
  for (int i = 0; i < 50 && ::kill(child, 0) == 0; ++i) ::usleep(20000);
  std::string stat = slurp("/proc/" + std::to_string(child) + "/stat");
  EXPECT_TRUE(stat.empty() || stat.find(") Z") != std::string::npos) << stat;
}

TEST_F(HooksTest, HookThatIgnoresStdinStillRuns) {
  std::vector<oci::Hook> hooks{sh("exec 0<&-; exit 0")};
  ASSERT_TRUE(run_hooks(hooks, std::string(1 << 20, 'x'), "poststop"));
}

}  // namespace
}  // namespace hull::runtime

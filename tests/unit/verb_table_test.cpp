// VerbTable::verb_in: which verb an argv names, so that only that verb's options are built.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "cli/verb_table.hpp"

namespace {

struct Globals {};
using Table = hull::cli::VerbTable<Globals>;

std::string verb_of(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return Table::verb_in(int(argv.size()), argv.data(), {"--root", "--log"});
}

TEST(VerbTable, VerbInSkipsGlobalFlagsAndTheirValues) {
  EXPECT_EQ(verb_of({"hull", "run", "busybox"}), "run");
  EXPECT_EQ(verb_of({"hull", "--root", "/x", "-D", "ps", "-a"}), "ps");
  EXPECT_EQ(verb_of({"hull", "--root=/x", "--log", "f", "state", "id"}), "state");
  EXPECT_EQ(verb_of({"hull", "--root", "run"}), "");  // "run" is --root's value
  EXPECT_EQ(verb_of({"hull", "--help"}), "");
  EXPECT_EQ(verb_of({"hull", "--", "run"}), "");
}

// An exception that escapes a verb is reported as the command's error, with the status
// main passes (125 for hull), not an abort.
const bool kBoomAdded = Table::add("boom", [](CLI::App& app, Globals&) -> Table::Run {
  app.add_subcommand("boom", "throws")->alias("bang");
  return []() -> int { throw std::runtime_error("type must be string, but is null"); };
});

TEST(VerbTable, AnEscapedExceptionIsAnErrorNotAnAbort) {
  ASSERT_TRUE(kBoomAdded);
  CLI::App app{"t", "t"};
  Globals g;
  Table verbs(app, g, "boom");
  std::vector<std::string> args = {"t", "boom"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ASSERT_FALSE(verbs.parse(
      int(argv.size()), argv.data(), [] {}, 2));
  testing::internal::CaptureStderr();
  EXPECT_EQ(verbs.run(125), 125);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("internal error: type must be string, but is null"), std::string::npos) << err;
}

// A word in the verb's place that is no verb is named in the error, with the usage status;
// an alias of a verb is one.
TEST(VerbTable, AnUnknownVerbIsNamed) {
  ASSERT_TRUE(kBoomAdded);
  for (std::string word : {"checkpoint", "bang"}) {
    CLI::App app{"t", "t"};
    Globals g;
    Table verbs(app, g, word);
    std::vector<std::string> args = {"t", word};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    testing::internal::CaptureStderr();
    auto done = verbs.parse(
        int(argv.size()), argv.data(), [] {}, 7);
    std::string err = testing::internal::GetCapturedStderr();
    if (word == "bang") {
      EXPECT_FALSE(done) << err;  // boom's alias below
    } else {
      EXPECT_EQ(done, 7);
      EXPECT_NE(err.find("unknown command \"checkpoint\" (see t --help)"), std::string::npos)
          << err;
    }
  }
}

}  // namespace

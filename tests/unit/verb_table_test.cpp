// VerbTable::verb_in: which verb an argv names, so that only that verb's options are built.
#include <gtest/gtest.h>

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

}  // namespace

// keep_wal_short: a WAL database written by many short-lived processes keeps its WAL
// short, so the next process's recovery has little to read.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "common/sqlite_wal.hpp"

namespace {

namespace fsys = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/hull-wal-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fsys::remove_all(path); }
};

// Makes `commits` single-row commits through one connection, as many hull commands do
// through theirs, and returns the WAL's size in frames afterwards.
uintmax_t wal_frames_after(const std::string& db_path, const hull::sqlite::WalLimit* limit,
                           int commits) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  EXPECT_EQ(sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(v TEXT);", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  if (limit) hull::sqlite::keep_wal_short(db, limit);
  for (int i = 0; i < commits; ++i)
    EXPECT_EQ(
        sqlite3_exec(db, "INSERT INTO t VALUES(hex(randomblob(3000)));", nullptr, nullptr, nullptr),
        SQLITE_OK);
  auto size = fsys::file_size(db_path + "-wal");
  sqlite3_close(db);
  const uintmax_t frame = 4096 + 24;
  return size > 32 ? (size - 32) / frame : 0;
}

TEST(SqliteWal, KeepWalShortTruncatesPastTheLimit) {
  TempDir d;
  static constexpr hull::sqlite::WalLimit kLimit{8, 1000};
  // Each commit adds about 2-3 frames: without the hook the WAL holds them all.
  EXPECT_GT(wal_frames_after(d.path + "/plain.db", nullptr, 60), 60u);
  EXPECT_LT(wal_frames_after(d.path + "/short.db", &kLimit, 60), 8u + 4u);
}

}  // namespace

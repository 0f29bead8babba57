// keep_wal_short: a WAL database written by many short-lived processes keeps its WAL
// short, so the next process's recovery has little to read.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <thread>

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

// A new database converted to WAL while another connection holds its RESERVED lock (as
// when 20 `hull run`s open a fresh store at once): SQLite answers the pragma with
// SQLITE_BUSY at once, busy timeout or not; enable_wal waits for the other to finish.
TEST(SqliteWal, EnableWalWaitsForAWriterOfANewDatabase) {
  TempDir d;
  const std::string path = d.path + "/new.db";
  sqlite3 *writer = nullptr, *opener = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &writer), SQLITE_OK);
  ASSERT_EQ(sqlite3_open(path.c_str(), &opener), SQLITE_OK);
  sqlite3_busy_timeout(opener, 2000);
  ASSERT_EQ(sqlite3_exec(writer, "BEGIN IMMEDIATE; CREATE TABLE t(v);", nullptr, nullptr, nullptr),
            SQLITE_OK);
  // The plain pragma fails despite the busy timeout (what hull did before).
  EXPECT_EQ(sqlite3_exec(opener, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) & 0xff,
            SQLITE_BUSY);
  std::thread done([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(sqlite3_exec(writer, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  });
  EXPECT_EQ(hull::sqlite::enable_wal(opener, 2000), SQLITE_OK) << sqlite3_errmsg(opener);
  done.join();
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(opener, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(writer);
  sqlite3_close(opener);
}

}  // namespace

// keep_wal_short: a WAL database written by many short-lived processes keeps its WAL
// short, so the next process's recovery has little to read.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/sqlite_schema.hpp"
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

int count_rows(const std::string& db_path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  int n = -1;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_close(db);
  return n;
}

uintmax_t wal_frames(const std::string& db_path) {
  auto size = fsys::file_size(db_path + "-wal");
  return size > 32 ? (size - 32) / (4096 + 24) : 0;
}

// trim_wal, as hull __exited runs it: a long WAL is folded in and started again with one
// commit (so the next writer does not sync a new header); every row is still there.
TEST(SqliteWal, TrimWalFoldsALongWalAndStartsItAgain) {
  TempDir d;
  const std::string db = d.path + "/long.db";
  ASSERT_GT(wal_frames_after(db, nullptr, 40), 40u);
  hull::sqlite::trim_wal(db, 32);
  EXPECT_EQ(fsys::file_size(db + "-wal"), 32u + 4096u + 24u);
  EXPECT_EQ(count_rows(db), 40);
}

TEST(SqliteWal, TrimWalLeavesAShortWal) {
  TempDir d;
  const std::string db = d.path + "/short.db";
  const uintmax_t frames = wal_frames_after(db, nullptr, 5);
  ASSERT_LT(frames, 32u);
  hull::sqlite::trim_wal(db, 32);
  EXPECT_EQ(wal_frames(db), frames);
}

// A reader in the middle of a transaction (another hull command): trim_wal does not wait
// for it and does not lose a row; a later call folds the WAL.
TEST(SqliteWal, TrimWalDoesNotWaitForAReader) {
  TempDir d;
  const std::string db = d.path + "/busy.db";
  ASSERT_GT(wal_frames_after(db, nullptr, 40), 40u);
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &reader), SQLITE_OK);
  sqlite3_db_config(reader, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_prepare_v2(reader, "SELECT count(*) FROM t", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  auto t0 = std::chrono::steady_clock::now();
  hull::sqlite::trim_wal(db, 32);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_GT(wal_frames(db), 40u);
  sqlite3_finalize(st);
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  hull::sqlite::trim_wal(db, 32);
  EXPECT_EQ(wal_frames(db), 1u);
  EXPECT_EQ(count_rows(db), 40);
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

// configure_process: a connection reading one page no longer allocates a 20-slot page
// cache. SQLite's configuration is per process and set before its first use, so each
// case runs in a fork and reports the memory its open connection holds after the read.
int64_t sqlite_memory_for_one_read(const std::string& path, bool configure) {
  int p[2];
  if (::pipe(p) < 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    // This test process used SQLite already: the child starts it again, as a new process.
    sqlite3_shutdown();
    int64_t used = -1;
    sqlite3_int64 before = 0, after = 0, high = 0;
    sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &before, &high, 0);
    sqlite3* db = nullptr;
    if ((!configure || hull::sqlite::configure_process() == SQLITE_OK) &&
        sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
        sqlite3_exec(db, "SELECT count(*) FROM t", nullptr, nullptr, nullptr) == SQLITE_OK) {
      sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &after, &high, 0);
      used = after - before;  // with the connection still open, its page cache included
    }
    (void)!::write(p[1], &used, sizeof used);
    ::_exit(0);
  }
  ::close(p[1]);
  int64_t used = -1;
  if (::read(p[0], &used, sizeof used) != sizeof used) used = -1;
  ::close(p[0]);
  ::waitpid(pid, nullptr, 0);
  return used;
}

TEST(SqliteWal, ConfigureProcessDropsThePageCacheSlab) {
  TempDir d;
  const std::string path = d.path + "/small.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "CREATE TABLE t(v); INSERT INTO t VALUES(1);", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  int64_t plain = sqlite_memory_for_one_read(path, false);
  int64_t configured = sqlite_memory_for_one_read(path, true);
  ASSERT_GT(plain, 0);
  ASSERT_GT(configured, 0);
  // The slab is 20 slots of a 4 KiB page plus SQLite's per-page header.
  EXPECT_GE(plain - configured, 60 * 1024) << "plain " << plain << ", configured " << configured;
}

}  // namespace

// ensure_schema from several connections that open a new file at once: each finds the file
// behind, and all but the first must leave it alone once they hold the write lock. Before,
// the second ran the DDL again, and a statement that cannot run twice (ALTER TABLE ADD
// COLUMN) failed: "duplicate column name" from `hull run -d` x20 on a new store.
TEST(SqliteSchema, ConcurrentFirstOpensRunTheDdlOnce) {
  constexpr const char* kDdl =
      "CREATE TABLE IF NOT EXISTS t(a TEXT);"
      "ALTER TABLE t ADD COLUMN b TEXT;";
  for (int round = 0; round < 10; ++round) {
    TempDir d;
    const std::string path = d.path + "/s.db";
    constexpr int kConns = 4;
    sqlite3* dbs[kConns] = {};
    for (auto*& db : dbs) {
      ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
      sqlite3_busy_timeout(db, 5000);
      sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    }
    std::atomic<int> ready{0};
    std::string errors[kConns];
    std::vector<std::thread> threads;
    for (int i = 0; i < kConns; ++i)
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < kConns) std::this_thread::yield();
        if (auto r = hull::sqlite::ensure_schema(dbs[i], 1, kDdl, "s.db"); !r)
          errors[i] = r.error().message;
      });
    for (auto& t : threads) t.join();
    for (int i = 0; i < kConns; ++i) EXPECT_EQ(errors[i], "") << "round " << round;
    EXPECT_EQ(hull::sqlite::user_version(dbs[0]), 1);
    for (auto* db : dbs) sqlite3_close(db);
  }
}

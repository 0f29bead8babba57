// One rule for every SQLite database of hull (containers.db, images.db, networks.db):
// keep the WAL short, because every hull command is a new process whose first
// connection re-reads all of it. Header-only, so src/common links no SQLite.
#pragma once

#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>

#include <cstdint>
#include <string>

namespace hull::sqlite {

// How short keep_wal_short keeps a WAL, and the connection's busy timeout to restore.
struct WalLimit {
  int frames;
  int busy_timeout_ms;
};

// The WAL length at which trim_wal folds containers.db and images.db after a container
// exit; their commits fold it themselves only at four times that (kCommitFrames), so
// that the syncs fall on a CLI only when no container exited for a while.
inline constexpr int kTrimFrames = 32;
inline constexpr int kCommitFrames = 4 * kTrimFrames;

// The first connection to open a WAL database rebuilds the WAL index by reading every
// frame, and each hull command is a new process: measured, that recovery was ~20% of
// `hull run --rm`'s CPU with a 500-frame WAL. SQLite's passive autocheckpoint copies
// frames back but leaves them in the WAL for the next opener to read again, so once a
// commit leaves `frames` or more, the WAL is checkpointed and truncated instead (one
// fsync every few dozen commits). It does not wait: a reader elsewhere makes it SQLITE_BUSY
// and a later commit tries again. Install after any wal_autocheckpoint pragma (the two
// share one hook).
inline void keep_wal_short(sqlite3* db, const WalLimit* limit) {
  sqlite3_wal_hook(
      db,
      [](void* arg, sqlite3* d, const char* name, int n) -> int {
        auto* l = static_cast<const WalLimit*>(arg);
        if (n < l->frames) return SQLITE_OK;
        sqlite3_busy_timeout(d, 0);
        (void)sqlite3_wal_checkpoint_v2(d, name, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
        sqlite3_busy_timeout(d, l->busy_timeout_ms);
        return SQLITE_OK;
      },
      const_cast<WalLimit*>(limit));
}

// Whether the WAL of the database at `path` holds `frames` or more frames (by its size).
inline bool wal_needs_trim(const std::string& path, int frames) {
  struct stat st {};
  const off_t kPage = 4096, kFrameHeader = 24, kWalHeader = 32;
  return ::stat((path + "-wal").c_str(), &st) == 0 &&
         st.st_size >= kWalHeader + frames * (kFrameHeader + kPage);
}

// Folds the WAL of the database at `path` into it and truncates it when it holds `frames`
// or more frames, for a process that no one waits for (hull __exited, after a container
// exited). A CLI whose commits leave a WAL longer than its WalLimit does the same at
// commit, but pays the syncs on a user's time: with a larger limit there, processes like
// this one keep the WAL short instead. The truncated WAL is then started with one commit
// (user_version rewritten as it is), so that the next CLI's first commit appends to it
// without the header sync and directory sync that a new WAL costs. Never waits: a busy
// database is left for a later call. A stat() when there is nothing to do.
inline void trim_wal(const std::string& path, int frames) {
  if (!wal_needs_trim(path, frames)) return;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) ==
      SQLITE_OK) {
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    int wal_frames = -1;
    // First a passive checkpoint: the copy into the database and its sync happen without
    // the write lock, so a `hull run` starting meanwhile commits at once. The truncating
    // one after it holds the lock only to copy what came since and cut the WAL.
    if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr) == SQLITE_OK &&
        sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
            SQLITE_OK &&
        sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &wal_frames, nullptr) ==
            SQLITE_OK &&
        wal_frames == 0) {
      // Read and rewritten in one write transaction: a schema upgrade elsewhere in between
      // would otherwise get its new version overwritten with the old one.
      if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK) {
        sqlite3_stmt* q = nullptr;
        bool ok = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, nullptr) == SQLITE_OK &&
                  sqlite3_step(q) == SQLITE_ROW;
        std::string set =
            ok ? "PRAGMA user_version=" + std::to_string(sqlite3_column_int(q, 0)) : std::string();
        sqlite3_finalize(q);
        if (ok) (void)sqlite3_exec(db, set.c_str(), nullptr, nullptr, nullptr);
        (void)sqlite3_exec(db, ok ? "COMMIT" : "ROLLBACK", nullptr, nullptr, nullptr);
      }
    }
  }
  sqlite3_close(db);
}

// Switches a connection's database to WAL, waiting up to timeout_ms for others. When many
// processes open a new database at once (20 `hull run`s on a fresh store), each converts
// it from a rollback journal: one holding a SHARED lock that wants the RESERVED lock
// another holds gets SQLITE_BUSY at once, without the busy handler (SQLite's deadlock
// rule), so the pragma is retried here. Returns the last SQLite result code.
inline int enable_wal(sqlite3* db, int timeout_ms) {
  for (int waited = 0;; waited += 2) {
    int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) return rc;
    if (waited >= timeout_ms) return rc;
    timespec ts{0, 2'000'000};
    ::nanosleep(&ts, nullptr);
  }
}

// Process-wide: no page-cache slab per connection. By default each connection allocates
// 20 page slots (~86 KiB) at its first read and threads a free list through all of them,
// touching every page of it, though a hull command reads a few pages of each database:
// ~50 page faults of a `hull run --rm`, ~6% of its time. Call before any connection
// opens (SQLite refuses it afterwards: SQLITE_MISUSE).
inline int configure_process() {
  return sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
}

}  // namespace hull::sqlite

// One rule for every SQLite database of hull (containers.db, images.db, networks.db):
// keep the WAL short, because every hull command is a new process whose first
// connection re-reads all of it. Header-only, so src/common links no SQLite.
#pragma once

#include <sqlite3.h>
#include <time.h>

namespace hull::sqlite {

// How short keep_wal_short keeps a WAL, and the connection's busy timeout to restore.
struct WalLimit {
  int frames;
  int busy_timeout_ms;
};

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

}  // namespace hull::sqlite

// One rule for every SQLite database of hull (containers.db, images.db, networks.db):
// keep the WAL short, because every hull command is a new process whose first
// connection re-reads all of it. Header-only, so src/common links no SQLite.
#pragma once

#include <sqlite3.h>

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

}  // namespace hull::sqlite

// Creating a database's tables once, not at every open: each hull command is a new
// process, and running the CREATE ... IF NOT EXISTS statements (parse, look up, an
// IMMEDIATE transaction) at every open cost each `run` several of them per database.
// PRAGMA user_version, in the file's header, says which schema the file has. Header-only,
// so src/common links no SQLite.
#pragma once

#include <sqlite3.h>

#include <string>

#include "common/error.hpp"

namespace hull::sqlite {

// The file's user_version (0 for a new or older database); -1 if it cannot be read.
inline int user_version(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) != SQLITE_OK) return -1;
  int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
  sqlite3_finalize(st);
  return v;
}

// Runs `ddl` and records `version`, unless the file already has that version or a later
// one. The version is read again inside the write transaction: processes opening a new
// file at once each find it behind, and all but the first must then leave it alone (a
// statement such as ALTER TABLE ADD COLUMN cannot run twice). `what` names the database
// in errors. Bump the version with every change of ddl.
inline Status ensure_schema(sqlite3* db, int version, const char* ddl, std::string_view what) {
  if (user_version(db) >= version) return {};
  auto run = [&](const char* sql) -> Status {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) == SQLITE_OK) return {};
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return failf("{}: create tables: {}", what, msg);
  };
  HULL_CHECK(run("BEGIN IMMEDIATE"));
  if (user_version(db) >= version) return run("COMMIT");
  std::string sql = ddl;
  sql += "PRAGMA user_version=" + std::to_string(version) + ";COMMIT;";
  return run(sql.c_str());
}

}  // namespace hull::sqlite

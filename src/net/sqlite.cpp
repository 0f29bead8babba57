#include "net/sqlite.hpp"

#include "common/sqlite_wal.hpp"

namespace hull::net::sql {

Result<Db> Db::open(const std::string& path) {
  sqlite3* d = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = d ? sqlite3_errmsg(d) : sqlite3_errstr(rc);
    if (d) sqlite3_close_v2(d);
    return fail(fmt::format("open database \"{}\": {}", path, msg), EIO);
  }
  static constexpr sqlite::WalLimit kWalLimit{32, 10000};
  sqlite3_busy_timeout(d, kWalLimit.busy_timeout_ms);
  Db db(d, path);
  if (sqlite::enable_wal(d, kWalLimit.busy_timeout_ms) != SQLITE_OK)
    return failf("{}: journal_mode=WAL: {}", path, sqlite3_errmsg(d));
  HULL_CHECK(db.exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  sqlite::keep_wal_short(d, &kWalLimit);
  return db;
}

Status Db::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return fail(fmt::format("sqlite \"{}\": {}", path_, msg), EIO);
  }
  return {};
}

Result<sqlite3_stmt*> Db::prepare(const std::string& sql, const std::vector<Value>& params) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &st, nullptr) !=
      SQLITE_OK)
    return fail(fmt::format("sqlite \"{}\": {}", path_, sqlite3_errmsg(db_.get())), EIO);
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i) + 1;
    if (auto* n = std::get_if<int64_t>(&params[i]))
      sqlite3_bind_int64(st, idx, *n);
    else if (auto* s = std::get_if<std::string>(&params[i]))
      sqlite3_bind_text(st, idx, s->c_str(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(st, idx);
  }
  return st;
}

}  // namespace hull::net::sql

// A thin RAII layer over sqlite3 statements for the store's index (internal to image/).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace hull::image::sql {

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.data(), int(sql.size()), &st_, nullptr) != SQLITE_OK)
      err_ = sqlite3_errmsg(db);
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::string_view s) {
    sqlite3_bind_text(st_, i, s.data(), int(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  // True while rows come; an error ends the loop and is kept for status().
  bool step() {
    if (!st_) return false;
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) err_ = sqlite3_errmsg(db_);
    return false;
  }
  Status run() {
    while (step()) {
    }
    return status();
  }
  Status status() const {
    if (!err_.empty()) return failf("image index: {}", err_);
    return {};
  }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    return p ? std::string(p, size_t(sqlite3_column_bytes(st_, col))) : std::string();
  }
  int64_t int64(int col) const { return sqlite3_column_int64(st_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  std::string err_;
};

inline Status exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return failf("image index: {}", m);
  }
  return {};
}

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed.
class Tx {
 public:
  explicit Tx(sqlite3* db) : db_(db) { ok_ = bool(exec(db, "BEGIN IMMEDIATE")); }
  ~Tx() {
    if (ok_ && !done_) exec(db_, "ROLLBACK");
  }
  Status begun() const {
    if (!ok_) return failf("image index: begin transaction: {}", sqlite3_errmsg(db_));
    return {};
  }
  Status commit() {
    done_ = true;
    return exec(db_, "COMMIT");
  }

 private:
  sqlite3* db_;
  bool ok_ = false, done_ = false;
};

}  // namespace hull::image::sql

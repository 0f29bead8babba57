// A thin owner of an SQLite connection and its statements, for net.db. Internal.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.hpp"

namespace hull::net::sql {

using Value = std::variant<std::nullptr_t, int64_t, std::string>;

class Row {
 public:
  explicit Row(sqlite3_stmt* st) : st_(st) {}
  [[nodiscard]] int64_t i(int col) const { return sqlite3_column_int64(st_, col); }
  [[nodiscard]] std::string s(int col) const {
    auto p = sqlite3_column_text(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }

 private:
  sqlite3_stmt* st_;
};

class Db {
 public:
  static Result<Db> open(const std::string& path);
  Db(Db&&) noexcept = default;
  Db& operator=(Db&&) noexcept = default;

  Status exec(const std::string& sql);
  // Runs sql with params bound in order; on_row is called for each result row.
  template <class F>
  Status query(const std::string& sql, const std::vector<Value>& params, F&& on_row);
  Status run(const std::string& sql, const std::vector<Value>& params) {
    return query(sql, params, [](const Row&) {});
  }
  [[nodiscard]] sqlite3* get() const { return db_.get(); }
  [[nodiscard]] std::string path() const { return path_; }

 private:
  struct Close {
    void operator()(sqlite3* d) const { sqlite3_close_v2(d); }
  };
  Db(sqlite3* d, std::string path) : db_(d), path_(std::move(path)) {}
  Result<sqlite3_stmt*> prepare(const std::string& sql, const std::vector<Value>& params);
  std::unique_ptr<sqlite3, Close> db_;
  std::string path_;
};

template <class F>
Status Db::query(const std::string& sql, const std::vector<Value>& params, F&& on_row) {
  sqlite3_stmt* st = HULL_TRY(prepare(sql, params));
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> guard(st, sqlite3_finalize);
  for (;;) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return {};
    if (rc != SQLITE_ROW)
      return fail(fmt::format("sqlite \"{}\": {}", path_, sqlite3_errmsg(db_.get())), EIO);
    on_row(Row(st));
  }
}

}  // namespace hull::net::sql

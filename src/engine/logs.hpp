// Container logs in docker's json-file format: one JSON object per line,
// {"log":"text\n","stream":"stdout","time":"2026-01-01T00:00:00.000000000Z"}, rotated by
// size into <file>.1 .. <file>.(max_file-1). The writer runs in the monitor: no heap
// growth per line, one write(2) per record.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace hull::engine {

class LogWriter {
 public:
  LogWriter(std::string path, uint64_t max_size, int max_file)
      : path_(std::move(path)), max_size_(max_size), max_file_(max_file) {}
  Status open();
  // Writes one record per line of data (a partial last line is a record of its own, as
  // docker's copier does once its buffer fills).
  void write(std::string_view stream, std::string_view data);
  const std::string& path() const { return path_; }

 private:
  void record(std::string_view stream, std::string_view line);
  void rotate();
  std::string path_;
  uint64_t max_size_ = 0;
  int max_file_ = 1;
  uint64_t size_ = 0;
  UniqueFd fd_;
  std::string buf_;  // reused for every record
};

struct LogEntry {
  std::string stream;  // stdout, stderr
  std::string log;     // with its newline
  std::string time;    // RFC3339Nano
  int64_t time_ns = 0;
};

struct LogQuery {
  std::optional<size_t> tail;  // last N lines
  int64_t since_ns = 0;        // unix ns
  int64_t until_ns = 0;
};

// Calls out(entry) for each entry of the log files (oldest rotated file first) that
// matches the query; returns the byte offset reached in the current file, for follow.
Result<uint64_t> read_logs(const std::string& path, const LogQuery& q,
                           const std::function<void(const LogEntry&)>& out);
// Reads entries appended to the current file from offset on; returns the new offset.
Result<uint64_t> read_logs_from(const std::string& path, uint64_t offset,
                                const std::function<void(const LogEntry&)>& out);
// docker's --since/--until: "2013-01-02T13:23:37Z" (or +02:00, or no zone: local time),
// "2013-01-02", "10m", "1h30m", a unix time "1700000000" or "1700000000.5".
Result<int64_t> parse_since(std::string_view text, int64_t now_ns);

}  // namespace hull::engine

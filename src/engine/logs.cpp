#include "engine/logs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <deque>
#include <optional>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"

namespace hull::engine {
namespace {

void append_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through; invalid bytes too (docker)
        }
    }
  }
}

int64_t parse_rfc3339(std::string_view s) {
  tm t{};
  std::string str(s);
  const char* rest = ::strptime(str.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
  if (!rest) return -1;
  int64_t ns = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 9) {
        ns = ns * 10 + (*rest - '0');
        ++digits;
      }
      ++rest;
    }
    while (digits++ < 9) ns *= 10;
  }
  return static_cast<int64_t>(::timegm(&t)) * 1000000000 + ns;
}

bool parse_entry(std::string_view line, LogEntry& e) {
  auto j = parse_json(line, "log");
  if (!j || !j->is_object()) return false;
  e.stream = j->value("stream", "stdout");
  e.log = j->value("log", "");
  e.time = j->value("time", "");
  e.time_ns = parse_rfc3339(e.time);
  return true;
}

}  // namespace

Status LogWriter::open() {
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd_) return sys_failf("open {}", path_);
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
  buf_.reserve(4096);
  return {};
}

void LogWriter::write(std::string_view stream, std::string_view data) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    size_t len = nl == std::string_view::npos ? data.size() : nl + 1;
    record(stream, data.substr(0, len));
    data.remove_prefix(len);
  }
}

void LogWriter::record(std::string_view stream, std::string_view line) {
  if (!fd_) return;
  buf_.clear();
  buf_ += "{\"log\":\"";
  append_escaped(buf_, line);
  buf_ += "\",\"stream\":\"";
  buf_ += stream;
  buf_ += "\",\"time\":\"";
  buf_ += rfc3339_now();
  buf_ += "\"}\n";
  if (max_size_ > 0 && size_ > 0 && size_ + buf_.size() > max_size_) rotate();
  ssize_t n = ::write(fd_.get(), buf_.data(), buf_.size());
  if (n > 0) size_ += static_cast<uint64_t>(n);
  // Keep the buffer from growing for good after one huge line.
  if (buf_.capacity() > 65536) std::string().swap(buf_);
}

void LogWriter::rotate() {
  if (max_file_ <= 1) {
    // A single file: start it over, as docker does with max-file=1.
    if (::ftruncate(fd_.get(), 0) == 0) size_ = 0;
    return;
  }
  for (int i = max_file_ - 1; i >= 1; --i) {
    std::string from = i == 1 ? path_ : fmt::format("{}.{}", path_, i - 1);
    std::string to = fmt::format("{}.{}", path_, i);
    (void)::rename(from.c_str(), to.c_str());
  }
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640));
  size_ = 0;
}

Result<uint64_t> read_logs_from(const std::string& path, uint64_t offset,
                                const std::function<void(const LogEntry&)>& out) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return offset;
    return sys_failf("open {}", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) < offset)
    offset = 0;  // rotated
  if (::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0)
    return sys_failf("seek {}", path);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) return sys_failf("read {}", path);
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  size_t pos = 0;
  LogEntry e;
  for (;;) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) break;  // a partial record: read it next time
    if (parse_entry(std::string_view(data).substr(pos, nl - pos), e)) out(e);
    pos = nl + 1;
  }
  return offset + pos;
}

Result<uint64_t> read_logs(const std::string& path, const LogQuery& q,
                           const std::function<void(const LogEntry&)>& out) {
  std::deque<LogEntry> kept;
  auto collect = [&](const LogEntry& e) {
    if (q.since_ns && e.time_ns < q.since_ns) return;
    if (q.until_ns && e.time_ns > q.until_ns) return;
    if (q.tail) {
      if (*q.tail == 0) return;
      kept.push_back(e);
      if (kept.size() > *q.tail) kept.pop_front();
    } else {
      out(e);
    }
  };
  for (int i = 99; i >= 1; --i) {
    std::string rotated = fmt::format("{}.{}", path, i);
    if (!fs::exists(rotated)) continue;
    (void)HULL_TRY(read_logs_from(rotated, 0, collect));
  }
  uint64_t off = HULL_TRY(read_logs_from(path, 0, collect));
  for (const auto& e : kept) out(e);
  return off;
}

namespace {

// Nanoseconds since the epoch fit int64 for years 1678 to 2262: a time outside is the
// first or last representable one (for --since and --until that means everything or
// nothing), not a product that overflowed into another sign.
int64_t saturated_ns(__int128 ns) {
  if (ns > INT64_MAX) return INT64_MAX;
  if (ns < INT64_MIN) return INT64_MIN;
  return static_cast<int64_t>(ns);
}

// docker's timestamps (timetypes.GetTimestamp): 2006-01-02, then optionally T15, T15:04 or
// T15:04:05 with a fraction, then Z or a +07:00 offset; without one, this host's local time.
std::optional<int64_t> parse_timestamp(std::string_view s) {
  size_t i = 0;
  auto num = [&](size_t digits, int& out) {
    out = 0;
    if (i + digits > s.size()) return false;
    for (size_t k = 0; k < digits; ++k) {
      if (!std::isdigit(static_cast<unsigned char>(s[i + k]))) return false;
      out = out * 10 + (s[i + k] - '0');
    }
    i += digits;
    return true;
  };
  auto lit = [&](char c) { return i < s.size() && s[i] == c && ++i; };
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  if (!num(4, year) || !lit('-') || !num(2, mon) || !lit('-') || !num(2, day)) return {};
  int64_t frac = 0;
  if (lit('T')) {
    if (!num(2, hour)) return {};
    if (lit(':') && (!num(2, min) || (lit(':') && !num(2, sec)))) return {};
    if (lit('.')) {
      int digits = 0;
      for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, ++digits)
        if (digits < 9) frac = frac * 10 + (s[i] - '0');
      if (digits == 0) return {};
      for (; digits < 9; ++digits) frac *= 10;
    }
  }
  std::optional<int> east;  // the zone's offset, seconds east of UTC
  if (lit('Z') || lit('z')) {
    east = 0;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i++] == '-' ? -1 : 1, oh = 0, om = 0;
    if (!num(2, oh) || !lit(':') || !num(2, om)) return {};
    east = sign * (oh * 3600 + om * 60);
  }
  if (i != s.size() || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 ||
      sec > 60)
    return {};
  tm t{};
  t.tm_year = year - 1900;
  t.tm_mon = mon - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = min;
  t.tm_sec = sec;
  int64_t secs = 0;
  if (east) {
    secs = static_cast<int64_t>(::timegm(&t)) - *east;
  } else {
    t.tm_isdst = -1;
    secs = static_cast<int64_t>(::mktime(&t));
  }
  return saturated_ns(__int128(secs) * 1000000000 + frac);
}

}  // namespace

Result<int64_t> parse_since(std::string_view text, int64_t now_ns) {
  if (text.empty()) return 0;
  if (text.find('-') != std::string_view::npos) {
    if (auto ns = parse_timestamp(text)) return *ns;
    return failf(
        "invalid --since \"{}\": use a date (2006-01-02, 2006-01-02T15:04:05Z, with an offset "
        "such as +02:00), a unix time or a duration like 10m",
        text);
  }
  // A unix time, with nanoseconds after a dot (docker's "1700000000.5").
  auto dot = text.find('.');
  if (auto secs = parse_int<int64_t>(text.substr(0, dot))) {
    std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
    if (frac.size() <= 9 && (frac.empty() || parse_int<int64_t>(frac))) {
      int64_t ns = frac.empty() ? 0 : *parse_int<int64_t>(frac);
      for (size_t d = frac.size(); d < 9; ++d) ns *= 10;
      return saturated_ns(__int128(*secs) * 1000000000 + ns);
    }
  }
  // A duration before now: "1h30m", "10s", "250ms".
  double total = 0;  // a double, then saturated: "9999999999h" is past int64's range
  std::string_view s = text;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return failf("invalid --since \"{}\"", text);
    double v = std::strtod(std::string(s.substr(0, i)).c_str(), nullptr);
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
    std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    double mult = unit == "h"    ? 3600e9
                  : unit == "m"  ? 60e9
                  : unit == "s"  ? 1e9
                  : unit == "ms" ? 1e6
                                 : -1;
    if (mult < 0) return failf("invalid --since \"{}\": unknown unit \"{}\"", text, unit);
    total += v * mult;
  }
  if (total >= 0x1p63) return saturated_ns(__int128(now_ns) - INT64_MAX);
  return saturated_ns(__int128(now_ns) - static_cast<int64_t>(total));
}

}  // namespace hull::engine

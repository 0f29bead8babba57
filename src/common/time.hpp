// UTC times as RFC 3339 text ("2026-12-02T17:46:09.123456789Z"), by calendar arithmetic:
// gmtime_r's first call in a process loads the local time zone (tzset reads
// /etc/localtime), which a UTC time does not need. Header-only.
#pragma once

#include <fmt/format.h>
#include <time.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace hull {

// Seconds since the epoch; nanos in [0, 1e9) is printed with all nine digits, a negative
// nanos prints none.
inline std::string format_rfc3339(int64_t secs, long nanos = -1) {
  using namespace std::chrono;
  const sys_seconds t{seconds{secs}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", int(ymd.year()),
                                unsigned(ymd.month()), unsigned(ymd.day()), hms.hours().count(),
                                hms.minutes().count(), hms.seconds().count());
  if (nanos >= 0) out += fmt::format(".{:09d}", nanos);
  out += 'Z';
  return out;
}

// The time now (CLOCK_REALTIME), with nanoseconds.
inline std::string rfc3339_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return format_rfc3339(ts.tv_sec, ts.tv_nsec);
}

}  // namespace hull

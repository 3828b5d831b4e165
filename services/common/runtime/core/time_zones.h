// UTC offsets of IANA time zones ("Europe/Berlin") from the system's zoneinfo files (TZif, RFC
// 8536): libstdc++ 12 has no std::chrono::tzdb. Each zone's file is read once and kept; times past
// its last transition follow the POSIX TZ rule at its end ("CET-1CEST,M3.5.0,M10.5.0/3": Mm.w.d
// rules; another rule form keeps the last transition's offset). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/runtime/core/error.h"

namespace switchyard {

class TimeZones {
 public:
  // `directory`: where the zone files are (tests point it elsewhere).
  explicit TimeZones(std::string directory = "/usr/share/zoneinfo");
  ~TimeZones();
  TimeZones(const TimeZones&) = delete;
  TimeZones& operator=(const TimeZones&) = delete;

  // The system's zones (one instance per process).
  static TimeZones& system();

  // Seconds east of UTC in `zone` at `unix_ms` (Europe/Berlin in July: 7200). kInvalidArgument for
  // a name that is no zone name (empty, absolute, "..", odd characters) and kNotFound for one
  // without a readable TZif file; both name the zone.
  Result<int> offset(std::string_view zone, std::int64_t unix_ms);
  // Whether `zone` is one offset() can answer for.
  bool known(std::string_view zone) { return offset(zone, 0).has_value(); }

  struct Zone;  // the parsed file

 private:
  Result<std::shared_ptr<const Zone>> load(std::string_view zone);

  std::string directory_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const Zone>, std::less<>> zones_;
};

// RFC 3339 with the zone's offset at that instant, e.g. "2026-07-01T12:00:00.000+02:00".
std::string format_rfc3339_offset(std::int64_t unix_ms, int offset_seconds);

}  // namespace switchyard

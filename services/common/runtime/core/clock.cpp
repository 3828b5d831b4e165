// The real clock and timestamp formatting.
#include "common/runtime/core/clock.h"

#include <cstdio>
#include <ctime>

namespace switchyard {

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // generous: the compiler cannot bound tm fields
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.size() < 20 || (text[10] != 'T' && text[10] != 't') ||
      std::sscanf(std::string(text.substr(0, 19)).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d,
                  &h, &mi, &s) != 6 ||
      mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::chrono::milliseconds millis{0};
  std::string_view zone = text.substr(19);
  if (!zone.empty() && zone.front() == '.') {
    const auto end = zone.find_first_not_of("0123456789", 1);
    if (end == 1 || end == std::string_view::npos) return std::nullopt;
    int scale = 100;
    for (std::size_t i = 1; i < end && scale > 0; ++i, scale /= 10) {
      millis += std::chrono::milliseconds((zone[i] - '0') * scale);
    }
    zone = zone.substr(end);
  }
  int offset_min = 0;
  if (zone == "Z" || zone == "z") {
    offset_min = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    offset_min =
        ((zone[1] - '0') * 10 + (zone[2] - '0')) * 60 + (zone[4] - '0') * 10 + (zone[5] - '0');
    if (zone[0] == '-') offset_min = -offset_min;
  } else {
    return std::nullopt;
  }
  const auto secs = std::chrono::seconds(timegm(&tm)) - std::chrono::minutes(offset_min);
  // A valid-looking year the clock cannot hold (its nanoseconds reach 1677 to 2262) is refused,
  // not wrapped around.
  using Limits = std::chrono::system_clock::duration;
  if (secs >= std::chrono::duration_cast<std::chrono::seconds>(Limits::max()) ||
      secs <= std::chrono::duration_cast<std::chrono::seconds>(Limits::min())) {
    return std::nullopt;
  }
  return std::chrono::system_clock::time_point(secs + millis);
}

}  // namespace switchyard

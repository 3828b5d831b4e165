// Versions, and RFC 3339 date-times as JSON Schema's "date-time" format defines them.
#include "common/ocpp/types.h"

#include <cstdio>
#include <cstring>

namespace switchyard::ocpp {

std::string_view subprotocol(Version version) {
  switch (version) {
    case Version::k16:
      return "ocpp1.6";
    case Version::k201:
      return "ocpp2.0.1";
    case Version::k21:
      return "ocpp2.1";
  }
  return "";
}

std::optional<Version> version_from_subprotocol(std::string_view name) {
  if (name == "ocpp1.6") return Version::k16;
  if (name == "ocpp2.0.1") return Version::k201;
  if (name == "ocpp2.1") return Version::k21;
  return std::nullopt;
}

std::string_view version_label(Version version) {
  switch (version) {
    case Version::k16:
      return "1.6";
    case Version::k201:
      return "2.0.1";
    case Version::k21:
      return "2.1";
  }
  return "";
}

namespace {

bool digits(std::string_view t, std::size_t at, std::size_t n, int& value) {
  if (at + n > t.size()) return false;
  value = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (t[i] < '0' || t[i] > '9') return false;
    value = value * 10 + (t[i] - '0');
  }
  return true;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

DateTime::DateTime(TimePoint time) : ms_(time.time_since_epoch().count()) {
  std::int64_t ms = ms_;
  std::int64_t days = ms >= 0 ? ms / 86'400'000 : (ms - 86'399'999) / 86'400'000;
  std::int64_t rem = ms - days * 86'400'000;
  // civil_from_days
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
  const int hour = static_cast<int>(rem / 3'600'000);
  const int minute = static_cast<int>(rem / 60'000 % 60);
  const int second = static_cast<int>(rem / 1000 % 60);
  const int millis = static_cast<int>(rem % 1000);
  if (y < 0 || y > 9999) {
    const int n = std::snprintf(text_, sizeof text_, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                                static_cast<int>(y), m, d, hour, minute, second, millis);
    size_ = static_cast<std::uint8_t>(n > 0 ? std::min<int>(n, kMaxText) : 0);
    return;
  }
  // The digits written directly: snprintf was most of a Heartbeat answer's encoding.
  char* out = text_;
  const auto put = [&out](int value, int digits) {
    for (int i = digits - 1; i >= 0; --i, value /= 10) out[i] = static_cast<char>('0' + value % 10);
    out += digits;
  };
  put(static_cast<int>(y), 4);
  *out++ = '-';
  put(static_cast<int>(m), 2);
  *out++ = '-';
  put(static_cast<int>(d), 2);
  *out++ = 'T';
  put(hour, 2);
  *out++ = ':';
  put(minute, 2);
  *out++ = ':';
  put(second, 2);
  *out++ = '.';
  put(millis, 3);
  *out++ = 'Z';
  size_ = static_cast<std::uint8_t>(out - text_);
}

std::optional<DateTime> DateTime::parse(std::string_view t, bool allow_missing_zone,
                                        bool* zone_missing) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM); 'T' and 'Z' in either case; no leap seconds.
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (t.size() < 19 || !digits(t, 0, 4, year) || t[4] != '-' || !digits(t, 5, 2, month) ||
      t[7] != '-' || !digits(t, 8, 2, day) || (t[10] != 'T' && t[10] != 't') ||
      !digits(t, 11, 2, hour) || t[13] != ':' || !digits(t, 14, 2, minute) || t[16] != ':' ||
      !digits(t, 17, 2, second)) {
    return std::nullopt;
  }
  if (year == 0 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
      hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  std::size_t i = 19;
  int millis = 0;
  std::size_t frac_begin = i, frac_end = i;
  if (i < t.size() && t[i] == '.') {
    frac_begin = ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    frac_end = i;
    if (frac_end == frac_begin) return std::nullopt;
    for (std::size_t k = 0; k < 3; ++k) {
      millis = millis * 10 + (frac_begin + k < frac_end ? t[frac_begin + k] - '0' : 0);
    }
  }
  int offset_minutes = 0;
  bool missing = false;
  if (i == t.size()) {
    if (!allow_missing_zone) return std::nullopt;
    missing = true;
  } else if ((t[i] == 'Z' || t[i] == 'z') && i + 1 == t.size()) {
    // UTC
  } else if ((t[i] == '+' || t[i] == '-') && i + 6 == t.size()) {
    int oh = 0, om = 0;
    if (!digits(t, i + 1, 2, oh) || t[i + 3] != ':' || !digits(t, i + 4, 2, om) || oh > 23 ||
        om > 59) {
      return std::nullopt;
    }
    offset_minutes = (t[i] == '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (zone_missing) *zone_missing = missing;

  DateTime out;
  const std::int64_t days = days_from_civil(year, month, day);
  const std::int64_t seconds = days * 86400 + std::int64_t{hour} * 3600 +
                               std::int64_t{minute} * 60 + second -
                               std::int64_t{offset_minutes} * 60;
  out.ms_ = seconds * 1000 + millis;
  if (!missing && t.size() <= kMaxText) {
    std::memcpy(out.text_, t.data(), t.size());
    out.size_ = static_cast<std::uint8_t>(t.size());
    return out;
  }
  // Normalized text: no more than 9 fraction digits, and "Z" for a missing zone.
  std::string text(t.substr(0, 19));
  if (frac_end > frac_begin) {
    text += ".";
    text += t.substr(frac_begin, std::min<std::size_t>(frac_end - frac_begin, 9));
  }
  text += missing ? std::string_view("Z") : t.substr(i);
  std::memcpy(out.text_, text.data(), std::min(text.size(), kMaxText));
  out.size_ = static_cast<std::uint8_t>(std::min(text.size(), kMaxText));
  return out;
}

}  // namespace switchyard::ocpp

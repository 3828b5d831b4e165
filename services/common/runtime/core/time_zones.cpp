// IANA time zone offsets from TZif files (see time_zones.h).
#include "common/runtime/core/time_zones.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

#include "common/runtime/core/clock.h"

namespace switchyard {

namespace {

constexpr std::int64_t kDay = 86400;

// Big-endian integers of a TZif file.
std::int64_t be(const std::string& data, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data[at + i]);
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

namespace chr = std::chrono;

// The civil year of a UTC instant (seconds).
int year_of(std::int64_t unix_s) {
  return int(
      chr::year_month_day(chr::floor<chr::days>(chr::sys_seconds(chr::seconds(unix_s)))).year());
}

// A POSIX TZ string's rule ("CET-1CEST,M3.5.0,M10.5.0/3"), the Mm.w.d form.
struct PosixRule {
  int std_offset = 0;  // seconds east of UTC
  bool has_dst = false;
  int dst_offset = 0;
  struct When {
    unsigned month = 0, week = 0, weekday = 0;
    int time = 7200;  // local seconds after midnight
  } start, end;

  // The UTC instant of `w` in year `y`, local time at `offset`.
  static std::int64_t at(const When& w, int y, int offset) {
    const chr::year_month ym{chr::year(y), chr::month(w.month)};
    const chr::weekday wd(w.weekday);  // 0: Sunday, as POSIX
    // Week 5 is the last such weekday of the month.
    const chr::sys_days day =
        w.week == 5 ? chr::sys_days(chr::year_month_weekday_last(ym.year(), ym.month(),
                                                                 chr::weekday_last(wd)))
                    : chr::sys_days(chr::year_month_weekday(ym.year(), ym.month(), wd[w.week]));
    return day.time_since_epoch().count() * kDay + w.time - offset;
  }

  int offset(std::int64_t unix_s) const {
    if (!has_dst) return std_offset;
    const int y = year_of(unix_s + std_offset);
    const std::int64_t begins = at(start, y, std_offset);
    const std::int64_t ends = at(end, y, dst_offset);
    const bool dst = begins < ends ? (unix_s >= begins && unix_s < ends)
                                   : !(unix_s >= ends && unix_s < begins);  // southern
    return dst ? dst_offset : std_offset;
  }
};

// A tiny reader of the POSIX TZ grammar; nullopt for what it does not know.
class PosixReader {
 public:
  explicit PosixReader(std::string_view text) : s_(text) {}

  std::optional<PosixRule> read() {
    PosixRule r;
    if (!name()) return std::nullopt;
    auto std_offset = hms(true);
    if (!std_offset) return std::nullopt;
    r.std_offset = -*std_offset;  // POSIX counts west of UTC
    if (i_ == s_.size()) return r;
    if (!name()) return std::nullopt;
    r.has_dst = true;
    r.dst_offset = r.std_offset + 3600;
    if (i_ < s_.size() && s_[i_] != ',') {
      auto dst_offset = hms(true);
      if (!dst_offset) return std::nullopt;
      r.dst_offset = -*dst_offset;
    }
    if (i_ == s_.size() || s_[i_] != ',') return std::nullopt;  // no rule: unknown default
    ++i_;
    if (!when(r.start) || i_ == s_.size() || s_[i_] != ',') return std::nullopt;
    ++i_;
    if (!when(r.end) || i_ != s_.size()) return std::nullopt;
    return r;
  }

 private:
  bool name() {
    const std::size_t from = i_;
    if (i_ < s_.size() && s_[i_] == '<') {
      const auto close = s_.find('>', i_);
      if (close == std::string_view::npos) return false;
      i_ = close + 1;
      return true;
    }
    while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_])) != 0) ++i_;
    return i_ - from >= 3;
  }
  std::optional<int> number() {
    const std::size_t from = i_;
    int v = 0;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])) != 0 && v < 1000) {
      v = v * 10 + (s_[i_++] - '0');
    }
    if (i_ == from) return std::nullopt;
    return v;
  }
  // [+-]hh[:mm[:ss]] in seconds.
  std::optional<int> hms(bool signed_value) {
    int sign = 1;
    if (signed_value && i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) {
      sign = s_[i_++] == '-' ? -1 : 1;
    }
    auto h = number();
    if (!h) return std::nullopt;
    int seconds = *h * 3600;
    for (int unit : {60, 1}) {
      if (i_ >= s_.size() || s_[i_] != ':') break;
      ++i_;
      auto part = number();
      if (!part) return std::nullopt;
      seconds += *part * unit;
    }
    return sign * seconds;
  }
  bool when(PosixRule::When& w) {
    if (i_ >= s_.size() || s_[i_] != 'M') return false;  // Jn and n: not read
    ++i_;
    auto m = number();
    if (!m || i_ >= s_.size() || s_[i_++] != '.') return false;
    auto week = number();
    if (!week || i_ >= s_.size() || s_[i_++] != '.') return false;
    auto d = number();
    if (!d || *m < 1 || *m > 12 || *week < 1 || *week > 5 || *d > 6) return false;
    w.month = static_cast<unsigned>(*m);
    w.week = static_cast<unsigned>(*week);
    w.weekday = static_cast<unsigned>(*d);
    if (i_ < s_.size() && s_[i_] == '/') {
      ++i_;
      auto t = hms(true);
      if (!t) return false;
      w.time = *t;
    }
    return true;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

bool valid_zone_name(std::string_view zone) {
  if (zone.empty() || zone.size() > 64 || zone.front() == '/') return false;
  if (zone.find("..") != std::string_view::npos) return false;
  return std::all_of(zone.begin(), zone.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '_' || c == '-' ||
           c == '+';
  });
}

}  // namespace

struct TimeZones::Zone {
  std::vector<std::int64_t> transitions;  // UTC seconds
  std::vector<int> offsets;               // after each transition
  int initial = 0;                        // before the first
  std::optional<PosixRule> rule;          // past the last

  int offset(std::int64_t unix_s) const {
    if (transitions.empty() || unix_s < transitions.front()) {
      return transitions.empty() && rule ? rule->offset(unix_s) : initial;
    }
    if (unix_s >= transitions.back() && rule) return rule->offset(unix_s);
    const auto it = std::upper_bound(transitions.begin(), transitions.end(), unix_s);
    return offsets[static_cast<std::size_t>(it - transitions.begin()) - 1];
  }
};

namespace {

// Reads a TZif file: the 64-bit block of version 2 and later, else the 32-bit one.
std::optional<TimeZones::Zone> parse_tzif(const std::string& data) {
  if (data.size() < 44 || data.compare(0, 4, "TZif") != 0) return std::nullopt;
  const auto counts = [&](std::size_t at) {
    std::vector<std::int64_t> c(6);
    for (std::size_t i = 0; i < c.size(); ++i) c[i] = be(data, at + 20 + i * 4, 4);
    return c;  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  };
  std::size_t header = 0;
  int time_size = 4;
  auto c = counts(0);
  const auto block_size = [&](const std::vector<std::int64_t>& k, int t) {
    return static_cast<std::size_t>(k[3] * t + k[3] + k[4] * 6 + k[5] + k[2] * (t + 4) + k[1] +
                                    k[0]);
  };
  if (data[4] >= '2') {
    header = 44 + block_size(c, 4);
    if (data.size() < header + 44) return std::nullopt;
    c = counts(header);
    time_size = 8;
  }
  for (auto v : c) {
    if (v < 0 || v > 100000) return std::nullopt;
  }
  const std::size_t body = header + 44;
  if (data.size() < body + block_size(c, time_size) || c[4] < 1) return std::nullopt;
  TimeZones::Zone z;
  const auto timecnt = static_cast<std::size_t>(c[3]);
  const auto typecnt = static_cast<std::size_t>(c[4]);
  const std::size_t types_at = body + timecnt * time_size + timecnt;
  const auto utoff = [&](std::size_t type) {
    return static_cast<int>(be(data, types_at + type * 6, 4));
  };
  for (std::size_t i = 0; i < timecnt; ++i) {
    const auto type = static_cast<unsigned char>(data[body + timecnt * time_size + i]);
    if (type >= typecnt) return std::nullopt;
    z.transitions.push_back(be(data, body + i * time_size, time_size));
    z.offsets.push_back(utoff(type));
  }
  z.initial = utoff(0);
  if (time_size == 8) {  // the footer: "\n<POSIX TZ>\n"
    const std::size_t footer = body + block_size(c, time_size);
    if (footer < data.size() && data[footer] == '\n') {
      const auto end = data.find('\n', footer + 1);
      if (end != std::string::npos) {
        z.rule = PosixReader(std::string_view(data).substr(footer + 1, end - footer - 1)).read();
      }
    }
  }
  return z;
}

}  // namespace

TimeZones::TimeZones(std::string directory) : directory_(std::move(directory)) {}
TimeZones::~TimeZones() = default;

TimeZones& TimeZones::system() {
  static TimeZones zones;
  return zones;
}

Result<std::shared_ptr<const TimeZones::Zone>> TimeZones::load(std::string_view zone) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = zones_.find(zone); it != zones_.end()) return it->second;
  }
  const std::string name(zone);
  if (!valid_zone_name(zone)) {
    return make_error(ErrorCode::kInvalidArgument, "'" + name + "' is no IANA time zone name");
  }
  std::ifstream in(directory_ + "/" + name, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto parsed = in ? parse_tzif(data) : std::nullopt;
  if (!parsed) {
    return make_error(ErrorCode::kNotFound,
                      "'" + name + "' is no time zone known here (" + directory_ + ")");
  }
  auto shared = std::make_shared<const Zone>(std::move(*parsed));
  std::lock_guard lock(mutex_);
  zones_.emplace(name, shared);
  return shared;
}

Result<int> TimeZones::offset(std::string_view zone, std::int64_t unix_ms) {
  auto z = load(zone);
  if (!z) return std::unexpected(z.error());
  const std::int64_t s = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
  return (*z)->offset(s);
}

std::string format_rfc3339_offset(std::int64_t unix_ms, int offset_seconds) {
  std::string t = format_rfc3339(std::chrono::system_clock::time_point(
      std::chrono::milliseconds(unix_ms + std::int64_t{offset_seconds} * 1000)));
  if (t.empty() || t.back() != 'Z') return t;
  t.pop_back();
  const int minutes = (offset_seconds >= 0 ? offset_seconds : -offset_seconds) / 60;
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%c%02d:%02d", offset_seconds < 0 ? '-' : '+',
                minutes / 60 % 100, minutes % 60);
  return t + buffer;
}

}  // namespace switchyard

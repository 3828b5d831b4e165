// Structured JSON logs: one event per line with the service, pod and any context fields
// (charger_id, message_id, ...). Never pass secrets; shorten tokens with log::redact().
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace switchyard::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// A field value: a string, an integer, a floating-point number or a boolean. Strings are
// referenced, not copied; they only have to live until the call returns.
class Value {
 public:
  enum class Kind { kString, kInt, kDouble, kBool };
  Value(std::string_view s)
      : kind_(Kind::kString), str_(s) {}                   // NOLINT(google-explicit-constructor)
  Value(const char* s) : kind_(Kind::kString), str_(s) {}  // NOLINT(google-explicit-constructor)
  Value(const std::string& s)
      : kind_(Kind::kString), str_(s) {}                  // NOLINT(google-explicit-constructor)
  Value(bool b) : kind_(Kind::kBool), int_(b ? 1 : 0) {}  // NOLINT(google-explicit-constructor)
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Value(T i) : kind_(Kind::kInt), int_(static_cast<std::int64_t>(i)) {}  // NOLINT
  Value(double d) : kind_(Kind::kDouble), dbl_(d) {}  // NOLINT(google-explicit-constructor)

  Kind kind() const { return kind_; }
  std::string_view str() const { return str_; }
  std::int64_t integer() const { return int_; }
  double dbl() const { return dbl_; }

 private:
  Kind kind_;
  std::string_view str_;
  std::int64_t int_ = 0;
  double dbl_ = 0;
};

struct Field {
  std::string_view key;
  Value value;
};

using Fields = std::initializer_list<Field>;

// Configures the process logger once at start-up. `service` and `pod` go on every line.
void init(std::string_view service, std::string_view pod, Level level);
// Parses "debug" | "info" | "warn" | "error"; anything else is info.
Level parse_level(std::string_view text);
bool enabled(Level level);

void write(Level level, std::string_view msg, Fields fields);

inline void debug(std::string_view msg, Fields fields = {}) {
  if (enabled(Level::kDebug)) write(Level::kDebug, msg, fields);
}
inline void info(std::string_view msg, Fields fields = {}) { write(Level::kInfo, msg, fields); }
inline void warn(std::string_view msg, Fields fields = {}) { write(Level::kWarn, msg, fields); }
inline void error(std::string_view msg, Fields fields = {}) { write(Level::kError, msg, fields); }

// The first 4 characters of a token and its length, e.g. "04A1…(14)", safe for logs.
std::string redact(std::string_view secret);

// Appends `text` to `out` as the inside of a JSON string (quotes not included).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace switchyard::log

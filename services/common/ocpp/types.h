// Value types of typed OCPP messages. Parsed messages are views: their strings, lists and raw
// JSON point into the Decoder's arena and stay valid until that decoder decodes again. Messages
// built by hand point into storage the caller keeps alive until they are encoded.
#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::ocpp {

enum class Version : std::uint8_t { k16, k201, k21 };

// "ocpp1.6", "ocpp2.0.1", "ocpp2.1".
std::string_view subprotocol(Version version);
std::optional<Version> version_from_subprotocol(std::string_view name);
// "1.6", "2.0.1", "2.1".
std::string_view version_label(Version version);

// A JSON string value (UTF-8, unescaped), not owned.
class String {
 public:
  constexpr String() = default;
  constexpr String(std::string_view value)
      : value_(value) {}                                  // NOLINT(google-explicit-constructor)
  constexpr String(const char* value) : value_(value) {}  // NOLINT(google-explicit-constructor)
  String(const std::string& value) : value_(value) {}     // NOLINT(google-explicit-constructor)

  constexpr std::string_view view() const { return value_; }
  constexpr operator std::string_view() const { return value_; }  // NOLINT
  constexpr bool empty() const { return value_.empty(); }
  constexpr std::size_t size() const { return value_.size(); }
  std::string str() const { return std::string(value_); }

  friend constexpr bool operator==(const String& a, const String& b) {
    return a.value_ == b.value_;
  }
  // One template for everything else that is text ("literal", std::string, std::string_view):
  // an exact match, so no conversion makes the comparison ambiguous.
  template <typename T>
    requires(std::convertible_to<const T&, std::string_view> && !std::derived_from<T, String>)
  friend constexpr bool operator==(const String& a, const T& b) {
    return a.value_ == std::string_view(b);
  }

 private:
  std::string_view value_;
};

// A string the schema limits to N characters (OCPP's CiString20Type and friends). The limit is
// checked when a message is decoded or validated, in Unicode code points as JSON Schema counts.
template <std::size_t N>
class CiString : public String {
 public:
  static constexpr std::size_t kMaxLength = N;
  using String::String;
  constexpr CiString() = default;
};

// An RFC 3339 date-time as the schemas' "date-time" format defines it. Keeps the text it was
// read from (up to 40 characters: any real timestamp) so a message re-encodes unchanged.
class DateTime {
 public:
  using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

  constexpr DateTime() = default;
  // UTC with milliseconds, e.g. "2026-12-01T10:00:00.123Z".
  explicit DateTime(TimePoint time);

  // nullopt when `text` is not a valid RFC 3339 date-time. With `allow_missing_zone`, a text
  // without "Z" or an offset is read as UTC and `zone_missing` is set (a lenient-mode quirk).
  static std::optional<DateTime> parse(std::string_view text, bool allow_missing_zone = false,
                                       bool* zone_missing = nullptr);

  std::string_view text() const { return {text_, size_}; }
  // The instant, in UTC, truncated to milliseconds.
  TimePoint time() const { return TimePoint(std::chrono::milliseconds(ms_)); }

  friend bool operator==(const DateTime& a, const DateTime& b) { return a.text() == b.text(); }

 private:
  static constexpr std::size_t kMaxText = 40;
  std::int64_t ms_ = 0;
  std::uint8_t size_ = 0;
  char text_[kMaxText] = {};
};

namespace detail {
// The layout every List<T> shares, so the decoder can grow lists without knowing T.
struct ListStorage {
  void* data;
  std::uint32_t size;
  std::uint32_t capacity;
};
}  // namespace detail

// A JSON array of T, not owned.
template <typename T>
class List {
 public:
  constexpr List() = default;
  List(std::span<const T> items)  // NOLINT(google-explicit-constructor)
      : data_(const_cast<T*>(items.data())), size_(static_cast<std::uint32_t>(items.size())) {}
  List(const std::vector<T>& items) : List(std::span<const T>(items)) {}  // NOLINT

  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  const T& front() const { return data_[0]; }
  const T& back() const { return data_[size_ - 1]; }

  friend bool operator==(const List& a, const List& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  T* data_ = nullptr;  // mutable only through the decoder, for lists it allocated
  std::uint32_t size_ = 0;
  std::uint32_t capacity_ = 0;
};

// Any JSON value, kept as compact JSON text (e.g. DataTransfer's "data").
class RawJson {
 public:
  constexpr RawJson() = default;
  constexpr explicit RawJson(std::string_view json) : json_(json) {}
  constexpr std::string_view json() const { return json_; }
  friend bool operator==(const RawJson& a, const RawJson& b) { return a.json_ == b.json_; }

 private:
  std::string_view json_;
};

// Members an open object (CustomDataType) carries beyond its schema's properties, as the JSON
// text of a member list without braces: "\"a\":1,\"b\":[2]". Empty when there are none.
class ExtraMembers {
 public:
  constexpr ExtraMembers() = default;
  constexpr explicit ExtraMembers(std::string_view members) : members_(members) {}
  constexpr std::string_view members() const { return members_; }
  friend bool operator==(const ExtraMembers& a, const ExtraMembers& b) {
    return a.members_ == b.members_;
  }

 private:
  std::string_view members_;
};

struct TypeInfo;
struct MessageInfo;

}  // namespace switchyard::ocpp

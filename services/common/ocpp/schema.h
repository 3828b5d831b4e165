// The schema tables the generator emits for every message type: what each field is called,
// what it may hold, and how to reach its storage in the typed struct. The decoder and encoder
// interpret them, so one implementation serves every message of every version.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "common/ocpp/types.h"

namespace switchyard::ocpp {

// Lookup of member names and enum values (gperf-style). The generator picks, per table, up to
// four character positions (from the start when >= 0, from the end when < 0, clamped to the
// name) that together with the length tell all names apart, and a seed and power-of-two table
// size for which the hash of those characters has no collision: a lookup is a few multiplies
// and one comparison. codegen/ocpp_codegen.py implements the same function.
struct NameIndex {
  static constexpr std::uint16_t kNone = 0xFFFF;
  const std::uint16_t* slots;  // nullptr: search linearly
  std::uint16_t mask;
  std::uint32_t seed;
  std::int16_t positions[4];  // >= 0 from the start, < 0 from the end
  std::uint8_t position_count;

  constexpr std::uint32_t hash(std::string_view s) const {
    std::uint32_t h = (seed ^ static_cast<std::uint32_t>(s.size())) * 0x01000193u;
    const int n = static_cast<int>(s.size());
    for (std::uint8_t k = 0; k < position_count && n > 0; ++k) {
      const int p = positions[k];
      const int i = p >= 0 ? (p < n ? p : n - 1) : (n + p >= 0 ? n + p : 0);
      h = (h ^ static_cast<unsigned char>(s[static_cast<std::size_t>(i)])) * 0x01000193u;
    }
    return h ^ (h >> 15);
  }
  constexpr int candidate(std::string_view name) const {
    const std::uint16_t i = slots[hash(name) & mask];
    return i == kNone ? -1 : i;
  }
};

// Equality of short strings, a machine word at a time, without a call into libc.
inline bool same_text(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  auto load8 = [](const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  auto load4 = [](const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (load8(x + i) != load8(y + i)) return false;
    }
    return load8(x + n - 8) == load8(y + n - 8);  // the last word may overlap the previous one
  }
  if (n >= 4) return load4(x) == load4(y) && load4(x + n - 4) == load4(y + n - 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

enum class Kind : std::uint8_t {
  kString,    // String / CiString<N>
  kUri,       // String, format "uri"
  kInteger,   // std::int64_t
  kNumber,    // double
  kBoolean,   // bool
  kEnum,      // an enum class with std::uint16_t underlying values
  kDateTime,  // DateTime
  kObject,    // a generated struct
  kArray,     // List<T>
  kAny,       // RawJson
};

struct EnumInfo {
  std::string_view name;
  const std::string_view* values;
  std::uint16_t count;
  NameIndex index;

  // Index of the value spelled exactly `text`, or -1.
  int find(std::string_view text) const {
    if (index.slots != nullptr) {
      const int i = index.candidate(text);
      return i >= 0 && same_text(values[i], text) ? i : -1;
    }
    for (std::uint16_t i = 0; i < count; ++i) {
      if (values[i] == text) return i;
    }
    return -1;
  }
  // Index of the only value equal to `text` ignoring ASCII case, or -1.
  int find_ignoring_case(std::string_view text) const;
};

struct ValueInfo {
  static constexpr std::uint8_t kHasMinimum = 1;
  static constexpr std::uint8_t kHasMaximum = 2;
  // The schema is JSON Schema draft-04: 1.0 is a number but not an integer.
  static constexpr std::uint8_t kDraft4 = 4;

  Kind kind;
  std::uint8_t flags;
  std::uint32_t max_length;  // strings, in code points; 0 = unbounded
  std::uint32_t min_items;   // arrays
  std::uint32_t max_items;   // arrays; 0 = unbounded
  double minimum;
  double maximum;
  std::string_view multiple_of;  // decimal literal, e.g. "0.1"; empty = none
  const EnumInfo* enumeration;   // kEnum
  const TypeInfo* object;        // kObject
  const ValueInfo* item;         // kArray

  constexpr bool has(std::uint8_t flag) const { return (flags & flag) != 0; }
};

struct FieldInfo {
  std::string_view name;      // the JSON member name
  std::string_view json_key;  // "\"name\":", as the encoder writes it
  ValueInfo value;
  bool required;
  // Makes the field present (an optional is emplaced) and returns its storage.
  void* (*emplace)(void* object);
  // The field's storage, or nullptr when an optional field is absent.
  const void* (*get)(const void* object);
  // Makes the field absent (optional) or default (required).
  void (*reset)(void* object);
};

struct TypeInfo {
  std::string_view name;
  const FieldInfo* fields;
  std::uint16_t field_count;
  std::uint32_t size;
  std::uint32_t align;
  std::uint64_t required_mask;  // bit i: fields[i] is required
  void (*construct)(void* memory);
  // Open objects only: where members beyond `fields` are kept.
  ExtraMembers* (*extra)(void* object);
  NameIndex index;  // member name -> field

  std::span<const FieldInfo> field_span() const { return {fields, field_count}; }

  // The field named `name`, or -1.
  int find(std::string_view name) const {
    if (index.slots != nullptr) {
      const int i = index.candidate(name);
      return i >= 0 && same_text(fields[i].name, name) ? i : -1;
    }
    for (std::uint16_t i = 0; i < field_count; ++i) {
      if (fields[i].name == name) return i;
    }
    return -1;
  }
};

enum class Direction : std::uint8_t { kChargerToCsms, kCsmsToCharger, kBoth };

struct MessageInfo {
  std::string_view action;
  Direction direction;  // who sends the request
  const TypeInfo* request;
  const TypeInfo* response;  // nullptr for SEND-only messages (2.1 NotifyPeriodicEventStream)
  std::string_view profile;  // 1.6 feature profile or 2.x functional block
};

// Every action of a version, sorted by name.
std::span<const MessageInfo> messages(Version version);
// nullptr when the version has no such action (names are case-sensitive).
const MessageInfo* find_message(Version version, std::string_view action);

}  // namespace switchyard::ocpp

// Value checks the schemas need beyond JSON types: Unicode length, URI syntax, decimal
// multipleOf, numbers written as strings (lenient mode).
#pragma once

#include <cstdint>
#include <string_view>

namespace switchyard::ocpp {

// Unicode code points in valid UTF-8 (what JSON Schema's maxLength counts).
inline std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The longest prefix of valid UTF-8 `text` with at most `max_chars` code points: never cuts a
// character in two.
inline std::string_view utf8_prefix(std::string_view text, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && chars++ == max_chars) {
      return text.substr(0, i);
    }
  }
  return text;
}

// RFC 3986 "URI": scheme ":" hier-part [ "?" query ] [ "#" fragment ], ASCII only, valid
// percent-escapes.
bool is_uri(std::string_view text);

// `number` (a JSON number's text) is an exact multiple of `multiple` (a decimal literal), in
// decimal arithmetic: 21.4 is a multiple of 0.1 although 21.4 / 0.1 is not integral in binary.
bool is_multiple_of(std::string_view number, std::string_view multiple);

struct NumberText {
  bool valid = false;
  bool is_integer = false;
  std::int64_t integer = 0;
  double value = 0;
};
// Reads a string that holds exactly one JSON number ("12", "-3.5", "1e3").
NumberText parse_number_text(std::string_view text);

}  // namespace switchyard::ocpp

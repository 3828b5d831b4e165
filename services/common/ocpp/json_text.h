// Writing JSON text: string escaping shared by the decoder (raw captures) and the encoder.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace switchyard::ocpp {

// True when one of the 8 bytes of `w` is '"', '\\' or a control character (< 0x20). Bytes of
// 0x80 and above (UTF-8) never match.
inline bool word_needs_escape(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHighs = 0x8080808080808080ull;
  const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighs;
  const std::uint64_t q = w ^ (kOnes * '"');
  const std::uint64_t b = w ^ (kOnes * '\\');
  const std::uint64_t quote = (q - kOnes) & ~q & kHighs;
  const std::uint64_t backslash = (b - kOnes) & ~b & kHighs;
  return (below_space | quote | backslash) != 0;
}

// Appends `text` escaped for the inside of a JSON string (no quotes).
inline void append_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  // Skip clean words: most OCPP strings need no escape at all.
  while (i + 8 <= n) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (word_needs_escape(w)) break;
    i += 8;
  }
  std::size_t run = 0;  // start of the pending run that needs no escape
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(p + run, i - run);
    run = i + 1;
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
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(p + run, n - run);
}

}  // namespace switchyard::ocpp

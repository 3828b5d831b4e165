#include "gateway/event_ids.h"

namespace switchyard::gateway {
namespace {

// Writes the `digits` low nibbles of `v` as lower-case hex ending just before `end`; returns
// where they start. Made for every event: no printf.
char* put_hex(char* end, std::uint64_t v, int digits) {
  constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < digits; ++i, v >>= 4) *--end = kHex[v & 0xF];
  return end;
}

}  // namespace

EventIds::Text EventIds::next(std::int64_t unix_ms) {
  constexpr std::uint32_t kCounterMax = 0xFFF;  // 12 bits
  if (unix_ms > ms_) {
    ms_ = unix_ms;
    counter_ = 0;
  } else if (++counter_ > kCounterMax) {
    ++ms_;
    counter_ = 0;
  }
  const auto ms = static_cast<std::uint64_t>(ms_) & 0xFFFFFFFFFFFFull;
  const std::uint64_t hi = (ms << 16) | 0x7000ull | counter_;                         // version 7
  const std::uint64_t lo = (rng_() & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant
  // 8-4-4-4-12 hex digits: hi's 32, 16, 16 bits, then lo's 16 and 48.
  Text out;
  out.fill('-');
  char* end = out.data() + out.size();
  end = put_hex(end, lo, 12) - 1;
  end = put_hex(end, lo >> 48, 4) - 1;
  end = put_hex(end, hi, 4) - 1;
  end = put_hex(end, hi >> 16, 4) - 1;
  put_hex(end, hi >> 32, 8);
  return out;
}

}  // namespace switchyard::gateway

#include "gateway/event_ids.h"

#include <cstdio>

namespace switchyard::gateway {

std::string EventIds::next(std::int64_t unix_ms) {
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
  char out[37];
  std::snprintf(out, sizeof out, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));  // NOLINT
  return out;
}

}  // namespace switchyard::gateway

// Event ids: UUIDv7 (RFC 9562), so that sorting them as text sorts events in the order one
// gateway thread made them. The first 48 bits are the Unix time in milliseconds (that of the
// event's received_at), the 12 after the version a counter within the millisecond, the rest
// random. Readers that order by (received_at, event id), such as the status history, keep a
// charger's events in the order it sent them even when several share a millisecond. One
// EventIds per I/O thread; not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <random>

namespace switchyard::gateway {

class EventIds {
 public:
  explicit EventIds(std::uint64_t seed) : rng_(seed) {}

  // `unix_ms`: the event's time. Ids made by one EventIds increase strictly, even when the
  // clock stands still or steps back (they then run ahead of it by as many ms as it takes).
  // The 36 characters of the text form, in a buffer of its own (no heap string per event).
  using Text = std::array<char, 36>;
  Text next(std::int64_t unix_ms);

 private:
  std::mt19937_64 rng_;
  std::int64_t ms_ = 0;
  std::uint32_t counter_ = 0;
};

}  // namespace switchyard::gateway

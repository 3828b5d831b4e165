// Session energy from meter register readings, and the price of a session under a tariff. Pure
// functions: energy in Wh, money in minor units of the currency, rounding half up.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace switchyard::transactions {

// The readings that bound a session: the earliest and the latest register value by timestamp.
// Readings may arrive late and out of order; each is folded in with fold().
struct RegisterSpan {
  std::optional<std::int64_t> first_wh;
  std::optional<std::int64_t> first_at_ms;
  std::optional<std::int64_t> last_wh;
  std::optional<std::int64_t> last_at_ms;

  void fold(std::int64_t at_ms, std::int64_t wh) {
    if (!first_at_ms || at_ms < *first_at_ms) {
      first_at_ms = at_ms;
      first_wh = wh;
    }
    if (!last_at_ms || at_ms >= *last_at_ms) {
      last_at_ms = at_ms;
      last_wh = wh;
    }
  }
  // last - first, never negative (a meter reset or a swapped meter reads lower).
  std::int64_t energy_wh() const {
    if (!first_wh || !last_wh) return 0;
    return std::max<std::int64_t>(0, *last_wh - *first_wh);
  }
};

struct Tariff {
  std::string tariff_id;
  std::string product_id = "Standard Price";  // AC1, AC3, DC or custom (<= 50 characters)
  std::string currency = "EUR";
  std::int64_t energy_minor_per_mwh = 0;
  std::int64_t time_minor_per_hour = 0;
  std::int64_t session_fee_minor = 0;
  int vat_basis_points = 0;
  std::string charger_id;  // empty: the default tariff
};

struct Price {
  std::string currency;
  std::int64_t energy_minor = 0;
  std::int64_t time_minor = 0;
  std::int64_t session_fee_minor = 0;
  std::int64_t total_excl_vat_minor = 0;
  std::int64_t vat_minor = 0;
  std::int64_t total_incl_vat_minor = 0;
  int vat_basis_points = 0;
};

// a * b / c rounded half up, for non-negative a, b and positive c, without overflow for the
// magnitudes of charging sessions.
__extension__ using Int128 = __int128;  // a GCC/Clang extension: -Wpedantic wants it marked
inline std::int64_t mul_div_round(std::int64_t a, std::int64_t b, std::int64_t c) {
  const Int128 product = static_cast<Int128>(a) * b;
  return static_cast<std::int64_t>((product + c / 2) / c);
}

inline Price price(const Tariff& t, std::int64_t energy_wh, std::int64_t duration_s) {
  Price p;
  p.currency = t.currency;
  p.energy_minor =
      mul_div_round(std::max<std::int64_t>(0, energy_wh), t.energy_minor_per_mwh, 1'000'000);
  p.time_minor = mul_div_round(std::max<std::int64_t>(0, duration_s), t.time_minor_per_hour, 3600);
  p.session_fee_minor = t.session_fee_minor;
  p.total_excl_vat_minor = p.energy_minor + p.time_minor + p.session_fee_minor;
  p.vat_basis_points = t.vat_basis_points;
  p.vat_minor = mul_div_round(p.total_excl_vat_minor, t.vat_basis_points, 10'000);
  p.total_incl_vat_minor = p.total_excl_vat_minor + p.vat_minor;
  return p;
}

// Hubject product ids: the standard ones, or a custom one of at most 50 characters.
inline bool valid_product_id(const std::string& id) { return !id.empty() && id.size() <= 50; }

}  // namespace switchyard::transactions

// Exact decimal amounts from command-line text: prices in major units ("0.39" EUR per kWh) to the
// integer minor units the contracts store, and back for display. No floating point anywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/runtime/core/error.h"

namespace switchyard::ctl {

// "7.7" with 2 decimals -> 770; "-0.39" with 5 -> -39000. Rejects more decimals than `decimals`
// unless they are trailing zeros, exponents, spaces, and values beyond int64.
Result<std::int64_t> parse_scaled_decimal(std::string_view text, int decimals);

// 770 with 2 decimals -> "7.70"; trailing zeros beyond `min_decimals` are dropped ("7.7" when
// min_decimals is 0 or 1).
std::string format_scaled_decimal(std::int64_t value, int decimals, int min_decimals);

// ISO 4217 minor-unit digits: EUR 2, JPY 0, KWD 3. Requires three letters; unknown codes get 2.
Result<int> currency_minor_digits(std::string_view currency);

// "EUR" from "eur"; an error unless three ASCII letters.
Result<std::string> normalize_currency(std::string_view currency);

// 1234 EUR -> "12.34"; 1234 JPY -> "1234".
std::string format_amount(std::int64_t minor, std::string_view currency);
// 1234 EUR -> "12.34 EUR".
std::string format_money(std::int64_t minor, std::string_view currency);

// Tariff components, each from a non-negative decimal in major units:
// price per kWh -> minor units per MWh (EUR 0.39 -> 39000): 3 more digits than the currency.
Result<std::int64_t> energy_price_minor_per_mwh(std::string_view per_kwh,
                                                std::string_view currency);
// Price per hour or a fixed fee -> minor units (EUR 1.20 -> 120).
Result<std::int64_t> amount_minor(std::string_view amount, std::string_view currency);
// VAT percent -> basis points (19 -> 1900, 7.7 -> 770), 0 to 100 %.
Result<std::int32_t> percent_basis_points(std::string_view percent);

// Back for display: 39000 per MWh EUR -> "0.39".
std::string format_energy_price(std::int64_t minor_per_mwh, std::string_view currency);
// 770 -> "7.7".
std::string format_percent(std::int32_t basis_points);

}  // namespace switchyard::ctl

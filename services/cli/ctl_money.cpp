// Exact decimal amounts: parsing major units into integer minor units and formatting them back.
#include "cli/ctl_money.h"

#include <array>
#include <cctype>

namespace switchyard::ctl {
namespace {

constexpr int kEnergyExtraDigits = 3;  // per kWh -> per MWh
constexpr int kMaxScale = 18;

struct CurrencyDigits {
  std::string_view code;
  int digits;
};

// ISO 4217 currencies whose minor unit is not 1/100.
constexpr std::array<CurrencyDigits, 26> kNonCentCurrencies{{
    {"BIF", 0}, {"CLP", 0}, {"DJF", 0}, {"GNF", 0}, {"ISK", 0}, {"JPY", 0}, {"KMF", 0},
    {"KRW", 0}, {"PYG", 0}, {"RWF", 0}, {"UGX", 0}, {"UYI", 0}, {"VND", 0}, {"VUV", 0},
    {"XAF", 0}, {"XOF", 0}, {"XPF", 0}, {"BHD", 3}, {"IQD", 3}, {"JOD", 3}, {"KWD", 3},
    {"LYD", 3}, {"OMR", 3}, {"TND", 3}, {"CLF", 4}, {"UYW", 4},
}};

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

bool all_digits(std::string_view text) {
  for (char c : text) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// Appends digits to `value` (value * 10 + d), false on overflow.
bool append_digits(std::int64_t& value, std::string_view digits) {
  for (char c : digits) {
    if (__builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, c - '0', &value)) {
      return false;
    }
  }
  return true;
}

std::unexpected<Error> decimal_error(std::string_view text, const std::string& reason) {
  return make_error(ErrorCode::kInvalidArgument, "\"" + std::string(text) + "\": " + reason);
}

Result<std::int64_t> parse_non_negative(std::string_view text, int decimals,
                                        std::string_view unit) {
  auto value = parse_scaled_decimal(text, decimals);
  if (!value) return value;
  if (*value < 0) return decimal_error(text, std::string(unit) + " must not be negative");
  return value;
}

}  // namespace

Result<std::int64_t> parse_scaled_decimal(std::string_view text, int decimals) {
  if (decimals < 0 || decimals > kMaxScale) {
    return make_error(ErrorCode::kInternal, "unsupported decimal scale");
  }
  std::string_view rest = text;
  bool negative = !rest.empty() && rest.front() == '-';
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) rest.remove_prefix(1);
  auto point = rest.find('.');
  std::string_view whole = rest.substr(0, point);
  std::string_view fraction = point == std::string_view::npos ? "" : rest.substr(point + 1);
  bool well_formed = !whole.empty() && all_digits(whole) && all_digits(fraction) &&
                     (point == std::string_view::npos || !fraction.empty());
  if (!well_formed) return decimal_error(text, "not a decimal number (e.g. 0.39)");
  while (fraction.size() > static_cast<std::size_t>(decimals) && fraction.back() == '0') {
    fraction.remove_suffix(1);
  }
  if (fraction.size() > static_cast<std::size_t>(decimals)) {
    return decimal_error(text, "more precision than representable (at most " +
                                   std::to_string(decimals) + " decimal places)");
  }
  std::int64_t value = 0;
  std::string padding(static_cast<std::size_t>(decimals) - fraction.size(), '0');
  if (!append_digits(value, whole) || !append_digits(value, fraction) ||
      !append_digits(value, padding)) {
    return decimal_error(text, "too large");
  }
  return negative ? -value : value;
}

std::string format_scaled_decimal(std::int64_t value, int decimals, int min_decimals) {
  bool negative = value < 0;
  // Work on the magnitude as unsigned so INT64_MIN stays exact.
  std::uint64_t magnitude =
      negative ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  std::string digits = std::to_string(magnitude);
  auto scale = static_cast<std::size_t>(decimals);
  if (digits.size() <= scale) digits.insert(0, scale + 1 - digits.size(), '0');
  std::string whole = digits.substr(0, digits.size() - scale);
  std::string fraction = digits.substr(digits.size() - scale);
  while (fraction.size() > static_cast<std::size_t>(min_decimals) && !fraction.empty() &&
         fraction.back() == '0') {
    fraction.pop_back();
  }
  std::string out = negative ? "-" + whole : whole;
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

Result<std::string> normalize_currency(std::string_view currency) {
  if (currency.size() != 3) {
    return make_error(ErrorCode::kInvalidArgument,
                      "currency \"" + std::string(currency) + "\" is not an ISO 4217 code (EUR)");
  }
  std::string code;
  for (char c : currency) {
    if (!std::isalpha(static_cast<unsigned char>(c))) {
      return make_error(ErrorCode::kInvalidArgument,
                        "currency \"" + std::string(currency) + "\" is not an ISO 4217 code (EUR)");
    }
    code += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return code;
}

Result<int> currency_minor_digits(std::string_view currency) {
  auto code = normalize_currency(currency);
  if (!code) return std::unexpected(code.error());
  for (const auto& entry : kNonCentCurrencies) {
    if (entry.code == *code) return entry.digits;
  }
  return 2;
}

std::string format_amount(std::int64_t minor, std::string_view currency) {
  int digits = currency_minor_digits(currency).value_or(2);
  return format_scaled_decimal(minor, digits, digits);
}

std::string format_money(std::int64_t minor, std::string_view currency) {
  std::string amount = format_amount(minor, currency);
  return currency.empty() ? amount : amount + " " + std::string(currency);
}

Result<std::int64_t> energy_price_minor_per_mwh(std::string_view per_kwh,
                                                std::string_view currency) {
  auto digits = currency_minor_digits(currency);
  if (!digits) return std::unexpected(digits.error());
  return parse_non_negative(per_kwh, *digits + kEnergyExtraDigits, "energy price");
}

Result<std::int64_t> amount_minor(std::string_view amount, std::string_view currency) {
  auto digits = currency_minor_digits(currency);
  if (!digits) return std::unexpected(digits.error());
  return parse_non_negative(amount, *digits, "price");
}

Result<std::int32_t> percent_basis_points(std::string_view percent) {
  auto value = parse_non_negative(percent, 2, "percentage");
  if (!value) return std::unexpected(value.error());
  if (*value > std::int64_t{100} * 100) return decimal_error(percent, "percentage above 100");
  return static_cast<std::int32_t>(*value);
}

std::string format_energy_price(std::int64_t minor_per_mwh, std::string_view currency) {
  int digits = currency_minor_digits(currency).value_or(2);
  return format_scaled_decimal(minor_per_mwh, digits + kEnergyExtraDigits, digits);
}

std::string format_percent(std::int32_t basis_points) {
  return format_scaled_decimal(basis_points, 2, 0);
}

}  // namespace switchyard::ctl

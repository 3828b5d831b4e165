// Prices typed in major units become exact integer minor units, and come back unchanged.
#include "cli/ctl_money.h"

#include <gtest/gtest.h>

namespace switchyard::ctl {
namespace {

TEST(CtlMoney, ConvertsEnergyPricePerKwhToMinorPerMwhExactly) {
  EXPECT_EQ(energy_price_minor_per_mwh("0.39", "EUR"), 39000);
  EXPECT_EQ(energy_price_minor_per_mwh("0.395", "EUR"), 39500);
  EXPECT_EQ(energy_price_minor_per_mwh("0.39001", "EUR"), 39001);
  EXPECT_EQ(energy_price_minor_per_mwh("1", "EUR"), 100000);
  // 0.1 + 0.2 style values that binary floating point gets wrong stay exact.
  EXPECT_EQ(energy_price_minor_per_mwh("0.29", "EUR"), 29000);
  EXPECT_EQ(energy_price_minor_per_mwh("0.57", "eur"), 57000);
}

TEST(CtlMoney, RejectsMorePrecisionThanRepresentable) {
  auto energy = energy_price_minor_per_mwh("0.390001", "EUR");
  ASSERT_FALSE(energy);
  EXPECT_NE(energy.error().message.find("at most 5 decimal places"), std::string::npos)
      << energy.error().message;
  EXPECT_FALSE(amount_minor("1.205", "EUR"));
  EXPECT_FALSE(amount_minor("100.5", "JPY"));
  EXPECT_FALSE(percent_basis_points("7.755"));
}

TEST(CtlMoney, AcceptsTrailingZerosBeyondPrecision) {
  EXPECT_EQ(energy_price_minor_per_mwh("0.3900000000", "EUR"), 39000);
  EXPECT_EQ(amount_minor("1.200", "EUR"), 120);
}

TEST(CtlMoney, FollowsTheCurrencyMinorUnit) {
  EXPECT_EQ(amount_minor("1.20", "EUR"), 120);
  EXPECT_EQ(amount_minor("500", "JPY"), 500);
  EXPECT_EQ(amount_minor("1.234", "KWD"), 1234);
  EXPECT_EQ(energy_price_minor_per_mwh("30", "JPY"), 30000);
  EXPECT_EQ(currency_minor_digits("CHF"), 2);
  EXPECT_FALSE(currency_minor_digits("EURO"));
  EXPECT_FALSE(normalize_currency("E1R"));
  EXPECT_EQ(normalize_currency("chf"), "CHF");
}

TEST(CtlMoney, ConvertsVatPercentToBasisPoints) {
  EXPECT_EQ(percent_basis_points("19"), 1900);
  EXPECT_EQ(percent_basis_points("7.7"), 770);
  EXPECT_EQ(percent_basis_points("0"), 0);
  EXPECT_EQ(percent_basis_points("100"), 10000);
  EXPECT_FALSE(percent_basis_points("100.01"));
}

TEST(CtlMoney, ParsesNegativeDecimalsButRejectsNegativePrices) {
  EXPECT_EQ(parse_scaled_decimal("-0.39", 5), -39000);
  EXPECT_EQ(parse_scaled_decimal("-12", 2), -1200);
  EXPECT_EQ(parse_scaled_decimal("+1.5", 2), 150);
  auto negative = amount_minor("-0.50", "EUR");
  ASSERT_FALSE(negative);
  EXPECT_NE(negative.error().message.find("negative"), std::string::npos);
  EXPECT_FALSE(energy_price_minor_per_mwh("-0.39", "EUR"));
  EXPECT_FALSE(percent_basis_points("-19"));
}

TEST(CtlMoney, RejectsMalformedNumbers) {
  for (const char* text :
       {"", "abc", "1e3", ".5", "1.", "1,5", " 1", "1 ", "--1", "0x10", "1.2.3", "-", "NaN"}) {
    EXPECT_FALSE(parse_scaled_decimal(text, 2)) << text;
  }
}

TEST(CtlMoney, RejectsValuesBeyondInt64) {
  EXPECT_FALSE(parse_scaled_decimal("92233720368547758.08", 2));
  EXPECT_EQ(parse_scaled_decimal("92233720368547758.07", 2), INT64_MAX);
}

TEST(CtlMoney, FormatsMinorUnitsBack) {
  EXPECT_EQ(format_money(1234, "EUR"), "12.34 EUR");
  EXPECT_EQ(format_money(5, "EUR"), "0.05 EUR");
  EXPECT_EQ(format_money(-5, "EUR"), "-0.05 EUR");
  EXPECT_EQ(format_money(1234, "JPY"), "1234 JPY");
  EXPECT_EQ(format_money(1234, "KWD"), "1.234 KWD");
  EXPECT_EQ(format_energy_price(39000, "EUR"), "0.39");
  EXPECT_EQ(format_energy_price(39001, "EUR"), "0.39001");
  EXPECT_EQ(format_percent(1900), "19");
  EXPECT_EQ(format_percent(770), "7.7");
  EXPECT_EQ(format_scaled_decimal(INT64_MIN, 2, 2), "-92233720368547758.08");
}

}  // namespace
}  // namespace switchyard::ctl

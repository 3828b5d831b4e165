// `switchyardctl tariffs ...`: tariffs of the Transactions API, with prices given and shown in
// major units and stored exactly in integer minor units.
#include "cli/ctl_command.h"
#include "cli/ctl_money.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::ctl {
namespace {

const v1::Tariff* as_tariff(const google::protobuf::Message& row) {
  return google::protobuf::DynamicCastToGenerated<v1::Tariff>(&row);
}

std::vector<Column> tariff_columns() {
  return {field_column("TARIFF", "tariff_id"),
          field_column("PRODUCT", "product_id"),
          field_column("CURRENCY", "currency"),
          Column{"PER_KWH",
                 [](const google::protobuf::Message& row) {
                   const auto* t = as_tariff(row);
                   return t ? format_energy_price(t->energy_minor_per_mwh(), t->currency()) : "";
                 }},
          Column{"PER_HOUR",
                 [](const google::protobuf::Message& row) {
                   const auto* t = as_tariff(row);
                   return t ? format_amount(t->time_minor_per_hour(), t->currency()) : "";
                 }},
          Column{"SESSION_FEE",
                 [](const google::protobuf::Message& row) {
                   const auto* t = as_tariff(row);
                   return t ? format_amount(t->session_fee_minor(), t->currency()) : "";
                 }},
          Column{"VAT_%",
                 [](const google::protobuf::Message& row) {
                   const auto* t = as_tariff(row);
                   return t ? format_percent(t->vat_basis_points()) : "";
                 }},
          field_column("CHARGER", "charger_id")};
}

Outcome list_tariffs(Session& session, const VerbArgs& args) {
  v1::ListTariffsRequest request;
  v1::ListTariffsResponse response;
  return list_and_print(session, args, Api::kTransactions, "ListTariffs", request, response,
                        tariff_columns());
}

// Converts --flag (major units) with `convert` into the tariff through `set`, when given.
template <typename Convert, typename Set>
Outcome convert_price(const VerbArgs& args, std::string_view flag, Convert convert, Set set) {
  auto text = args.value(flag);
  if (!text) return {};
  auto minor = convert(*text);
  if (!minor) return usage_error_for(flag, minor.error());
  set(*minor);
  return {};
}

Parsed<v1::Tariff> tariff_from_flags(const VerbArgs& args) {
  v1::Tariff tariff;
  tariff.set_tariff_id(args.positional(0));
  auto currency_flag = args.value("currency");
  if (!currency_flag) return usage_error("tariffs put: --currency is required (e.g. EUR)");
  auto currency = normalize_currency(*currency_flag);
  if (!currency) return usage_error_for("currency", currency.error());
  tariff.set_currency(*currency);
  tariff.set_product_id(args.value("product-id").value_or(""));
  tariff.set_charger_id(args.value("charger").value_or(""));
  auto energy = [&](std::string_view t) { return energy_price_minor_per_mwh(t, *currency); };
  auto amount = [&](std::string_view t) { return amount_minor(t, *currency); };
  for (const Outcome& converted : {
           convert_price(args, "energy-price", energy,
                         [&](std::int64_t v) { tariff.set_energy_minor_per_mwh(v); }),
           convert_price(args, "time-price-per-hour", amount,
                         [&](std::int64_t v) { tariff.set_time_minor_per_hour(v); }),
           convert_price(args, "session-fee", amount,
                         [&](std::int64_t v) { tariff.set_session_fee_minor(v); }),
           convert_price(args, "vat-percent", percent_basis_points,
                         [&](std::int32_t v) { tariff.set_vat_basis_points(v); }),
       }) {
    if (!converted) return std::unexpected(converted.error());
  }
  return tariff;
}

Outcome put_tariff(Session& session, const VerbArgs& args) {
  auto tariff = tariff_from_flags(args);
  if (!tariff) return std::unexpected(tariff.error());
  v1::PutTariffRequest request;
  *request.mutable_tariff() = std::move(*tariff);
  v1::PutTariffResponse response;
  return call_and_print(session, Api::kTransactions, "PutTariff", request, response);
}

}  // namespace

Noun tariffs_noun() {
  return Noun{
      "tariffs",
      "Tariffs of the Transactions API. Prices in major units (0.39 = EUR 0.39), stored exactly "
      "as integer minor units.",
      {
          {{"list", {}, {}, "Transactions.ListTariffs"}, list_tariffs},
          {{"put",
            {"ID"},
            {{"currency", "EUR", "ISO 4217 code (required)"},
             {"energy-price", "0.39",
              "per kWh -> energy_minor_per_mwh (3 digits finer than cents)"},
             {"time-price-per-hour", "1.20", "per hour of charging -> time_minor_per_hour"},
             {"session-fee", "0.50", "per session -> session_fee_minor"},
             {"vat-percent", "19", "-> vat_basis_points (7.7 -> 770)"},
             {"product-id", "AC1", "Hubject product id"},
             {"charger", "ID", "the charger it prices; default: the default tariff"}},
            "Transactions.PutTariff: create or replace a tariff"},
           put_tariff},
      }};
}

}  // namespace switchyard::ctl

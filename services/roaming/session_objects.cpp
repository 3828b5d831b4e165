// OCPI Session and CDR objects (see session_objects.h).
#include "roaming/session_objects.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "common/runtime/core/log.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

using Writer = JsonFields;

std::string timestamp(const google::protobuf::Timestamp& t) {
  return ocpi_timestamp(std::chrono::system_clock::time_point(std::chrono::seconds(t.seconds())));
}

std::string timestamp_ms(std::int64_t ms) {
  return ocpi_timestamp(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

std::string kwh(std::int64_t wh) { return decimal_text(std::max<std::int64_t>(wh, 0), 3); }

// Hours with 4 decimals (0.36 s).
std::string hours(std::int64_t seconds) {
  return decimal_text(std::llround(static_cast<double>(std::max<std::int64_t>(seconds, 0)) / 0.36),
                      4);
}

std::string price(std::int64_t excl_minor, std::optional<std::int64_t> incl_minor, int exponent) {
  Writer w;
  w.raw("excl_vat", decimal_text(excl_minor, exponent));
  if (incl_minor) w.raw("incl_vat", decimal_text(*incl_minor, exponent));
  return w.done();
}

const v1::RoamingEvse& evse_of(const LocationStore::Placement& p) {
  return *std::ranges::find(p.location.evses(), p.evse_uid, &v1::RoamingEvse::uid);
}

// The OCPI connector the driver used: the one with the OCPP connector id, else the first.
v1::RoamingConnector connector_of(const v1::RoamingEvse& evse, int connector_id) {
  const auto found =
      std::ranges::find(evse.connectors(), std::to_string(connector_id), &v1::RoamingConnector::id);
  if (found != evse.connectors().end()) return *found;
  return evse.connectors().empty() ? v1::RoamingConnector() : evse.connectors(0);
}

}  // namespace

JsonFields& JsonFields::raw(std::string_view key, std::string_view value) {
  out_ += out_.size() > 1 ? "," : "";
  out_ += json::serialize(json::value(json::string(key)));
  out_ += ':';
  out_ += value;
  return *this;
}

JsonFields& JsonFields::text(std::string_view key, std::string_view value) {
  return raw(key, json::serialize(json::value(json::string(value))));
}

std::string json_array(std::span<const std::string> items) {
  std::string out = "[";
  for (const auto& i : items) {
    if (out.size() > 1) out += ',';
    out += i;
  }
  return out + "]";
}

std::string decimal_text(std::int64_t units, int scale) {
  const bool negative = units < 0;
  std::string digits = std::to_string(negative ? -units : units);
  if (scale > 0) {
    if (static_cast<int>(digits.size()) <= scale) {
      digits.insert(0, static_cast<std::size_t>(scale + 1) - digits.size(), '0');
    }
    digits.insert(digits.size() - static_cast<std::size_t>(scale), ".");
    while (digits.back() == '0') digits.pop_back();
    if (digits.back() == '.') digits.pop_back();
  }
  return negative && digits != "0" ? "-" + digits : digits;
}

int currency_exponent(const std::string& currency) {
  static constexpr std::string_view kNone[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                               "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                                               "VND", "VUV", "XAF", "XOF", "XPF"};
  static constexpr std::string_view kThree[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
  if (std::ranges::find(kNone, std::string_view(currency)) != std::end(kNone)) return 0;
  if (std::ranges::find(kThree, std::string_view(currency)) != std::end(kThree)) return 3;
  return 2;
}

Result<LocationStore::Placement> SessionObjects::placement(const std::string& charger_id,
                                                           const v1::Location& where) {
  // 1.6 has no EVSE: its connector is OCPI's EVSE.
  const int evse = where.evse_id() != 0 ? where.evse_id() : where.connector_id();
  auto placed = locations_.place(charger_id, evse);
  if (!placed) return std::unexpected(placed.error());
  if (!*placed) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "charger " + charger_id + " EVSE " + std::to_string(evse) +
                          " is in no location (put one with this EVSE)");
  }
  return std::move(**placed);
}

Result<std::string> SessionObjects::session(const StoredSession& s) {
  const v1::Transaction& t = s.transaction;
  auto placed = placement(t.charger_id(), t.location());
  if (!placed) return std::unexpected(placed.error());
  const v1::RoamingEvse& evse = evse_of(*placed);
  auto cdr = sessions_.cdr_of_session(s.id);  // the CDR may come before the last update
  if (!cdr) return std::unexpected(cdr.error());
  const bool ended = t.state() == v1::TRANSACTION_STATE_ENDED;
  const auto& started = t.has_started_at() ? t.started_at() : t.ended_at();
  Writer w;
  w.text("country_code", party_.country_code)
      .text("party_id", party_.party_id)
      .text("id", s.id)
      .text("start_date_time", timestamp(started));
  if (ended) w.text("end_date_time", timestamp(t.ended_at()));
  w.raw("kwh", kwh(t.energy_wh()))
      .raw("cdr_token", s.owner.token_json)
      .text("auth_method", s.owner.auth_method)
      .text_if("authorization_reference", s.owner.authorization_reference)
      .text("location_id", placed->location.id())
      .text("evse_uid", evse.uid())
      .text("connector_id", connector_of(evse, t.location().connector_id()).id());
  if (*cdr && (*cdr)->cdr.has_price()) {
    const auto& p = (*cdr)->cdr.price();
    w.text("currency", p.currency())
        .raw("total_cost", price(p.total_excl_vat_minor(), p.total_incl_vat_minor(),
                                 currency_exponent(p.currency())));
  } else {
    w.text("currency", currency_);
  }
  w.text("status", ended ? "COMPLETED" : "ACTIVE")
      .text("last_updated", timestamp_ms(s.last_updated_ms));
  return w.done();
}

Result<std::string> SessionObjects::cdr(const StoredCdr& c) {
  const v1::Cdr& cdr = c.cdr;
  auto placed = placement(cdr.charger_id(), cdr.location());
  if (!placed) return std::unexpected(placed.error());
  const v1::RoamingEvse& evse = evse_of(*placed);
  const v1::RoamingConnector connector = connector_of(evse, cdr.location().connector_id());
  const v1::RoamingLocation& l = placed->location;
  Writer where;
  where.text("id", l.id())
      .text_if("name", l.name())
      .text("address", l.address())
      .text("city", l.city())
      .text_if("postal_code", l.postal_code())
      .text_if("state", l.state())
      .text("country", l.country())
      .raw("coordinates", Writer()
                              .text("latitude", l.coordinates().latitude())
                              .text("longitude", l.coordinates().longitude())
                              .done())
      .text("evse_uid", evse.uid())
      .text("evse_id", evse.evse_id())
      .text("connector_id", connector.id())
      .text("connector_standard", connector.standard())
      .text("connector_format", connector.format())
      .text("connector_power_type", connector.power_type());

  const bool priced = cdr.has_price() && !cdr.price().currency().empty();
  const std::string currency = priced ? cdr.price().currency() : currency_;
  const int exponent = currency_exponent(currency);
  const auto& p = cdr.price();
  const std::string energy = kwh(cdr.energy_wh());
  const std::string time = hours(cdr.duration_s());
  // The tariff it was priced with, when published (a tariff the catalog cannot read now is left
  // out rather than holding the CDR back).
  std::optional<PublishedTariff> tariff;
  if (tariffs_ != nullptr && priced && !cdr.tariff_id().empty()) {
    if (auto found = tariffs_->find(cdr.tariff_id()); found) {
      tariff = std::move(*found);
    } else {
      log::warn(
          "CDR sent without its tariff",
          {{"cdr_id", c.id}, {"tariff_id", cdr.tariff_id()}, {"error", found.error().message}});
    }
  }
  Writer period_writer;
  period_writer.text("start_date_time", timestamp(cdr.started_at()))
      .raw("dimensions", "[" + Writer().text("type", "ENERGY").raw("volume", energy).done() + "," +
                             Writer().text("type", "TIME").raw("volume", time).done() + "]");
  if (tariff) period_writer.text("tariff_id", tariff->tariff.tariff_id());
  const std::string period = period_writer.done();
  Writer w;
  w.text("country_code", party_.country_code)
      .text("party_id", party_.party_id)
      .text("id", c.id)
      .text("start_date_time", timestamp(cdr.started_at()))
      .text("end_date_time", timestamp(cdr.ended_at()))
      .text("session_id", c.session_id)
      .raw("cdr_token", c.owner.token_json)
      .text("auth_method", c.owner.auth_method)
      .text_if("authorization_reference", c.owner.authorization_reference)
      .raw("cdr_location", where.done())
      .text("currency", currency);
  if (tariff) w.raw("tariffs", "[" + tariff_json(*tariff, party_) + "]");
  w.raw("charging_periods", "[" + period + "]")
      .raw("total_cost", price(priced ? p.total_excl_vat_minor() : 0,
                               priced ? p.total_incl_vat_minor() : 0, exponent));
  if (priced) w.raw("total_fixed_cost", price(p.session_fee_minor(), std::nullopt, exponent));
  w.raw("total_energy", energy);
  if (priced) w.raw("total_energy_cost", price(p.energy_minor(), std::nullopt, exponent));
  w.raw("total_time", time);
  if (priced) w.raw("total_time_cost", price(p.time_minor(), std::nullopt, exponent));
  w.text("last_updated", timestamp_ms(c.last_updated_ms));
  return w.done();
}

}  // namespace switchyard::roaming

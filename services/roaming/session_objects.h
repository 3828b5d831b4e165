// The OCPI 2.2.1 Session and CDR objects of a roaming driver's stored session and CDR: where (the
// location, EVSE and connector the operator published for the charger's EVSE), who (the eMSP's
// CdrToken, auth_method, authorization_reference), how much (kWh, hours, the price in the CDR's
// currency: total_cost = energy + time + fixed costs, VAT on top). Numbers are written as plain
// decimals (10.5, not 1.05E1). Boost.JSON stays in the .cpp.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "common/runtime/core/error.h"
#include "roaming/location_store.h"
#include "roaming/ocpi_envelope.h"
#include "roaming/session_store.h"
#include "roaming/tariffs.h"

namespace switchyard::roaming {

// A JSON object written field by field, so numbers keep their decimal form (Boost.JSON would
// write 10.5 as 1.05E1).
class JsonFields {
 public:
  JsonFields& text(std::string_view key, std::string_view value);  // a string, escaped
  JsonFields& raw(std::string_view key, std::string_view value);   // JSON text as it is
  JsonFields& text_if(std::string_view key, std::string_view value) {
    return value.empty() ? *this : text(key, value);
  }
  std::string done() const { return out_ + "}"; }

 private:
  std::string out_ = "{";
};

// A JSON array of JSON texts as they are ("[a,b]").
std::string json_array(std::span<const std::string> items);

// `units` / 10^scale as a JSON number without trailing zeros ("10.5", "3", "0.125").
std::string decimal_text(std::int64_t units, int scale);
// ISO 4217 minor units of a currency (2 unless listed otherwise: JPY 0, KWD 3, ...).
int currency_exponent(const std::string& currency);

class SessionObjects {
 public:
  // `currency`: of sessions whose price is not known yet (no CDR). `tariffs` (may be null): the
  // CDR's tariff goes into its `tariffs` when the catalog has it.
  SessionObjects(SessionStore& sessions, LocationStore& locations, Party party,
                 std::string currency, TariffCatalog* tariffs = nullptr)
      : sessions_(sessions),
        locations_(locations),
        party_(std::move(party)),
        currency_(std::move(currency)),
        tariffs_(tariffs) {}

  // kFailedPrecondition when the charger's EVSE is in no location ("charger CP1 EVSE 1 is in no
  // published location"): OCPI needs one, so the object waits until the operator puts it.
  Result<std::string> session(const StoredSession& session);
  Result<std::string> cdr(const StoredCdr& cdr);

 private:
  Result<LocationStore::Placement> placement(const std::string& charger_id,
                                             const v1::Location& where);

  SessionStore& sessions_;
  LocationStore& locations_;
  Party party_;
  std::string currency_;
  TariffCatalog* tariffs_;
};

}  // namespace switchyard::roaming

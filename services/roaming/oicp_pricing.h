// Hubject dynamic pricing (OICP 2.3, eRoamingDynamicPricing 1.0), CPO side: the transactions
// service's tariffs as pricing products (eRoamingPushPricingProductData) and the product of each
// EVSE Hubject holds (eRoamingPushEVSEPricing).
//
// An EVSE's product is chosen as the transactions service prices a session there: the tariff of
// its charger (the smallest tariff id among them), else the default tariff (the smallest id among
// those without a charger); the product id is that tariff's product_id ("Standard Price", "AC1",
// "AC3", "DC" or a custom id of at most 50 characters). So the product Hubject shows for an EVSE
// is the PartnerProductID of the CDRs of sessions there. Prices go without VAT: the energy price
// per KILOWATT_HOUR (a tariff with only a time price: per HOUR), the time price of a tariff that
// has both as an AdditionalReference PARKING FEE per HOUR, the session fee as START FEE.
//
// OicpPricing keeps Hubject in line: what it holds (as of the pushes it accepted) is kept in
// roaming_oicp_pricing, and a pass compares that with what it should hold and sends only the
// difference: the products (few) as one fullLoad when any of them changed, the EVSEs' products as
// insert / update / delete of the changed ones. It runs on the OICP pusher's thread (pushes of one
// operation strictly one after the other), after the EVSE data it refers to, with a back-off of
// its own so a Hubject without a dynamic-pricing offer (it refuses these pushes) holds up nothing
// else.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "roaming/oicp_client.h"
#include "roaming/oicp_records.h"
#include "roaming/settings.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::sql {
class Database;
}  // namespace switchyard::sql

namespace switchyard::roaming {

class TariffCatalog;

// An EVSE Hubject holds, as pricing needs it.
struct PricedEvse {
  std::string evse_id;
  std::string charger_id;
  std::int64_t max_power_kw = 0;
};

// A tariff's (or a CDR's) product_id as OICP takes it: "Standard Price" when it is empty or longer
// than 50 characters.
std::string oicp_product_id(std::string_view product_id);

// What Hubject should hold.
struct OicpPricingPlan {
  std::string product_data;                  // PricingProductData JSON
  std::map<std::string, std::string> evses;  // EvseID → its EVSEPricing item JSON
  int products = 0;
  // Tariffs that share a product id with different prices: Hubject gets the first (default
  // tariffs first, then by tariff id); one text per loser, "AC1: tariff b differs from a".
  std::vector<std::string> conflicts;
};

// Pure: products of the tariffs the EVSEs are priced with (a tariff no EVSE uses is not offered),
// the default price (the default tariff's; 0 in `fallback_currency` without one); an EVSE without
// any tariff gets no item (Hubject prices it with the default).
OicpPricingPlan oicp_pricing_plan(std::span<const v1::Tariff> tariffs,
                                  std::span<const PricedEvse> evses, const OicpSettings& settings,
                                  const std::string& fallback_currency);

// The eRoamingPushPricingProductData / eRoamingPushEVSEPricing bodies.
std::string push_pricing_products_body(OicpAction action, const std::string& product_data);
std::string push_evse_pricing_body(OicpAction action, std::span<const std::string> items);

class OicpPricing {
 public:
  // POSTs one push (the pusher's send: counted in switchyard_roaming_oicp_pushes_total).
  using Send = std::function<Result<void>(OicpOperation operation, std::string_view action,
                                          std::string body, int records)>;
  // Everything outlives this.
  OicpPricing(const OicpSettings& settings, TariffCatalog& tariffs, sql::Database& db,
              const Clock& clock, Send send, std::string fallback_currency,
              std::chrono::milliseconds max_backoff, int batch);

  // The EVSEs Hubject holds changed (a push of EVSE data was accepted): look again.
  void evses_changed() { dirty_ = true; }
  // Everything as fullLoad in the next pass, without waiting for a back-off (a fullLoad of EVSE
  // data was accepted: the daily one, or the operator's resend).
  void full_load_due() {
    full_ = true;
    backoff_until_ms_ = 0;
  }
  // One pass: nothing unless something may have changed (the tariffs, the EVSEs, a fullLoad due)
  // or a failure's back-off ended. How many requests Hubject accepted; an error only when the
  // store failed. The tariffs unreadable (the transactions service down): nothing is sent, and
  // what Hubject holds stays, until they are read again.
  Result<int> push();

 private:
  std::int64_t now_ms() const;
  Result<std::vector<PricedEvse>> held_evses();
  void back_off(const Error& error);

  OicpSettings settings_;
  TariffCatalog& tariffs_;
  sql::Database& db_;
  const Clock& clock_;
  Send send_;
  std::string fallback_currency_;
  std::chrono::milliseconds max_backoff_;
  std::size_t batch_;
  // Only the pusher's thread touches these.
  bool dirty_ = true;
  bool full_ = false;
  std::string tariffs_seen_;  // the tariffs as of the last plan
  std::string conflicts_logged_;
  bool tariffs_unreadable_ = false;
  int failures_ = 0;
  std::int64_t backoff_until_ms_ = 0;
};

}  // namespace switchyard::roaming

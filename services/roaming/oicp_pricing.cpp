// Hubject dynamic pricing (see oicp_pricing.h).
#include "roaming/oicp_pricing.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "common/runtime/core/log.h"
#include "common/runtime/sql/database.h"
#include "roaming/push_outbox.h"
#include "roaming/session_objects.h"
#include "roaming/tariffs.h"

namespace switchyard::roaming {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxProductId = 50;
constexpr std::string_view kStandardPrice = "Standard Price";
// Every day, all day: IsValid24hours is true, but Hubject's schema wants the times all the same.
constexpr std::string_view kAllDay =
    R"([{"Periods":[{"begin":"00:00","end":"23:59"}],"on":"Everyday"}])";

std::string quoted(std::string_view text) { return json::serialize(json::string(text)); }

bool same_prices(const v1::Tariff& a, const v1::Tariff& b) {
  return a.currency() == b.currency() && a.energy_minor_per_mwh() == b.energy_minor_per_mwh() &&
         a.time_minor_per_hour() == b.time_minor_per_hour() &&
         a.session_fee_minor() == b.session_fee_minor();
}

// Priced per hour when the tariff has a time price and no energy price; else per kWh.
bool by_time(const v1::Tariff& t) {
  return t.energy_minor_per_mwh() == 0 && t.time_minor_per_hour() > 0;
}

std::string_view reference_unit(const v1::Tariff& t) {
  return by_time(t) ? "HOUR" : "KILOWATT_HOUR";
}

std::string base_price(const v1::Tariff& t) {
  const int exponent = currency_exponent(t.currency());
  return by_time(t) ? decimal_text(t.time_minor_per_hour(), exponent)
                    : decimal_text(t.energy_minor_per_mwh(), exponent + 3);
}

std::string additional(std::string_view reference, std::string_view unit,
                       const std::string& price) {
  return JsonFields()
      .text("AdditionalReference", reference)
      .text("AdditionalReferenceUnit", unit)
      .raw("PricePerAdditionalReferenceUnit", price)
      .done();
}

std::string product_record(const v1::Tariff& t, const std::string& product_id,
                           std::int64_t max_power_kw) {
  const int exponent = currency_exponent(t.currency());
  std::vector<std::string> references;
  if (!by_time(t) && t.time_minor_per_hour() > 0) {
    references.push_back(
        additional("PARKING FEE", "HOUR", decimal_text(t.time_minor_per_hour(), exponent)));
  }
  if (t.session_fee_minor() > 0) {
    references.push_back(
        additional("START FEE", reference_unit(t), decimal_text(t.session_fee_minor(), exponent)));
  }
  JsonFields record;
  record.text("ProductID", product_id)
      .text("ReferenceUnit", reference_unit(t))
      .text("ProductPriceCurrency", t.currency())
      .raw("PricePerReferenceUnit", base_price(t))
      .raw("MaximumProductChargingPower", std::to_string(max_power_kw))
      .raw("IsValid24hours", "true")
      .raw("ProductAvailabilityTimes", kAllDay);
  if (!references.empty()) record.raw("AdditionalReferences", json_array(references));
  return record.done();
}

// Sorting order of tariffs for a product's price: default tariffs first, then by id.
bool before(const v1::Tariff* a, const v1::Tariff* b) {
  const bool a_default = a->charger_id().empty();
  const bool b_default = b->charger_id().empty();
  if (a_default != b_default) return a_default;
  return a->tariff_id() < b->tariff_id();
}

}  // namespace

std::string oicp_product_id(std::string_view product_id) {
  return std::string(product_id.empty() || product_id.size() > kMaxProductId ? kStandardPrice
                                                                             : product_id);
}

OicpPricingPlan oicp_pricing_plan(std::span<const v1::Tariff> tariffs,
                                  std::span<const PricedEvse> evses, const OicpSettings& settings,
                                  const std::string& fallback_currency) {
  // The tariff of a charger, as the transactions service picks it (tariff_for).
  const v1::Tariff* fallback = nullptr;
  std::map<std::string, const v1::Tariff*, std::less<>> by_charger;
  for (const auto& t : tariffs) {
    const v1::Tariff** slot = t.charger_id().empty() ? &fallback : &by_charger[t.charger_id()];
    if (*slot == nullptr || t.tariff_id() < (*slot)->tariff_id()) *slot = &t;
  }
  OicpPricingPlan plan;
  std::set<const v1::Tariff*> used;
  std::map<std::string, std::int64_t> max_power;  // by product id
  for (const auto& e : evses) {
    const auto it = by_charger.find(e.charger_id);
    const v1::Tariff* t = it != by_charger.end() ? it->second : fallback;
    if (t == nullptr) continue;  // Hubject's default price
    used.insert(t);
    const std::string product = oicp_product_id(t->product_id());
    auto& power = max_power[product];
    power = std::max(power, e.max_power_kw);
    plan.evses[e.evse_id] = JsonFields()
                                .text("EvseID", e.evse_id)
                                .text("ProviderID", "*")
                                .raw("EvseIDProductList", "[" + quoted(product) + "]")
                                .done();
  }
  std::vector<const v1::Tariff*> ordered(used.begin(), used.end());
  std::sort(ordered.begin(), ordered.end(), before);
  std::map<std::string, const v1::Tariff*> products;
  for (const auto* t : ordered) {
    const std::string product = oicp_product_id(t->product_id());
    auto [it, fresh] = products.emplace(product, t);
    if (!fresh && !same_prices(*it->second, *t)) {
      plan.conflicts.push_back(product + ": tariff " + t->tariff_id() + " differs from " +
                               it->second->tariff_id());
    }
  }
  std::vector<std::string> records;
  records.reserve(products.size());
  for (const auto& [product, t] : products) {
    records.push_back(product_record(*t, product, max_power[product]));
  }
  plan.products = static_cast<int>(products.size());
  JsonFields data;
  data.text("OperatorID", settings.operator_id)
      .text("OperatorName", settings.operator_name)
      .text("ProviderID", "*");
  if (fallback != nullptr) {
    data.raw("PricingDefaultPrice", base_price(*fallback))
        .text("PricingDefaultPriceCurrency", fallback->currency())
        .text("PricingDefaultReferenceUnit", reference_unit(*fallback));
  } else {
    data.raw("PricingDefaultPrice", "0")
        .text("PricingDefaultPriceCurrency", fallback_currency)
        .text("PricingDefaultReferenceUnit", "KILOWATT_HOUR");
  }
  plan.product_data = data.raw("PricingProductDataRecords", json_array(records)).done();
  return plan;
}

std::string push_pricing_products_body(OicpAction action, const std::string& product_data) {
  return JsonFields()
      .text("ActionType", oicp_action_name(action))
      .raw("PricingProductData", product_data)
      .done();
}

std::string push_evse_pricing_body(OicpAction action, std::span<const std::string> items) {
  return JsonFields()
      .text("ActionType", oicp_action_name(action))
      .raw("EVSEPricing", json_array(items))
      .done();
}

OicpPricing::OicpPricing(const OicpSettings& settings, TariffCatalog& tariffs, sql::Database& db,
                         const Clock& clock, Send send, std::string fallback_currency,
                         std::chrono::milliseconds max_backoff, int batch)
    : settings_(settings),
      tariffs_(tariffs),
      db_(db),
      clock_(clock),
      send_(std::move(send)),
      fallback_currency_(std::move(fallback_currency)),
      max_backoff_(max_backoff),
      batch_(static_cast<std::size_t>(std::max(1, batch))) {}

std::int64_t OicpPricing::now_ms() const { return unix_ms(clock_.now()); }

Result<std::vector<PricedEvse>> OicpPricing::held_evses() {
  auto r = db_.exec("SELECT evse_id, record FROM roaming_oicp_evses ORDER BY evse_id");
  if (!r) return std::unexpected(r.error());
  std::vector<PricedEvse> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) {
    PricedEvse e;
    e.evse_id = r->text(i, 0);
    boost::system::error_code ec;
    const json::value record = json::parse(r->text(i, 1), ec);
    if (const auto* o = ec ? nullptr : record.if_object()) {
      if (const auto* c = o->if_contains("ChargingStationId"); c != nullptr && c->is_string()) {
        e.charger_id = std::string(c->as_string());
      }
      if (const auto* f = o->if_contains("ChargingFacilities"); f != nullptr && f->is_array()) {
        for (const auto& facility : f->as_array()) {
          const auto* p =
              facility.is_object() ? facility.as_object().if_contains("Power") : nullptr;
          if (p != nullptr && p->is_int64())
            e.max_power_kw = std::max(e.max_power_kw, p->as_int64());
        }
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

void OicpPricing::back_off(const Error& error) {
  const std::int64_t wait = retry_delay_ms(failures_, max_backoff_);
  ++failures_;
  backoff_until_ms_ = now_ms() + wait;
  if (failures_ == 1 || failures_ % 10 == 0) {
    log::warn("OICP pricing push failed; retried",
              {{"error", error.message}, {"failures", failures_}, {"retry_in_ms", wait}});
  }
}

Result<int> OicpPricing::push() {
  if (now_ms() < backoff_until_ms_) return 0;
  auto listed = tariffs_.current();
  if (!listed) {
    // What Hubject holds stays as it is until the tariffs can be read again (asked every 5 s:
    // a transactions service that hangs must not stall the status pushes of this thread).
    if (!tariffs_unreadable_) {
      log::warn("OICP pricing waits: the tariffs cannot be read",
                {{"error", listed.error().message}});
    }
    tariffs_unreadable_ = true;
    backoff_until_ms_ = now_ms() + 5000;
    return 0;
  }
  tariffs_unreadable_ = false;
  std::vector<v1::Tariff> tariffs;
  std::string seen;
  for (const auto& p : *listed) {
    // The catalog moves a tariff's last_updated with every change of it.
    seen += p.tariff.tariff_id() + '@' + std::to_string(p.last_updated_ms) + '\n';
    tariffs.push_back(p.tariff);
  }
  if (!dirty_ && !full_ && seen == tariffs_seen_) return 0;
  auto evses = held_evses();
  if (!evses) return std::unexpected(evses.error());
  const auto plan = oicp_pricing_plan(tariffs, *evses, settings_, fallback_currency_);
  if (!plan.conflicts.empty() && plan.conflicts.front() != conflicts_logged_) {
    log::warn("tariffs share an OICP product id with different prices; Hubject gets the first",
              {{"conflicts", static_cast<std::int64_t>(plan.conflicts.size())},
               {"first", plan.conflicts.front()}});
  }
  conflicts_logged_ = plan.conflicts.empty() ? std::string() : plan.conflicts.front();

  int accepted = 0;
  const auto refused = [&](const Error& e) -> Result<int> {
    back_off(e);
    return accepted;
  };
  // The products first: the EVSEs' lists name them.
  auto held_products =
      db_.exec("SELECT body FROM roaming_oicp_pricing WHERE kind = 'products' AND id = ''");
  if (!held_products) return std::unexpected(held_products.error());
  if (full_ || held_products->size() == 0 || held_products->text(0, 0) != plan.product_data) {
    if (auto s = send_(OicpOperation::kPushPricingProducts, oicp_action_name(OicpAction::kFullLoad),
                       push_pricing_products_body(OicpAction::kFullLoad, plan.product_data),
                       plan.products);
        !s) {
      return refused(s.error());
    }
    ++accepted;
    auto saved = db_.exec(
        "INSERT INTO roaming_oicp_pricing (kind, id, body) VALUES ('products', '', $1) "
        "ON CONFLICT (kind, id) DO UPDATE SET body = $1",
        {plan.product_data});
    if (!saved) return std::unexpected(saved.error());
  }

  std::int64_t changed_evses = 0;
  if (full_) {
    std::vector<std::string> items;
    items.reserve(plan.evses.size());
    for (const auto& [id, item] : plan.evses) items.push_back(item);
    if (auto s = send_(OicpOperation::kPushEvsePricing, oicp_action_name(OicpAction::kFullLoad),
                       push_evse_pricing_body(OicpAction::kFullLoad, items),
                       static_cast<int>(items.size()));
        !s) {
      return refused(s.error());
    }
    ++accepted;
    auto saved = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
      if (auto d = tx.exec("DELETE FROM roaming_oicp_pricing WHERE kind = 'evse'"); !d) {
        return std::unexpected(d.error());
      }
      for (const auto& [id, item] : plan.evses) {
        auto i =
            tx.exec("INSERT INTO roaming_oicp_pricing (kind, id, body) VALUES ('evse', $1, $2)",
                    {id, item});
        if (!i) return std::unexpected(i.error());
      }
      return {};
    });
    if (!saved) return std::unexpected(saved.error());
    changed_evses = static_cast<std::int64_t>(items.size());
  } else {
    auto rows = db_.exec("SELECT id, body FROM roaming_oicp_pricing WHERE kind = 'evse'");
    if (!rows) return std::unexpected(rows.error());
    std::map<std::string, std::string> held;
    for (int i = 0; i < rows->size(); ++i) held[rows->text(i, 0)] = rows->text(i, 1);
    struct Change {
      std::string id;
      std::string item;
    };
    std::vector<Change> deletes;
    std::vector<Change> inserts;
    std::vector<Change> updates;
    for (const auto& [id, item] : held) {
      if (!plan.evses.contains(id)) deletes.push_back({id, item});  // with what Hubject holds
    }
    for (const auto& [id, item] : plan.evses) {
      const auto h = held.find(id);
      if (h == held.end()) {
        inserts.push_back({id, item});
      } else if (h->second != item) {
        updates.push_back({id, item});
      }
    }
    for (auto [action, changes] :
         {std::pair{OicpAction::kDelete, &deletes}, std::pair{OicpAction::kInsert, &inserts},
          std::pair{OicpAction::kUpdate, &updates}}) {
      for (std::size_t from = 0; from < changes->size(); from += batch_) {
        const std::size_t to = std::min(changes->size(), from + batch_);
        std::vector<std::string> items;
        for (std::size_t i = from; i < to; ++i) items.push_back((*changes)[i].item);
        if (auto s = send_(OicpOperation::kPushEvsePricing, oicp_action_name(action),
                           push_evse_pricing_body(action, items), static_cast<int>(items.size()));
            !s) {
          return refused(s.error());
        }
        ++accepted;
        // Recorded at once: a later failure does not send this batch again.
        auto saved = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
          for (std::size_t i = from; i < to; ++i) {
            const auto& c = (*changes)[i];
            auto r =
                action == OicpAction::kDelete
                    ? tx.exec("DELETE FROM roaming_oicp_pricing WHERE kind = 'evse' AND id = $1",
                              {c.id})
                    : tx.exec(
                          "INSERT INTO roaming_oicp_pricing (kind, id, body) VALUES "
                          "('evse', $1, $2) ON CONFLICT (kind, id) DO UPDATE SET body = $2",
                          {c.id, c.item});
            if (!r) return std::unexpected(r.error());
          }
          return {};
        });
        if (!saved) return std::unexpected(saved.error());
        changed_evses += static_cast<std::int64_t>(to - from);
      }
    }
  }
  if (accepted > 0) {
    log::info("OICP pricing accepted", {{"full_load", full_},
                                        {"products", plan.products},
                                        {"evses", static_cast<std::int64_t>(plan.evses.size())},
                                        {"evses_changed", changed_evses}});
  }
  if (failures_ > 0) log::info("OICP pricing pushes accepted again", {{"failures", failures_}});
  failures_ = 0;
  dirty_ = false;
  full_ = false;
  tariffs_seen_ = std::move(seen);
  return accepted;
}

}  // namespace switchyard::roaming

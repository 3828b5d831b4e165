// Hubject dynamic pricing: the plan from tariffs and EVSEs (products, prices without VAT, each
// EVSE's product chosen as the transactions service prices a session there, conflicts), and the
// pushes through the OICP pusher against a fake Hubject on a real SQLite store: a fullLoad after
// the EVSE data, nothing while nothing changed, only the changed EVSEs after a tariff change,
// deletes for EVSEs that left, a refused pricing push that holds up no status and is retried, and
// unreadable tariffs that change nothing Hubject holds.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/json.hpp>

#include "oicp_test_support.h"
#include "roaming/oicp_pricing.h"
#include "roaming/oicp_pusher.h"
#include "roaming/tariffs.h"
#include "roaming_test_support.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::FakeHubject;
using testing::Pushed;

v1::Tariff tariff(const std::string& id, const std::string& product, std::int64_t per_mwh,
                  const std::string& charger = "") {
  v1::Tariff t;
  t.set_tariff_id(id);
  t.set_product_id(product);
  t.set_currency("EUR");
  t.set_energy_minor_per_mwh(per_mwh);
  t.set_vat_basis_points(1900);
  t.set_charger_id(charger);
  return t;
}

json::object parsed(const std::string& text) { return json::parse(text).as_object(); }

// ProductID → record of a PricingProductData.
std::map<std::string, json::object> records(const json::object& data) {
  std::map<std::string, json::object> out;
  for (const auto& r : data.at("PricingProductDataRecords").as_array()) {
    out[std::string(r.at("ProductID").as_string())] = r.as_object();
  }
  return out;
}

TEST(OicpPricingPlan, EachEvseGetsTheProductOfTheTariffThatPricesItsCharger) {
  auto standard = tariff("ac-standard", "AC3", 39000);  // EUR 0.39 per kWh
  standard.set_time_minor_per_hour(120);                // EUR 1.20 per hour
  standard.set_session_fee_minor(50);                   // EUR 0.50 a session
  const std::vector<v1::Tariff> tariffs{
      standard, tariff("hpc", "DC", 59000, "CP2"),
      tariff("hpc-old", "DC", 69000, "CP2"),  // CP2's second tariff: the transactions service
                                              // prices with the smallest id
      tariff("unused", "AC1", 10000, "CP9")};
  const std::vector<PricedEvse> evses{
      {"DE*SWY*E1*1", "CP1", 22}, {"DE*SWY*E2*1", "CP2", 150}, {"DE*SWY*E1*2", "CP1", 11}};
  const auto plan = oicp_pricing_plan(tariffs, evses, testing::oicp_settings(), "EUR");

  EXPECT_EQ(plan.evses.size(), 3u);
  EXPECT_EQ(parsed(plan.evses.at("DE*SWY*E1*2")),
            (json::object{{"EvseID", "DE*SWY*E1*2"},
                          {"ProviderID", "*"},
                          {"EvseIDProductList", json::array{"AC3"}}}));
  EXPECT_EQ(parsed(plan.evses.at("DE*SWY*E2*1")).at("EvseIDProductList"), json::array{"DC"});
  const auto data = parsed(plan.product_data);
  EXPECT_EQ(data.at("OperatorID"), "DE*SWY");
  EXPECT_EQ(data.at("ProviderID"), "*");
  EXPECT_EQ(data.at("PricingDefaultPrice"), 0.39);  // the default tariff's
  EXPECT_EQ(data.at("PricingDefaultPriceCurrency"), "EUR");
  EXPECT_EQ(data.at("PricingDefaultReferenceUnit"), "KILOWATT_HOUR");
  const auto products = records(data);
  ASSERT_EQ(products.size(), 2u);  // AC1's tariff prices no EVSE Hubject holds: not offered
  EXPECT_EQ(plan.products, 2);
  const auto& ac3 = products.at("AC3");
  EXPECT_EQ(ac3.at("ReferenceUnit"), "KILOWATT_HOUR");
  EXPECT_EQ(ac3.at("PricePerReferenceUnit"), 0.39);  // without VAT
  EXPECT_EQ(ac3.at("ProductPriceCurrency"), "EUR");
  EXPECT_EQ(ac3.at("MaximumProductChargingPower"), 22);  // its strongest EVSE
  EXPECT_EQ(ac3.at("IsValid24hours"), true);
  EXPECT_EQ(ac3.at("AdditionalReferences"),
            (json::array{json::object{{"AdditionalReference", "PARKING FEE"},
                                      {"AdditionalReferenceUnit", "HOUR"},
                                      {"PricePerAdditionalReferenceUnit", 1.2}},
                         json::object{{"AdditionalReference", "START FEE"},
                                      {"AdditionalReferenceUnit", "KILOWATT_HOUR"},
                                      {"PricePerAdditionalReferenceUnit", 0.5}}}));
  const auto& dc = products.at("DC");
  EXPECT_EQ(dc.at("PricePerReferenceUnit"), 0.59);  // hpc, not hpc-old
  EXPECT_EQ(dc.at("MaximumProductChargingPower"), 150);
  EXPECT_FALSE(dc.contains("AdditionalReferences"));
  EXPECT_TRUE(plan.conflicts.empty());
}

TEST(OicpPricingPlan, TimeOnlyTariffsGoPerHourAndConflictsAreNamed) {
  auto parking = tariff("per-hour", "AC1", 0, "CP2");
  parking.set_time_minor_per_hour(300);
  const std::vector<v1::Tariff> tariffs{tariff("a-default", "Standard Price", 30000),
                                        tariff("cp3", "Standard Price", 35000, "CP3"), parking,
                                        tariff("long", std::string(51, 'x'), 1000, "CP4")};
  const std::vector<PricedEvse> evses{{"DE*SWY*E1*1", "CP1", 22},
                                      {"DE*SWY*E2*1", "CP2", 11},
                                      {"DE*SWY*E3*1", "CP3", 22},
                                      {"DE*SWY*E4*1", "CP4", 22}};
  const auto plan = oicp_pricing_plan(tariffs, evses, testing::oicp_settings(), "EUR");
  const auto products = records(parsed(plan.product_data));
  EXPECT_EQ(products.at("AC1").at("ReferenceUnit"), "HOUR");
  EXPECT_EQ(products.at("AC1").at("PricePerReferenceUnit"), 3);
  // The default tariff's price wins its product; the charger tariff that differs is named. A
  // product id over OICP's 50 characters is "Standard Price", as in the CDRs.
  EXPECT_EQ(products.at("Standard Price").at("PricePerReferenceUnit"), 0.3);
  EXPECT_EQ(plan.conflicts,
            (std::vector<std::string>{"Standard Price: tariff cp3 differs from a-default",
                                      "Standard Price: tariff long differs from a-default"}));
  EXPECT_EQ(parsed(plan.evses.at("DE*SWY*E4*1")).at("EvseIDProductList"),
            json::array{"Standard Price"});
  EXPECT_EQ(oicp_product_id(""), "Standard Price");
  EXPECT_EQ(oicp_product_id("DC"), "DC");
}

TEST(OicpPricingPlan, WithoutTariffsNothingIsOfferedAndTheDefaultPriceIsZero) {
  const std::vector<PricedEvse> evses{{"DE*SWY*E1*1", "CP1", 22}};
  const auto plan = oicp_pricing_plan({}, evses, testing::oicp_settings(), "CHF");
  EXPECT_TRUE(plan.evses.empty());
  const auto data = parsed(plan.product_data);
  EXPECT_EQ(data.at("PricingDefaultPrice"), 0);
  EXPECT_EQ(data.at("PricingDefaultPriceCurrency"), "CHF");
  EXPECT_TRUE(data.at("PricingProductDataRecords").as_array().empty());
}

class FakeTariffs final : public TariffSource {
 public:
  std::vector<v1::Tariff> tariffs{tariff("ac-standard", "AC3", 39000)};
  bool down = false;
  Result<std::vector<v1::Tariff>> list() override {
    if (down) return make_error(ErrorCode::kUnavailable, "ListTariffs: transactions down");
    return tariffs;
  }
};

class OicpPricingTest : public testing::PushFixture {
 protected:
  void SetUp() override {
    pusher_.add_built_in_receiver("locations", std::string(kHubjectPartner), [] {});
  }
  void put(const v1::RoamingLocation& l) {
    auto receivers = pusher_.receivers("locations");
    ASSERT_TRUE(receivers);
    ASSERT_TRUE(locations_.put(l, *receivers));
  }
  void status(int evse, const std::string& s) {
    auto receivers = pusher_.receivers("locations");
    ASSERT_TRUE(receivers);
    ASSERT_TRUE(locations_.apply_status("CP1", evse, evse, s, at_ += 1000, *receivers));
  }
  int pass() {
    auto r = oicp_.push_due();
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : -1;
  }
  std::vector<Pushed> take() { return std::exchange(hubject_.pushed, {}); }
  // The pushes of one operation, in order.
  static std::vector<Pushed> of(const std::vector<Pushed>& all, OicpOperation operation) {
    std::vector<Pushed> out;
    for (const auto& p : all) {
      if (p.operation == operation) out.push_back(p);
    }
    return out;
  }
  // EvseID → products of an EVSE pricing push.
  static std::map<std::string, json::array> pricing(const Pushed& p) {
    std::map<std::string, json::array> out;
    for (const auto& i : p.body.at("EVSEPricing").as_array()) {
      out[std::string(i.at("EvseID").as_string())] = i.at("EvseIDProductList").as_array();
    }
    return out;
  }

  FakeHubject hubject_;
  FakeTariffs tariff_source_;
  TariffCatalog tariffs_{tariff_source_, *db_, clock_};
  OicpPusher oicp_{
      testing::oicp_settings(), locations_, outbox_,  *db_, hubject_, clock_, &registry_,
      OicpPushOptions{},        nullptr,    &tariffs_};
  std::int64_t at_ = 0;
};

TEST_F(OicpPricingTest, TheFirstPassLoadsProductsAndEvsePricingAfterTheEvseData) {
  put(testing::sample_location());
  EXPECT_EQ(pass(), 4);
  const auto sent = take();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].operation, OicpOperation::kPushEvseData);
  EXPECT_EQ(sent[1].operation, OicpOperation::kPushEvseStatus);
  EXPECT_EQ(sent[2].operation, OicpOperation::kPushPricingProducts);
  EXPECT_EQ(sent[2].action(), "fullLoad");
  const auto products = records(sent[2].body.at("PricingProductData").as_object());
  ASSERT_EQ(products.size(), 1u);
  EXPECT_EQ(products.at("AC3").at("MaximumProductChargingPower"), 22);
  EXPECT_EQ(sent[3].operation, OicpOperation::kPushEvsePricing);
  EXPECT_EQ(sent[3].action(), "fullLoad");
  EXPECT_EQ(pricing(sent[3]), (std::map<std::string, json::array>{{"DE*SWY*E1*1", {"AC3"}},
                                                                  {"DE*SWY*E1*2", {"AC3"}}}));
  // Nothing changed: nothing sent, however often the tariffs are read again.
  clock_.advance(6s);
  status(1, "Charging");
  EXPECT_EQ(pass(), 1);
  EXPECT_EQ(take()[0].operation, OicpOperation::kPushEvseStatus);
  clock_.advance(6s);
  EXPECT_EQ(pass(), 0);
  EXPECT_TRUE(take().empty());
}

TEST_F(OicpPricingTest, ATariffChangeSendsTheProductsAndOnlyTheEvsesWhoseProductChanged) {
  auto l = testing::sample_location();
  l.mutable_evses(1)->set_charger_id("CP2");
  put(l);
  EXPECT_EQ(pass(), 4);
  take();
  // CP2 gets a tariff of its own; the default tariff is untouched.
  tariff_source_.tariffs.push_back(tariff("cp2", "AC1", 45000, "CP2"));
  clock_.advance(6s);  // the catalog reads the tariffs again
  EXPECT_EQ(pass(), 2);
  auto sent = take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].operation, OicpOperation::kPushPricingProducts);
  EXPECT_EQ(records(sent[0].body.at("PricingProductData").as_object()).size(), 2u);
  EXPECT_EQ(sent[1].operation, OicpOperation::kPushEvsePricing);
  EXPECT_EQ(sent[1].action(), "update");
  EXPECT_EQ(pricing(sent[1]), (std::map<std::string, json::array>{{"DE*SWY*E1*2", {"AC1"}}}));
  // The EVSE leaves: its pricing is deleted with what Hubject holds; the products lose AC1.
  l.mutable_evses()->DeleteSubrange(1, 1);
  put(l);
  EXPECT_EQ(pass(), 3);  // EVSE data delete, products, EVSE pricing delete
  sent = take();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].operation, OicpOperation::kPushEvseData);
  EXPECT_EQ(sent[0].action(), "delete");
  EXPECT_EQ(records(sent[1].body.at("PricingProductData").as_object()).size(), 1u);
  EXPECT_EQ(sent[2].action(), "delete");
  EXPECT_EQ(pricing(sent[2]), (std::map<std::string, json::array>{{"DE*SWY*E1*2", {"AC1"}}}));
}

TEST_F(OicpPricingTest, ARefusedPricingPushHoldsUpNoStatusAndIsRetriedAfterItsBackOff) {
  put(testing::sample_location());
  hubject_.refused_operations = {OicpOperation::kPushPricingProducts};
  EXPECT_EQ(pass(), 2);  // the EVSE data and statuses went; the products were refused
  auto sent = take();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[2].operation, OicpOperation::kPushPricingProducts);
  // Statuses go on as before while the pricing backs off.
  status(1, "Charging");
  EXPECT_EQ(pass(), 1);
  sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].operation, OicpOperation::kPushEvseStatus);
  hubject_.refused_operations.clear();
  clock_.advance(2s);
  EXPECT_EQ(pass(), 2);  // the whole fullLoad of pricing, as it was due
  sent = take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].action(), "fullLoad");
  EXPECT_EQ(sent[1].operation, OicpOperation::kPushEvsePricing);
  EXPECT_EQ(sent[1].action(), "fullLoad");
  const auto text = registry_.Collect();
  bool refused_counted = false;
  for (const auto& family : text) {
    if (family.name != "switchyard_roaming_oicp_pushes_total") continue;
    for (const auto& m : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : m.label) labels[l.name] = l.value;
      if (labels["operation"] == "pricing-products" && labels["result"] == "refused") {
        refused_counted = m.counter.value == 1;
      }
    }
  }
  EXPECT_TRUE(refused_counted);
}

TEST_F(OicpPricingTest, UnreadableTariffsChangeNothingHubjectHolds) {
  auto l = testing::sample_location();
  put(l);
  EXPECT_EQ(pass(), 4);
  take();
  tariff_source_.down = true;
  clock_.advance(6s);
  // A new EVSE goes to Hubject; its pricing waits for the tariffs; nothing is withdrawn.
  auto* e3 = l.add_evses();
  *e3 = l.evses(0);
  e3->set_uid("E3");
  e3->set_evse_id("DE*SWY*E1*3");
  e3->set_ocpp_evse_id(3);
  put(l);
  EXPECT_EQ(pass(), 1);
  auto sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].operation, OicpOperation::kPushEvseData);
  tariff_source_.down = false;
  clock_.advance(6s);
  EXPECT_GE(pass(), 1);
  sent = of(take(), OicpOperation::kPushEvsePricing);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].action(), "insert");
  EXPECT_EQ(pricing(sent[0]), (std::map<std::string, json::array>{{"DE*SWY*E1*3", {"AC3"}}}));
}

}  // namespace
}  // namespace switchyard::roaming

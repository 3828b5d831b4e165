// OCPI tariffs from the transactions service's tariffs: the Tariff JSON (per kWh, per hour, flat,
// VAT in percent, plain decimals), last_updated kept per version of a tariff, the SENDER list with
// its window and paging, and a CDR carrying the tariff it was priced with.
#include "roaming/tariffs.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>

#include "common/runtime/http/server.h"
#include "roaming/push_outbox.h"
#include "roaming_test_support.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const Party kParty{"DE", "SWY"};

class FakeTariffs final : public TariffSource {
 public:
  std::vector<v1::Tariff> tariffs;
  int reads = 0;
  bool down = false;
  Result<std::vector<v1::Tariff>> list() override {
    ++reads;
    if (down) return make_error(ErrorCode::kUnavailable, "transactions down");
    return tariffs;
  }
};

v1::Tariff tariff(const std::string& id, std::int64_t per_mwh = 39000) {
  v1::Tariff t;
  t.set_tariff_id(id);
  t.set_product_id("AC1");
  t.set_currency("EUR");
  t.set_energy_minor_per_mwh(per_mwh);  // EUR 0.39 / kWh
  t.set_time_minor_per_hour(120);       // EUR 1.20 / h
  t.set_session_fee_minor(50);          // EUR 0.50
  t.set_vat_basis_points(1900);
  return t;
}

class TariffsTest : public ::testing::Test {
 protected:
  http::Response list(const std::string& query = "") {
    http::Request r;
    r.method = "GET";
    r.path = "/ocpi/2.2.1/tariffs";
    r.query = query;
    r.target = r.path + (query.empty() ? "" : "?" + query);
    TariffsSender sender(catalog_, kParty, "https://cpo.test/ocpi/2.2.1/tariffs", clock_);
    return sender.handle(Partner{}, r, "");
  }

  switchyard::testing::FakeClock clock_;
  testing::RoamingDb db_;
  FakeTariffs source_;
  TariffCatalog catalog_{source_, *db_, clock_, 5s};
};

TEST_F(TariffsTest, ATariffIsOneElementOfEnergyTimeAndFlatPricesWithVat) {
  const auto t = json::parse(tariff_json({tariff("ac-standard"), 1'800'000'000'000}, kParty));
  EXPECT_EQ(t.at("id"), "ac-standard");
  EXPECT_EQ(t.at("country_code"), "DE");
  EXPECT_EQ(t.at("currency"), "EUR");
  EXPECT_EQ(t.at("last_updated"), "2027-01-15T08:00:00Z");
  const auto& c = t.at("elements").at(0).at("price_components").as_array();
  ASSERT_EQ(c.size(), 3U);
  EXPECT_EQ(c[0].at("type"), "ENERGY");
  EXPECT_EQ(c[0].at("price").to_number<double>(), 0.39);
  EXPECT_EQ(c[0].at("vat").to_number<double>(), 19.0);
  EXPECT_EQ(c[0].at("step_size"), 1);
  EXPECT_EQ(c[1].at("type"), "TIME");
  EXPECT_EQ(c[1].at("price").to_number<double>(), 1.2);
  EXPECT_EQ(c[2].at("type"), "FLAT");
  EXPECT_EQ(c[2].at("price").to_number<double>(), 0.5);
  auto energy_only = tariff("e");
  energy_only.set_time_minor_per_hour(0);
  energy_only.set_session_fee_minor(0);
  EXPECT_EQ(json::parse(tariff_json({energy_only, 0}, kParty))
                .at("elements")
                .at(0)
                .at("price_components")
                .as_array()
                .size(),
            1U);
}

TEST_F(TariffsTest, LastUpdatedMovesOnlyWhenTheTariffChanges) {
  source_.tariffs = {tariff("a"), tariff("b")};
  auto first = catalog_.current();
  ASSERT_TRUE(first) << first.error().message;
  const std::int64_t seen = first->at(0).last_updated_ms;
  clock_.advance(10s);
  source_.tariffs = {tariff("a"), tariff("b", 45000)};
  auto again = catalog_.current();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->at(0).tariff.tariff_id(), "a");
  EXPECT_EQ(again->at(0).last_updated_ms, seen);
  EXPECT_EQ(again->at(1).tariff.tariff_id(), "b");
  EXPECT_EQ(again->at(1).last_updated_ms, seen + 10'000);
  EXPECT_EQ(source_.reads, 2);
  EXPECT_TRUE(catalog_.current());  // within 5 s: not read again
  EXPECT_EQ(source_.reads, 2);
  source_.tariffs.push_back(tariff("c"));  // put a moment ago: found, the cache notwithstanding
  auto c = catalog_.find("c");
  ASSERT_TRUE(c && *c);
  EXPECT_EQ(source_.reads, 3);
  auto none = catalog_.find("z");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST_F(TariffsTest, TheSenderPagesTheTariffsAndSaysWhenTheyAreUnavailable) {
  source_.tariffs = {tariff("a"), tariff("b"), tariff("c")};
  auto page = list("limit=2");
  EXPECT_EQ(page.status, 200);
  const auto body = json::parse(page.body);
  ASSERT_EQ(body.at("data").as_array().size(), 2U);
  bool linked = false;
  for (const auto& [k, v] : page.headers) {
    if (k == "X-Total-Count") {
      EXPECT_EQ(v, "3");
    }
    if (k == "Link") linked = v.find("offset=2") != std::string::npos;
  }
  EXPECT_TRUE(linked);
  auto future = json::parse(list("date_from=2030-01-01T00:00:00Z").body);
  EXPECT_TRUE(future.at("data").as_array().empty());
  source_.down = true;
  clock_.advance(10s);
  auto down = list();
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(json::parse(down.body).at("status_code"), 3000);
  auto long_id = tariff(std::string(37, 'x'));
  source_.down = false;
  source_.tariffs = {long_id};
  clock_.advance(10s);
  EXPECT_TRUE(json::parse(list().body).at("data").as_array().empty());
}

TEST_F(TariffsTest, ChangesGoToTheReceiversAsAPutOfTheTariffOrADeleteWhenItWent) {
  PushOutbox outbox(*db_);
  catalog_.on_change(
      []() -> Result<std::vector<std::string>> { return std::vector<std::string>{"ptr-emsp"}; });
  TariffPushSource source(catalog_, kParty);
  auto due = [&] {
    auto d = outbox.due(std::numeric_limits<std::int64_t>::max(), 10);
    EXPECT_TRUE(d);
    return d ? *d : std::vector<PendingPush>{};
  };
  source_.tariffs = {tariff("a")};
  source.begin_pass();  // the pusher's pass refreshes the catalog
  auto first = due();
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(first[0].module, "tariffs");
  auto put = source.request(first[0], "https://emsp.test/ocpi/emsp/2.2.1/tariffs");
  ASSERT_TRUE(put && *put);
  EXPECT_EQ((*put)->method, "PUT");
  EXPECT_EQ((*put)->url, "https://emsp.test/ocpi/emsp/2.2.1/tariffs/DE/SWY/a");
  EXPECT_EQ(json::parse((*put)->body).at("id"), "a");
  ASSERT_TRUE(outbox.done(first[0]));

  clock_.advance(10s);
  source.begin_pass();  // unchanged: nothing to tell
  EXPECT_TRUE(due().empty());

  clock_.advance(10s);
  source_.tariffs = {};
  source.begin_pass();
  auto gone = due();
  ASSERT_EQ(gone.size(), 1U);
  auto del = source.request(gone[0], "https://emsp.test/ocpi/emsp/2.2.1/tariffs");
  ASSERT_TRUE(del && *del);
  EXPECT_EQ((*del)->method, "DELETE");
  EXPECT_EQ((*del)->url, "https://emsp.test/ocpi/emsp/2.2.1/tariffs/DE/SWY/a");

  source_.tariffs = {tariff("b")};
  clock_.advance(10s);
  ASSERT_TRUE(catalog_.current());
  auto all = catalog_.enqueue_all("ptr-late");
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, 1);
}

}  // namespace
}  // namespace switchyard::roaming

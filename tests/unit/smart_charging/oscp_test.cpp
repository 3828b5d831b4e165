// OSCP 2.0 flexibility provider: forecast blocks → node limits, refusals (token, group, JSON),
// and register / handshake / heartbeat / measurements against an in-process capacity provider.
#include "smart_charging/oscp.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/runtime/http/client.h"
#include "common/runtime/http/server.h"

namespace switchyard::smart_charging {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

Time at(const char* text) { return *parse_rfc3339(text); }

// Polls `done` until it holds or 5 s pass (no sleeps to wait for something).
template <typename F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

// --- conversion -------------------------------------------------------------------------------

TEST(OscpForecast, AmpereBlocksCapTheirPhasesAndEqualWindowsMerge) {
  const Time t0 = at("2030-01-01T10:00:00Z");
  const Time t1 = at("2030-01-01T10:15:00Z");
  const Time t2 = at("2030-01-01T10:30:00Z");
  std::vector<ForecastedBlock> blocks{
      {40, PhaseIndicator::kAll, "A", t0, t1},   {20, PhaseIndicator::kOne, "A", t0, t1},
      {22, PhaseIndicator::kAll, "KW", t0, t1},  {11000, PhaseIndicator::kAll, "W", t1, t2},
      {25, PhaseIndicator::kThree, "A", t1, t2}, {-5, PhaseIndicator::kTwo, "A", t1, t2},
  };
  auto slots = forecast_slots(blocks);
  ASSERT_TRUE(slots.has_value()) << slots.error().message;
  ASSERT_EQ(slots->size(), 2U);
  const LimitSlot& first = (*slots)[0];
  EXPECT_EQ(first.from, t0);
  EXPECT_EQ(first.until, t1);
  ASSERT_TRUE(first.current_a.has_value());
  EXPECT_EQ(*first.current_a, (PhaseCurrents{20, 40, 40}));
  ASSERT_TRUE(first.power_kw.has_value());
  EXPECT_DOUBLE_EQ(*first.power_kw, 22);
  const LimitSlot& second = (*slots)[1];
  EXPECT_EQ(second.from, t1);
  ASSERT_TRUE(second.power_kw.has_value());
  EXPECT_DOUBLE_EQ(*second.power_kw, 11);
  ASSERT_TRUE(second.current_a.has_value());
  // L1 uncapped, a negative capacity caps at 0.
  EXPECT_EQ(*second.current_a, (PhaseCurrents{kUncappedPhaseA, 0, 25}));
}

TEST(OscpForecast, RefusesUnitsThatAreNoCapacityAndEmptyWindows) {
  const Time t0 = at("2030-01-01T10:00:00Z");
  const Time t1 = at("2030-01-01T10:15:00Z");
  auto energy = forecast_slots(
      {{10, PhaseIndicator::kAll, "A", t0, t1}, {10, PhaseIndicator::kAll, "KWH", t0, t1}});
  ASSERT_FALSE(energy.has_value());
  EXPECT_NE(energy.error().message.find("forecasted_blocks[1].unit"), std::string::npos);
  EXPECT_NE(energy.error().message.find("KWH"), std::string::npos);
  auto backwards = forecast_slots({{10, PhaseIndicator::kAll, "A", t1, t0}});
  ASSERT_FALSE(backwards.has_value());
  EXPECT_NE(backwards.error().message.find("end_time"), std::string::npos);
}

TEST(OscpForecast, ParsesTheMessageAndNamesTheFieldAtFault) {
  auto ok = parse_group_capacity_forecast(R"({"group_id":"g1","type":"FALLBACK_CONSUMPTION",
      "forecasted_blocks":[{"capacity":16,"phase":"ALL","unit":"A",
        "start_time":"2030-01-01T10:00:00+01:00","end_time":"2030-01-01 10:00:00"}]})");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->group_id, "g1");
  EXPECT_EQ(ok->type, ForecastType::kFallbackConsumption);
  ASSERT_EQ(ok->blocks.size(), 1U);
  EXPECT_EQ(ok->blocks[0].start, at("2030-01-01T09:00:00Z"));
  EXPECT_EQ(ok->blocks[0].end, at("2030-01-01T10:00:00Z"));  // zone-less (pyoscp): UTC

  auto bad_phase = parse_group_capacity_forecast(R"({"group_id":"g1","type":"CONSUMPTION",
      "forecasted_blocks":[{"capacity":16,"phase":"L1","unit":"A",
        "start_time":"2030-01-01T10:00:00Z","end_time":"2030-01-01T11:00:00Z"}]})");
  ASSERT_FALSE(bad_phase.has_value());
  EXPECT_NE(bad_phase.error().message.find("forecasted_blocks[0].phase"), std::string::npos);
  auto no_type = parse_group_capacity_forecast(R"({"group_id":"g1","forecasted_blocks":[]})");
  ASSERT_FALSE(no_type.has_value());
  EXPECT_NE(no_type.error().message.find("type: missing"), std::string::npos);
  auto bad_time = parse_group_capacity_forecast(R"({"group_id":"g1","type":"CONSUMPTION",
      "forecasted_blocks":[{"capacity":16,"phase":"ALL","unit":"A",
        "start_time":"tomorrow","end_time":"2030-01-01T11:00:00Z"}]})");
  ASSERT_FALSE(bad_time.has_value());
  EXPECT_NE(bad_time.error().message.find("start_time"), std::string::npos);
}

TEST(OscpForecast, ParsesGroupMappings) {
  auto groups = parse_oscp_groups("g1=site-a/grid, g2=site-b/board/1");
  ASSERT_TRUE(groups.has_value()) << groups.error().message;
  ASSERT_EQ(groups->size(), 2U);
  EXPECT_EQ(groups->at("g1").site_id, "site-a");
  EXPECT_EQ(groups->at("g1").node_id, "grid");
  EXPECT_EQ(groups->at("g2").node_id, "board/1");
  EXPECT_FALSE(parse_oscp_groups("g1=site-a").has_value());
  EXPECT_FALSE(parse_oscp_groups("g1=a/b,g1=c/d").has_value());
  EXPECT_TRUE(parse_oscp_groups("")->empty());
}

// --- the endpoints ----------------------------------------------------------------------------

struct AppliedForecast {
  std::string site_id;
  std::string node_id;
  std::vector<LimitSlot> slots;
};

// Records what the provider hands the service.
struct FakeService {
  std::mutex mutex;
  std::vector<AppliedForecast> applied;
  std::optional<Error> fail;

  SetForecast setter() {
    return [this](const std::string& site, const std::string& node,
                  std::vector<LimitSlot> slots) -> Result<void> {
      std::lock_guard lock(mutex);
      if (fail) return std::unexpected(*fail);
      applied.push_back({site, node, std::move(slots)});
      return {};
    };
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return applied.size();
  }
  AppliedForecast last() {
    std::lock_guard lock(mutex);
    return applied.back();
  }
};

http::ServerConfig local_server() {
  http::ServerConfig config;
  config.address = "127.0.0.1";
  config.port = 0;
  config.threads = 2;
  return config;
}

OscpSettings base_settings() {
  OscpSettings s;
  s.own_base_url = "http://127.0.0.1:1/oscp/fp/2.0";  // the port is fixed up once bound
  s.peer_base_url = "http://127.0.0.1:1/oscp/cp/2.0";
  s.accept_token = "token-for-us";
  s.send_token = "token-for-them";
  s.groups = {{"g1", OscpGroup{"site-a", "grid"}}};
  s.retry_initial = 20ms;
  s.retry_max = 200ms;
  s.heartbeat_interval = 50ms;
  s.measurement_interval = 50ms;
  s.client.connect_timeout = 500ms;
  s.client.total_timeout = 2000ms;
  return s;
}

std::string forecast_json(const std::string& group, const std::string& type, double amps,
                          const std::string& unit = "A") {
  return json::serialize(json::object{
      {"group_id", group},
      {"type", type},
      {"forecasted_blocks", json::array{json::object{{"capacity", amps},
                                                     {"phase", "ALL"},
                                                     {"unit", unit},
                                                     {"start_time", "2030-01-01T10:00:00Z"},
                                                     {"end_time", "2030-01-01T11:00:00Z"}}}}});
}

class OscpEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<http::Server>(local_server());
    provider_ = std::make_unique<OscpFlexibilityProvider>(base_settings(), service_.setter(),
                                                          nullptr, system_clock(), &registry_);
    provider_->install_routes(*server_);
    auto started = server_->start();
    ASSERT_TRUE(started.has_value()) << started.error().message;
    base_ = "http://127.0.0.1:" + std::to_string(server_->port()) + "/oscp/fp/2.0";
  }

  Result<http::Response> post(const std::string& endpoint, const std::string& body,
                              const std::string& authorization = "Token token-for-us") {
    std::vector<std::pair<std::string, std::string>> headers{{"X-Request-ID", "r1"}};
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    return client_.post_json(base_ + "/" + endpoint, body, headers);
  }

  prometheus::Registry registry_;
  FakeService service_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<OscpFlexibilityProvider> provider_;
  http::Client client_;
  std::string base_;
};

TEST_F(OscpEndpointsTest, ConsumptionForecastCapsTheGroupsNode) {
  auto r = post("update_group_capacity_forecast", forecast_json("g1", "CONSUMPTION", 32));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 204) << r->body;
  ASSERT_EQ(service_.count(), 1U);
  const AppliedForecast applied = service_.last();
  EXPECT_EQ(applied.site_id, "site-a");
  EXPECT_EQ(applied.node_id, "grid");
  ASSERT_EQ(applied.slots.size(), 1U);
  EXPECT_EQ(applied.slots[0].current_a, (PhaseCurrents{32, 32, 32}));
  EXPECT_EQ(applied.slots[0].from, at("2030-01-01T10:00:00Z"));

  // A generation forecast is accepted and changes nothing; a newer consumption one replaces.
  EXPECT_EQ(post("update_group_capacity_forecast", forecast_json("g1", "GENERATION", 5))->status,
            204);
  EXPECT_EQ(service_.count(), 1U);
  EXPECT_EQ(
      post("update_group_capacity_forecast", forecast_json("g1", "CONSUMPTION", 20, "KW"))->status,
      204);
  ASSERT_EQ(service_.count(), 2U);
  ASSERT_EQ(service_.last().slots.size(), 1U);
  EXPECT_EQ(service_.last().slots[0].power_kw, 20);
  EXPECT_FALSE(service_.last().slots[0].current_a.has_value());

  // An adjust caps on top: both slots go to the service.
  EXPECT_EQ(post("adjust_group_capacity_forecast", forecast_json("g1", "CONSUMPTION", 10))->status,
            204);
  EXPECT_EQ(service_.last().slots.size(), 2U);
}

TEST_F(OscpEndpointsTest, MissingTokenIs401AndUnknownTokenIs403) {
  auto none = post("update_group_capacity_forecast", forecast_json("g1", "CONSUMPTION", 32), "");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->status, 401);
  auto bearer = post("heartbeat", R"({"offline_mode_at":"2030-01-01T00:00:00Z"})", "Bearer x");
  EXPECT_EQ(bearer->status, 401);
  auto wrong = post("update_group_capacity_forecast", forecast_json("g1", "CONSUMPTION", 32),
                    "Token token-for-them");
  EXPECT_EQ(wrong->status, 403);
  EXPECT_NE(wrong->body.find("token"), std::string::npos);
  EXPECT_EQ(service_.count(), 0U);
}

TEST_F(OscpEndpointsTest, UnknownGroupIs404NamingIt) {
  auto r = post("update_group_capacity_forecast", forecast_json("nope", "CONSUMPTION", 32));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("nope"), std::string::npos);
  EXPECT_EQ(service_.count(), 0U);
}

TEST_F(OscpEndpointsTest, MalformedBodiesAre400NamingTheProblem) {
  auto not_json = post("update_group_capacity_forecast", "{\"group_id\": ");
  ASSERT_TRUE(not_json.has_value());
  EXPECT_EQ(not_json->status, 400);
  EXPECT_NE(not_json->body.find("not JSON"), std::string::npos);
  auto energy =
      post("update_group_capacity_forecast", forecast_json("g1", "CONSUMPTION", 5, "KWH"));
  EXPECT_EQ(energy->status, 400);
  EXPECT_NE(energy->body.find("unit"), std::string::npos);
  auto heartbeat = post("heartbeat", R"({"offline_mode_at": 12})");
  EXPECT_EQ(heartbeat->status, 400);
  EXPECT_NE(heartbeat->body.find("offline_mode_at"), std::string::npos);
  auto handshake = post("handshake", R"({"required_behaviour":{"heartbeat_interval":0}})");
  EXPECT_EQ(handshake->status, 400);
  auto reg =
      post("register", R"({"token":"t","version_url":[{"version":"2.1","base_url":"http://x"}]})");
  EXPECT_EQ(reg->status, 400);
  EXPECT_NE(reg->body.find("2.0"), std::string::npos);
  EXPECT_EQ(service_.count(), 0U);
}

TEST_F(OscpEndpointsTest, AServiceThatDoesNotKnowTheNodeMakesIt404) {
  {
    std::lock_guard lock(service_.mutex);
    service_.fail = Error{ErrorCode::kNotFound, "no site site-a"};
  }
  auto r = post("update_group_capacity_forecast", forecast_json("g1", "CONSUMPTION", 32));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("site-a"), std::string::npos);
}

// --- against a capacity provider ----------------------------------------------------------------

// A capacity provider in process: records what it receives; answers a Register with its own
// (a fresh token), as OSCP prescribes and pyoscp does, from inside the request.
class CapacityProvider {
 public:
  explicit CapacityProvider(int port = 0) {
    auto config = local_server();
    config.port = port;
    server_ = std::make_unique<http::Server>(config);
    for (const char* name : {"register", "handshake", "handshake_acknowledge", "heartbeat",
                             "update_group_measurements"}) {
      server_->route("POST", std::string("/oscp/cp/2.0/") + name,
                     [this, name](const http::Request& req) { return receive(name, req); });
    }
  }
  Result<void> start() { return server_->start(); }
  int port() const { return server_->port(); }
  std::string base_url() const {
    return "http://127.0.0.1:" + std::to_string(port()) + "/oscp/cp/2.0";
  }

  struct Received {
    std::string message;
    std::string authorization;
    std::string correlation;
    json::value body;
  };
  std::vector<Received> received(const std::string& message) {
    std::lock_guard lock(mutex_);
    std::vector<Received> out;
    for (const auto& r : received_) {
      if (r.message == message) out.push_back(r);
    }
    return out;
  }

  http::Client client;

 private:
  http::Response receive(const std::string& message, const http::Request& req) {
    Received r{message, std::string(req.header("authorization")),
               std::string(req.header("x-correlation-id")), json::parse(req.body)};
    {
      std::lock_guard lock(mutex_);
      received_.push_back(r);
    }
    if (message == "register" && r.correlation.empty()) {
      const auto& o = r.body.as_object();
      const std::string fp_url(
          o.at("version_url").as_array()[0].as_object().at("base_url").as_string());
      const std::string fp_token(o.at("token").as_string());
      json::object reply{
          {"token", "rotated-token"},
          {"version_url", json::array{json::object{{"version", "2.0"}, {"base_url", base_url()}}}}};
      auto sent = client.post_json(fp_url + "/register", json::serialize(reply),
                                   {{"Authorization", "Token " + fp_token},
                                    {"X-Request-ID", "cp-1"},
                                    {"X-Correlation-ID", std::string(req.header("x-request-id"))}});
      if (!sent || sent->status != 204) return http::Response::text(500, "reply refused");
    }
    http::Response ok;
    ok.status = 204;
    return ok;
  }

  std::unique_ptr<http::Server> server_;
  std::mutex mutex_;
  std::vector<Received> received_;
};

// A port nothing listens on (a server bound to port 0, then closed).
int free_port() {
  http::Server probe(local_server());
  EXPECT_TRUE(probe.start().has_value());
  return probe.port();
}

// The flexibility provider on its own server. The routes must exist before the server starts
// and the provider must know its URL to send it in Register: so the port is chosen first.
struct Wired {
  std::unique_ptr<http::Server> server;
  std::unique_ptr<OscpFlexibilityProvider> provider;
  std::string base_url;
};

Wired wire(OscpSettings settings, FakeService& service, prometheus::Registry* registry,
           MeasureUsage usage = nullptr) {
  Wired w;
  auto config = local_server();
  config.port = free_port();
  w.base_url = "http://127.0.0.1:" + std::to_string(config.port) + "/oscp/fp/2.0";
  settings.own_base_url = w.base_url;
  w.server = std::make_unique<http::Server>(config);
  w.provider = std::make_unique<OscpFlexibilityProvider>(
      settings, service.setter(), std::move(usage), system_clock(), registry);
  w.provider->install_routes(*w.server);
  EXPECT_TRUE(w.server->start().has_value());
  return w;
}

const json::value& field(const json::value& v, std::string_view key) {
  return v.as_object().at(key);
}

TEST(OscpProvider, RegistersHandshakesThenHeartbeatsAndReportsUsageWithTheRotatedToken) {
  CapacityProvider cp;
  ASSERT_TRUE(cp.start().has_value());
  FakeService service;
  prometheus::Registry registry;
  OscpSettings settings = base_settings();
  settings.peer_base_url = cp.base_url();
  auto w = wire(settings, service, &registry,
                [](const std::string& site, const std::string& node) -> std::optional<NodeUsage> {
                  if (site != "site-a" || node != "grid") return std::nullopt;
                  return NodeUsage{.current_a = std::nullopt, .power_kw = 36.0};
                });
  OscpFlexibilityProvider& provider = *w.provider;
  settings.own_base_url = w.base_url;
  provider.start();

  ASSERT_TRUE(eventually([&] { return !cp.received("handshake").empty(); }));
  const auto reg = cp.received("register");
  ASSERT_FALSE(reg.empty());
  EXPECT_EQ(reg[0].authorization, "Token token-for-them");
  EXPECT_EQ(field(reg[0].body, "token").as_string(), "token-for-us");
  EXPECT_EQ(field(field(reg[0].body, "version_url").as_array()[0], "base_url").as_string(),
            settings.own_base_url);
  const auto handshake = cp.received("handshake");
  EXPECT_EQ(handshake[0].authorization, "Token rotated-token");
  EXPECT_EQ(field(field(handshake[0].body, "required_behaviour"), "heartbeat_interval").as_int64(),
            1);
  // The state moves once the 204 to the Handshake is back.
  EXPECT_TRUE(eventually([&] { return provider.state() == OscpState::kHandshakeSent; }));

  // The capacity provider acknowledges (pyoscp's spelling of the endpoint).
  auto ack = cp.client.post_json(settings.own_base_url + "/handshake_acknowledgment",
                                 R"({"required_behaviour":{"measurement_configuration":[]}})",
                                 {{"Authorization", "Token token-for-us"}, {"X-Request-ID", "a"}});
  ASSERT_TRUE(ack.has_value()) << ack.error().message;
  EXPECT_EQ(ack->status, 204);
  EXPECT_EQ(provider.state(), OscpState::kConnected);

  ASSERT_TRUE(eventually([&] { return cp.received("heartbeat").size() >= 2; }));
  const auto beat = cp.received("heartbeat")[0];
  EXPECT_EQ(beat.authorization, "Token rotated-token");
  EXPECT_TRUE(parse_rfc3339(std::string(field(beat.body, "offline_mode_at").as_string())));

  // Usage: an energy register that grows with the 36 kW the node draws.
  ASSERT_TRUE(eventually([&] {
    for (const auto& m : cp.received("update_group_measurements")) {
      const auto& list = field(m.body, "measurements").as_array();
      if (!list.empty() && field(list[0], "value").to_number<double>() > 0) return true;
    }
    return false;
  }));
  const auto measured = cp.received("update_group_measurements").back().body;
  EXPECT_EQ(field(measured, "group_id").as_string(), "g1");
  const auto& m = field(measured, "measurements").as_array()[0];
  EXPECT_EQ(field(m, "unit").as_string(), "WH");
  EXPECT_EQ(field(m, "phase").as_string(), "ALL");
  EXPECT_EQ(field(m, "direction").as_string(), "IMPORT");

  // A fallback forecast caps only once the capacity provider's heartbeat promise has passed.
  auto post = [&](const std::string& endpoint, const std::string& body) {
    return cp.client.post_json(settings.own_base_url + "/" + endpoint, body,
                               {{"Authorization", "Token token-for-us"}, {"X-Request-ID", "f"}});
  };
  ASSERT_EQ(post("update_group_capacity_forecast", forecast_json("g1", "FALLBACK_CONSUMPTION", 8))
                ->status,
            204);
  ASSERT_EQ(service.count(), 1U);
  EXPECT_TRUE(service.last().slots.empty());
  EXPECT_FALSE(provider.peer_offline());
  const std::string soon = format_rfc3339(std::chrono::system_clock::now() + 100ms);
  ASSERT_EQ(post("heartbeat", "{\"offline_mode_at\":\"" + soon + "\"}")->status, 204);
  ASSERT_TRUE(eventually([&] { return provider.peer_offline(); }));
  ASSERT_TRUE(eventually([&] { return service.count() >= 2 && service.last().slots.size() == 1; }));
  EXPECT_EQ(service.last().slots[0].current_a, (PhaseCurrents{8, 8, 8}));
  const std::string later = format_rfc3339(std::chrono::system_clock::now() + 1h);
  ASSERT_EQ(post("heartbeat", "{\"offline_mode_at\":\"" + later + "\"}")->status, 204);
  EXPECT_FALSE(provider.peer_offline());
  EXPECT_TRUE(service.last().slots.empty());
  provider.stop();
}

TEST(OscpProvider, ThePeersRegisterIsHandedOnToBeKeptAcrossRestarts) {
  CapacityProvider cp;
  ASSERT_TRUE(cp.start().has_value());
  FakeService service;
  OscpSettings settings = base_settings();
  settings.peer_base_url = cp.base_url();
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> kept;
  settings.on_peer_registered = [&](const std::string& token, const std::string& base_url) {
    std::lock_guard lock(mutex);
    kept.emplace_back(token, base_url);
  };
  auto w = wire(settings, service, nullptr);
  w.provider->start();
  ASSERT_TRUE(eventually([&] { return !cp.received("handshake").empty(); }));
  w.provider->stop();
  std::lock_guard lock(mutex);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].first, "rotated-token");
  EXPECT_EQ(kept[0].second, cp.base_url());
}

TEST(OscpProvider, AcknowledgesThePeersHandshakeAndHeartbeatsAtTheIntervalItAsks) {
  CapacityProvider cp;
  ASSERT_TRUE(cp.start().has_value());
  FakeService service;
  OscpSettings settings = base_settings();
  settings.peer_base_url = cp.base_url();
  settings.heartbeat_interval = 10s;  // ours, until the peer asks for another
  auto w = wire(settings, service, nullptr);
  w.provider->start();
  ASSERT_TRUE(eventually([&] { return w.provider->state() == OscpState::kHandshakeSent; }));
  auto r = cp.client.post_json(w.base_url + "/handshake",
                               R"({"required_behaviour":{"heartbeat_interval":1}})",
                               {{"Authorization", "Token token-for-us"}, {"X-Request-ID", "h"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 204);
  ASSERT_TRUE(eventually([&] { return !cp.received("handshake_acknowledge").empty(); }));
  const auto ack = cp.received("handshake_acknowledge")[0];
  EXPECT_EQ(ack.authorization, "Token rotated-token");
  EXPECT_TRUE(field(ack.body, "required_behaviour").is_object());
  EXPECT_TRUE(eventually([&] { return w.provider->state() == OscpState::kConnected; }));
  // The peer asked for one a second: the second heartbeat comes after about 1 s, not 10 s.
  ASSERT_TRUE(eventually([&] { return cp.received("heartbeat").size() >= 2; }));
  w.provider->stop();
}

TEST(OscpProvider, BacksOffWhileThePeerIsDownAndRegistersOnceItIsUp) {
  // A free port for the capacity provider, nothing listening on it yet.
  const int cp_port = free_port();
  FakeService service;
  prometheus::Registry registry;
  OscpSettings settings = base_settings();
  settings.peer_base_url = "http://127.0.0.1:" + std::to_string(cp_port) + "/oscp/cp/2.0";
  auto w = wire(settings, service, &registry);
  w.provider->start();
  auto failed_registers = [&] {
    for (const auto& family : registry.Collect()) {
      if (family.name != "switchyard_oscp_requests_sent_total") continue;
      for (const auto& metric : family.metric) {
        bool reg = false, error = false;
        for (const auto& label : metric.label) {
          reg |= label.name == "message" && label.value == "Register";
          error |= label.name == "status" && label.value == "error";
        }
        if (reg && error) return metric.counter.value;
      }
    }
    return 0.0;
  };
  ASSERT_TRUE(eventually([&] { return failed_registers() >= 3; }));
  EXPECT_EQ(w.provider->state(), OscpState::kUnregistered);

  CapacityProvider cp(cp_port);
  ASSERT_TRUE(cp.start().has_value());
  // Back-off is capped at retry_max (200 ms): the next attempt lands.
  ASSERT_TRUE(eventually([&] { return !cp.received("handshake").empty(); }));
  EXPECT_TRUE(eventually([&] { return w.provider->state() == OscpState::kHandshakeSent; }));
  w.provider->stop();
}

}  // namespace
}  // namespace switchyard::smart_charging

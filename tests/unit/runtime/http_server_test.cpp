// The HTTP side server: routing, errors with bodies, health and metrics routes.
#include "common/runtime/http/server.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "common/runtime/http/health.h"
#include "support/http_client.h"

namespace switchyard::http {
namespace {

using switchyard::testing::http_get;
using switchyard::testing::http_request;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig config;
    config.address = "127.0.0.1";
    config.port = 0;
    config.body_limit = 1024;
    server_ = std::make_unique<Server>(config);
  }
  int start() {
    auto r = server_->start();
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return server_->port();
  }
  std::unique_ptr<Server> server_;
};

TEST_F(HttpServerTest, RoutesExactPathsAndPrefixes) {
  server_->route("GET", "/a", [](const Request&) { return Response::text(200, "exact"); });
  server_->route_prefix("GET", "/p/",
                        [](const Request& r) { return Response::text(200, "prefix " + r.path); });
  server_->route_prefix("GET", "/p/long/",
                        [](const Request&) { return Response::text(200, "longest"); });
  const int port = start();
  EXPECT_EQ(http_get("127.0.0.1", port, "/a").body, "exact");
  EXPECT_EQ(http_get("127.0.0.1", port, "/p/x?y=1").body, "prefix /p/x");
  EXPECT_EQ(http_get("127.0.0.1", port, "/p/long/z").body, "longest");
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405WithABody) {
  server_->route("GET", "/a", [](const Request&) { return Response::text(200, "ok"); });
  const int port = start();
  auto missing = http_get("127.0.0.1", port, "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("/nope"), std::string::npos);
  auto wrong = http_request("127.0.0.1", port, "DELETE", "/a");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_NE(wrong.body.find("DELETE"), std::string::npos);
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  server_->route("POST", "/in", [](const Request&) { return Response::text(200, "ok"); });
  const int port = start();
  auto r = http_request("127.0.0.1", port, "POST", "/in", std::string(4096, 'x'));
  EXPECT_EQ(r.status, 413);
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndServerGoesOn) {
  server_->route("GET", "/boom", [](const Request&) -> Response { throw std::runtime_error("x"); });
  server_->route("GET", "/ok", [](const Request&) { return Response::text(200, "ok"); });
  const int port = start();
  EXPECT_EQ(http_get("127.0.0.1", port, "/boom").status, 500);
  EXPECT_EQ(http_get("127.0.0.1", port, "/ok").status, 200);
}

TEST_F(HttpServerTest, PassesHeadersQueryAndBody) {
  server_->route("POST", "/echo", [](const Request& r) {
    return Response::text(200, std::string(r.header("x-request-id")) + "|" +
                                   r.query_param("q").value_or("-") + "|" + r.body);
  });
  const int port = start();
  auto r = http_request("127.0.0.1", port, "POST", "/echo?q=a%20b&z=1", "payload",
                        {{"X-Request-ID", "abc"}});
  EXPECT_EQ(r.body, "abc|a b|payload");
}

TEST_F(HttpServerTest, TakenPortIsAClearError) {
  const int port = start();
  ServerConfig config;
  config.address = "127.0.0.1";
  config.port = port;
  Server second(config);
  auto r = second.start();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(r.error().message.find(std::to_string(port)), std::string::npos) << r.error().message;
}

TEST_F(HttpServerTest, HealthReadinessAndMetrics) {
  prometheus::Registry registry;
  auto& counter = prometheus::BuildCounter()
                      .Name("switchyard_test_things_total")
                      .Help("things")
                      .Register(registry)
                      .Add({});
  counter.Increment(3);
  Health health;
  bool db_up = false;
  health.add_readiness_check(
      "database", [&] { return db_up ? std::nullopt : std::optional<std::string>("down"); });
  add_observability_routes(*server_, registry, health);
  const int port = start();

  EXPECT_EQ(http_get("127.0.0.1", port, "/healthz").status, 200);
  auto not_ready = http_get("127.0.0.1", port, "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("database: down"), std::string::npos) << not_ready.body;
  db_up = true;
  EXPECT_EQ(http_get("127.0.0.1", port, "/readyz").status, 200);
  health.set_draining(true);
  EXPECT_EQ(http_get("127.0.0.1", port, "/readyz").status, 503);

  auto metrics = http_get("127.0.0.1", port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.header("content-type").find("version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.body.find("switchyard_test_things_total 3"), std::string::npos) << metrics.body;
}

TEST(UrlDecode, DecodesEscapesAndRejectsBrokenOnes) {
  EXPECT_EQ(url_decode("CP%201%7C2"), "CP 1|2");
  EXPECT_EQ(url_decode("plain"), "plain");
  EXPECT_FALSE(url_decode("bad%2"));
  EXPECT_FALSE(url_decode("bad%zz"));
}

TEST(HttpServerTls, FilesThatDoNotLoadStopTheStartNamingTheFile) {
  ServerConfig config;
  config.address = "127.0.0.1";
  config.port = 0;
  config.tls_certificate = "/nonexistent/server.pem";
  config.tls_key = "/nonexistent/server.key";
  Server server(config);
  auto started = server.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(started.error().message.find("/nonexistent/server.pem"), std::string::npos)
      << started.error().message;
}

}  // namespace
}  // namespace switchyard::http

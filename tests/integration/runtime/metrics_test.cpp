// The /metrics endpoint serves valid Prometheus text with the runtime adapters' metrics, as
// checked by promtool (Debian's prometheus package) when it is installed.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <fstream>

#include "common/runtime/http/health.h"
#include "common/runtime/http/server.h"
#include "common/runtime/kafka/producer.h"
#include "common/runtime/postgres/pool.h"
#include "common/runtime/redis/client.h"
#include "support/environment.h"
#include "support/http_client.h"

namespace switchyard {
namespace {

TEST(MetricsEndpoint, ServesValidPrometheusTextWithAdapterMetrics) {
  auto brokers = testing::kafka_brokers();
  SWITCHYARD_REQUIRE(brokers, "Kafka");
  auto redis_address = testing::redis_address();
  SWITCHYARD_REQUIRE(redis_address, "Redis");
  auto pg_url = testing::postgres_url();
  SWITCHYARD_REQUIRE(pg_url, "PostgreSQL");

  prometheus::Registry registry;
  kafka::ProducerConfig kc;
  kc.brokers = *brokers;
  auto producer = kafka::Producer::create(kc, &registry);
  ASSERT_TRUE(producer);
  ASSERT_TRUE(
      (*producer)->produce(testing::unique_name("t"), "k", "v", [](Result<kafka::Delivery>) {}));
  ASSERT_TRUE((*producer)->flush(std::chrono::seconds(30)));

  redis::Config rc;
  rc.host = redis_address->substr(0, redis_address->find(':'));
  rc.port = std::stoi(redis_address->substr(redis_address->find(':') + 1));
  auto redis = redis::Client::create(rc, &registry);
  ASSERT_TRUE(redis->execute_sync({"PING"}));

  postgres::Config pc;
  pc.url = *pg_url;
  auto pool = postgres::Pool::create(pc, &registry);
  ASSERT_TRUE(pool);
  ASSERT_TRUE((*pool)->acquire().value()->exec("SELECT 1"));

  http::ServerConfig hc;
  hc.address = "127.0.0.1";
  hc.port = 0;
  http::Server server(hc);
  http::Health health;
  http::add_observability_routes(server, registry, health);
  ASSERT_TRUE(server.start());

  auto r = testing::http_get("127.0.0.1", server.port(), "/metrics");
  ASSERT_EQ(r.status, 200) << r.error;
  for (const char* name :
       {"switchyard_kafka_produce_latency_seconds_bucket",
        "switchyard_kafka_produced_total{result=\"ok\"} 1",
        "switchyard_redis_round_trip_seconds_count", "switchyard_postgres_query_seconds_count"}) {
    EXPECT_NE(r.body.find(name), std::string::npos) << name << " missing in:\n" << r.body;
  }

  int which = 0;
  testing::run_command("command -v promtool >/dev/null", &which);
  if (which != 0) {
    if (testing::in_ci()) FAIL() << "promtool missing (apt-get install prometheus)";
    GTEST_SKIP() << "SKIPPED: promtool not installed; the text was checked by substring only";
  }
  const std::string path = ::testing::TempDir() + "/metrics.txt";
  std::ofstream(path) << r.body;
  int code = 0;
  const std::string out = testing::run_command("promtool check metrics < " + path + " 2>&1", &code);
  EXPECT_EQ(code, 0) << out;
}

}  // namespace
}  // namespace switchyard

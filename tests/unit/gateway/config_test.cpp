// A pod's listeners each need a port of their own; defaults that were measured stay put.
#include "gateway/config.h"

#include <gtest/gtest.h>

namespace switchyard::gateway {
namespace {

TEST(CheckPorts, TheDefaultsAndSystemPickedPortsPass) {
  GatewayConfig c;
  EXPECT_TRUE(check_ports(c));
  c.ws_port = c.grpc_port = c.http_port = 0;
  EXPECT_TRUE(check_ports(c));
}

TEST(CheckPorts, TwoListenersOnOnePortAreRefusedNamingBothFlags) {
  GatewayConfig c;
  c.grpc_port = c.ws_port;
  auto r = check_ports(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message,
            "--ws-port and --grpc-port are both 9000: each listener needs a port of its own");

  GatewayConfig tls;
  tls.tls_certificate = "server.pem";
  tls.http_port = tls.wss_port;
  ASSERT_FALSE(check_ports(tls));
  EXPECT_NE(check_ports(tls).error().message.find("--wss-port and --http-port"), std::string::npos);
}

TEST(CheckPorts, TheWssPortCountsOnlyWithACertificate) {
  GatewayConfig c;  // no certificate: no TLS listener
  c.http_port = c.wss_port;
  EXPECT_TRUE(check_ports(c));
}

// Measured (kafka::kDefaultLinger): 15,000 chargers of `fleet`, librdkafka's broker thread
// 2.6-3.1 % of a core at 0 ms against 4.1-5.3 % at 1 ms (one wake-up less per event); 1 ms
// batches more under saturation (1,000 chargers: 55,000-65,000 against 47,000-54,000 msgs/s).
TEST(KafkaLinger, TheDefaultIsNone) {
  EXPECT_EQ(GatewayConfig{}.kafka_linger, std::chrono::milliseconds(0));
  EXPECT_EQ(kafka::ProducerConfig{}.linger, GatewayConfig{}.kafka_linger);
}

// --io-coalesce delays answers by up to its value: 10 ms by default from 5,000 connections on
// an I/O thread (measured: 15,000 chargers of `fleet`, 0.56-0.67x of the CPU), bounded, named when
// refused.
TEST(CheckIoCoalesce, TenMsFrom5000ConnectionsByDefaultAndBounded) {
  GatewayConfig c;
  EXPECT_EQ(c.io_coalesce, std::chrono::milliseconds(10));
  EXPECT_EQ(c.io_coalesce_from_connections, 5000);
  EXPECT_TRUE(check_io_coalesce(c));
  c.io_coalesce = std::chrono::milliseconds(100);
  EXPECT_TRUE(check_io_coalesce(c));
  c.io_coalesce = std::chrono::milliseconds(0);
  EXPECT_TRUE(check_io_coalesce(c));
  for (int bad : {101, -1}) {
    c.io_coalesce = std::chrono::milliseconds(bad);
    auto r = check_io_coalesce(c);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message, "--io-coalesce " + std::to_string(bad) +
                                     " ms: must be 0 (off) to 100 ms (each hop of a CALL may "
                                     "wait that long)");
  }
  c.io_coalesce = std::chrono::milliseconds(10);
  for (std::int64_t good : {0, 1, 10'000'000}) {
    c.io_coalesce_from_connections = good;
    EXPECT_TRUE(check_io_coalesce(c)) << good;
  }
  for (std::int64_t bad : {-1, 10'000'001}) {
    c.io_coalesce_from_connections = bad;
    auto r = check_io_coalesce(c);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message, "--io-coalesce-from-connections " + std::to_string(bad) +
                                     ": must be 0 (at any count) to 10000000");
  }
}

// What the binaries run before they start: every check, the first failure named.
TEST(CheckConfig, RunsEveryCheck) {
  EXPECT_TRUE(check_config(GatewayConfig{}));
  GatewayConfig ports;
  ports.grpc_port = ports.ws_port;
  ASSERT_FALSE(check_config(ports));
  EXPECT_EQ(check_config(ports).error().message, check_ports(ports).error().message);
  GatewayConfig coalesce;
  coalesce.io_coalesce = std::chrono::milliseconds(101);
  ASSERT_FALSE(check_config(coalesce));
  EXPECT_EQ(check_config(coalesce).error().message, check_io_coalesce(coalesce).error().message);
}

}  // namespace
}  // namespace switchyard::gateway

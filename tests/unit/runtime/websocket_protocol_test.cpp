// The loadgen's WebSocket client framing and upgrade handshake (RFC 6455).
#include "common/runtime/websocket/protocol.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace switchyard::websocket {
namespace {

TEST(WsProtocolTest, AcceptKeyIsTheOneOfTheRfc) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsProtocolTest, KeysAreSixteenBytesOfBase64AndDiffer) {
  const std::string a = make_key(1);
  EXPECT_EQ(a.size(), 24u);
  EXPECT_EQ(a.substr(22), "==");
  EXPECT_NE(a, make_key(2));
}

TEST(WsProtocolTest, UpgradeRequestCarriesProtocolAndAuthorization) {
  const std::string request =
      upgrade_request("127.0.0.1:9000", "/ocpp/lg-000001", "KEY", "ocpp1.6", "Basic eDp5");
  EXPECT_TRUE(request.starts_with("GET /ocpp/lg-000001 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"));
  EXPECT_NE(request.find("Sec-WebSocket-Key: KEY\r\n"), std::string::npos);
  EXPECT_NE(request.find("Sec-WebSocket-Protocol: ocpp1.6\r\n"), std::string::npos);
  EXPECT_NE(request.find("Authorization: Basic eDp5\r\n"), std::string::npos);
  EXPECT_TRUE(request.ends_with("\r\n\r\n"));
  const std::string bare = upgrade_request("h", "/", "K", "", "");
  EXPECT_EQ(bare.find("Authorization"), std::string::npos);
  EXPECT_EQ(bare.find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(WsProtocolTest, ParsesTheUpgradeAnswer) {
  const std::string answer =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "sec-websocket-accept: abc=\r\nSec-WebSocket-Protocol:  ocpp2.0.1 \r\n\r\n\x81\x02{}";
  EXPECT_FALSE(parse_upgrade_response(answer.substr(0, 40)));  // incomplete
  const auto r = parse_upgrade_response(answer);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 101);
  EXPECT_EQ(r->accept, "abc=");
  EXPECT_EQ(r->protocol, "ocpp2.0.1");
  EXPECT_EQ(answer.substr(r->header_bytes), "\x81\x02{}");  // a frame right behind the head

  const auto refused =
      parse_upgrade_response("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_FALSE(refused->retry_after_s);
  const auto overloaded = parse_upgrade_response(
      "HTTP/1.1 503 Service Unavailable\r\nretry-after:  17 \r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(overloaded);
  EXPECT_EQ(overloaded->status, 503);
  EXPECT_EQ(overloaded->retry_after_s, 17);
  // An HTTP-date (or anything but delta-seconds) is not read as a wait.
  const auto dated = parse_upgrade_response(
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n\r\n");
  ASSERT_TRUE(dated);
  EXPECT_FALSE(dated->retry_after_s);
  const auto garbage = parse_upgrade_response("SSH-2.0-OpenSSH\r\n\r\n");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 0);
}

TEST(WsProtocolTest, ClientFramesAreMaskedAndReadBack) {
  for (std::size_t size : {0u, 5u, 125u, 126u, 1000u, 65535u, 65536u, 70000u}) {
    const std::string payload(size, 'x');
    std::string frame;
    append_frame(frame, kText, payload, 0xA1B2C3D4u);
    const auto header = parse_frame(frame);
    ASSERT_TRUE(header) << size;
    EXPECT_TRUE(header->fin);
    EXPECT_EQ(header->opcode, kText);
    EXPECT_TRUE(header->masked);
    EXPECT_EQ(header->length, size);
    EXPECT_EQ(header->header_bytes + size, frame.size());
    std::string body = frame.substr(header->header_bytes);
    if (size > 0) {
      EXPECT_NE(body, payload) << "masked on the wire";
    }
    apply_mask(body.data(), body.size(), header->mask);
    EXPECT_EQ(body, payload) << size;
    EXPECT_FALSE(parse_frame(std::string_view(frame).substr(0, frame.size() - 1))) << size;
  }
}

TEST(WsProtocolTest, ReadsUnmaskedServerFrames) {
  const std::string frames = std::string("\x81\x05hello", 7) + std::string("\x89\x00", 2);
  const auto first = parse_frame(frames);
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->masked);
  EXPECT_EQ(frames.substr(first->header_bytes, first->length), "hello");
  const auto second = parse_frame(std::string_view(frames).substr(first->header_bytes + 5));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->opcode, kPing);
  EXPECT_EQ(second->length, 0u);
  EXPECT_FALSE(parse_frame("\x81"));
}

TEST(WsProtocolTest, ReadBufferKeepsUnconsumedBytesAcrossGrowth) {
  ReadBuffer buffer;
  auto [p, n] = buffer.prepare(4);
  ASSERT_GE(n, 4u);
  std::memcpy(p, "abcd", 4);
  buffer.commit(4);
  buffer.consume(1);
  auto [q, m] = buffer.prepare(10'000);
  ASSERT_GE(m, 10'000u);
  std::memcpy(q, "ef", 2);
  buffer.commit(2);
  EXPECT_EQ(buffer.data(), "bcdef");
  buffer.consume(5);
  EXPECT_TRUE(buffer.data().empty());
  buffer.shrink(1024);
  EXPECT_EQ(buffer.capacity(), 0u);
}

}  // namespace
}  // namespace switchyard::websocket

// Upgrade request checks: charger id from the path, subprotocol negotiation, Basic auth.
#include "gateway/upgrade.h"

#include <gtest/gtest.h>

#include "common/runtime/core/base64.h"

namespace switchyard::gateway {
namespace {

TEST(ChargerIdFromTarget, DecodesTheLastSegment) {
  EXPECT_EQ(charger_id_from_target("/ocpp/CP1", "/ocpp/").value(), "CP1");
  EXPECT_EQ(charger_id_from_target("/ocpp/CP%2D1?x=1", "/ocpp/").value(), "CP-1");
  EXPECT_EQ(charger_id_from_target("/ocpp/DE*ABC*E1|2", "/ocpp/").value(), "DE*ABC*E1|2");
}

TEST(ChargerIdFromTarget, WrongPrefixOrExtraSegmentsAreNotFound) {
  EXPECT_EQ(charger_id_from_target("/other/CP1", "/ocpp/").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(charger_id_from_target("/ocpp/a/b", "/ocpp/").error().code, ErrorCode::kNotFound);
}

TEST(ChargerIdFromTarget, BadIdsAreInvalid) {
  for (std::string_view t :
       {"/ocpp/", "/ocpp/a%2", "/ocpp/a%3Ab", "/ocpp/a%20b", "/ocpp/a%0Ab", "/ocpp/%C3%A9"}) {
    auto r = charger_id_from_target(t, "/ocpp/");
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << t;
  }
  const std::string id48(48, 'x');
  EXPECT_TRUE(charger_id_from_target("/ocpp/" + id48, "/ocpp/"));
  EXPECT_FALSE(charger_id_from_target("/ocpp/" + id48 + "x", "/ocpp/"));
}

TEST(NegotiateSubprotocol, PicksTheHighestVersionBothSpeakWhateverTheClientOrder) {
  const std::vector<std::string> all{"ocpp2.1", "ocpp2.0.1", "ocpp1.6"};
  EXPECT_EQ(negotiate_subprotocol("ocpp1.6, ocpp2.0.1", all), "ocpp2.0.1");
  EXPECT_EQ(negotiate_subprotocol("ocpp2.1,ocpp1.6", {"ocpp1.6"}), "ocpp1.6");
  EXPECT_EQ(negotiate_subprotocol(" ocpp1.6 ", all), "ocpp1.6");
}

TEST(NegotiateSubprotocol, NothingInCommonIsNoProtocolNotAGuess) {
  EXPECT_FALSE(negotiate_subprotocol("ocpp1.5", {"ocpp1.6", "ocpp2.0.1"}));
  EXPECT_FALSE(negotiate_subprotocol("", {"ocpp1.6"}));
  EXPECT_FALSE(negotiate_subprotocol("ocpp2.1", {"ocpp1.6"}));
}

TEST(BasicAuth, ParsesUserAndPasswordWithColons) {
  const auto creds = parse_basic_auth("Basic " + base64_encode("CP1:pa:ss"));
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->user, "CP1");
  EXPECT_EQ(creds->password, "pa:ss");
  EXPECT_TRUE(parse_basic_auth("basic " + base64_encode("a:b")));
}

TEST(BasicAuth, RejectsOtherSchemesAndBrokenBase64) {
  EXPECT_FALSE(parse_basic_auth("Bearer abc"));
  EXPECT_FALSE(parse_basic_auth("Basic !!!"));
  EXPECT_FALSE(parse_basic_auth("Basic " + base64_encode("no-colon")));
  EXPECT_FALSE(parse_basic_auth(""));
}

TEST(WebSocketRequest, AcceptsTheRfcsExampleAndAnswersItsAcceptKey) {
  EXPECT_FALSE(check_websocket_request("GET", 11, "dGhlIHNhbXBsZSBub25jZQ==", "13"));
  const auto response = switching_protocols("dGhlIHNhbXBsZSBub25jZQ==", "ocpp1.6");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
  EXPECT_NE(response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_NE(response.find("Sec-WebSocket-Protocol: ocpp1.6\r\n"), std::string::npos);
  EXPECT_TRUE(response.ends_with("\r\n\r\n"));
  EXPECT_EQ(switching_protocols("dGhlIHNhbXBsZSBub25jZQ==", "").find("Sec-WebSocket-Protocol"),
            std::string::npos);
}

TEST(WebSocketRequest, RefusesWhatRfc6455Refuses) {
  const auto version = check_websocket_request("GET", 11, "dGhlIHNhbXBsZSBub25jZQ==", "8");
  ASSERT_TRUE(version);
  EXPECT_EQ(version->status, 426);
  EXPECT_EQ(version->reason, "websocket_version");
  const auto post = check_websocket_request("POST", 11, "dGhlIHNhbXBsZSBub25jZQ==", "13");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 400);
  EXPECT_EQ(check_websocket_request("GET", 10, "dGhlIHNhbXBsZSBub25jZQ==", "13")->status, 400);
  const auto key = check_websocket_request("GET", 11, "c2hvcnQ=", "13");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->status, 400);
  EXPECT_NE(key->detail.find("Sec-WebSocket-Key"), std::string::npos);
  EXPECT_TRUE(check_websocket_request("GET", 11, "", "13"));
}

}  // namespace
}  // namespace switchyard::gateway

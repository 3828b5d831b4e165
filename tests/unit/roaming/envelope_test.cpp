// OCPI envelope, request ids, token codec and the Credentials object's checks.
#include "roaming/ocpi_envelope.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "common/runtime/core/base64.h"
#include "roaming/ocpi_types.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

const auto kAt = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

TEST(OcpiEnvelope, TimestampIsUtcWithZ) {
  EXPECT_EQ(ocpi_timestamp(kAt + std::chrono::milliseconds(999)), "2027-01-15T08:00:00Z");
}

TEST(OcpiEnvelope, CarriesDataStatusMessageAndTimestamp) {
  auto v = json::parse(envelope_json(OcpiStatus::kSuccess, "ok \"quoted\"", R"({"a":1})", kAt));
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("data").as_object().at("a").as_int64(), 1);
  EXPECT_EQ(o.at("status_code").as_int64(), 1000);
  EXPECT_EQ(o.at("status_message").as_string(), "ok \"quoted\"");
  EXPECT_EQ(o.at("timestamp").as_string(), "2027-01-15T08:00:00Z");
}

TEST(OcpiEnvelope, LeavesDataOutWhenThereIsNone) {
  auto v = json::parse(envelope_json(OcpiStatus::kInvalidParameters, "token: missing", "", kAt));
  EXPECT_FALSE(v.as_object().contains("data"));
  EXPECT_EQ(v.as_object().at("status_code").as_int64(), 2001);
  auto r = envelope_response(401, OcpiStatus::kClientError, "x", "", kAt);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.content_type, "application/json");
}

TEST(OcpiEnvelope, StatusCodesAreTheSpecs) {
  EXPECT_EQ(static_cast<int>(OcpiStatus::kUnknownToken), 2004);
  EXPECT_EQ(static_cast<int>(OcpiStatus::kClientApiUnusable), 3001);
  EXPECT_EQ(static_cast<int>(OcpiStatus::kUnsupportedVersion), 3002);
  EXPECT_EQ(static_cast<int>(OcpiStatus::kMissingEndpoints), 3003);
}

std::string header(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

TEST(OcpiEnvelope, EchoesRequestIdsOrMakesNewOnes) {
  http::Request req;
  req.headers = {{"x-request-id", "req-1"}, {"x-correlation-id", "corr-1"}};
  http::Response r;
  set_request_ids(req, r);
  EXPECT_EQ(header(r, "X-Request-ID"), "req-1");
  EXPECT_EQ(header(r, "X-Correlation-ID"), "corr-1");

  http::Response fresh;
  set_request_ids(http::Request{}, fresh);
  EXPECT_EQ(header(fresh, "X-Request-ID").size(), 36U);
  EXPECT_EQ(header(fresh, "X-Correlation-ID").size(), 36U);
  EXPECT_NE(header(fresh, "X-Request-ID"), header(fresh, "X-Correlation-ID"));
  EXPECT_EQ(header(fresh, "X-Request-ID")[14], '4');  // UUID version 4
}

TEST(OcpiTokens, ValidTokensArePrintableAsciiWithoutSpacesUpTo64) {
  EXPECT_TRUE(valid_token("9e80a9c4-28be-11e9-b210-d663bd873d93"));
  EXPECT_TRUE(valid_token(std::string(64, 'a')));
  EXPECT_FALSE(valid_token(std::string(65, 'a')));
  EXPECT_FALSE(valid_token(""));
  EXPECT_FALSE(valid_token("has space"));
  EXPECT_FALSE(valid_token("tab\there"));
  EXPECT_FALSE(valid_token("caf\xc3\xa9"));
}

TEST(OcpiTokens, AuthorizationIsBase64OfTheToken) {
  EXPECT_EQ(authorization_header("abc"), "Token YWJj");
  auto tokens = authorization_tokens("Token " + base64_encode("my-token"));
  ASSERT_FALSE(tokens.empty());
  EXPECT_EQ(tokens.front(), "my-token");
}

TEST(OcpiTokens, RawTokensAreAcceptedToo) {
  // 43 characters: not base64 with padding, so only the raw reading fits.
  const std::string raw = generate_token();
  EXPECT_EQ(authorization_tokens("Token " + raw), std::vector<std::string>{raw});
  EXPECT_EQ(authorization_tokens("token  " + raw + " "), std::vector<std::string>{raw});
  // A raw token that happens to be base64 gives both readings, decoded first.
  auto both = authorization_tokens("Token YWJj");
  EXPECT_EQ(both, (std::vector<std::string>{"abc", "YWJj"}));
}

TEST(OcpiTokens, OtherSchemesAndMissingHeadersGiveNoToken) {
  EXPECT_TRUE(authorization_tokens("").empty());
  EXPECT_TRUE(authorization_tokens("Token").empty());
  EXPECT_TRUE(authorization_tokens("Token ").empty());
  EXPECT_TRUE(authorization_tokens("Bearer abc").empty());
  EXPECT_TRUE(authorization_tokens("Basic YWJj").empty());
  EXPECT_TRUE(authorization_tokens("Tokenabc").empty());
}

TEST(OcpiTokens, GeneratedTokensAre43Base64UrlCharacters) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string t = generate_token();
    EXPECT_EQ(t.size(), 43U);
    EXPECT_TRUE(valid_token(t));
    EXPECT_EQ(
        t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 50U);
}

TEST(OcpiTokens, Sha256IsLowerCaseHex) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(constant_time_equal(sha256_hex("x"), sha256_hex("x")));
  EXPECT_FALSE(constant_time_equal(sha256_hex("x"), sha256_hex("y")));
  EXPECT_FALSE(constant_time_equal("", sha256_hex("y")));
}

TEST(OcpiCredentials, ReadsTheSpecExample) {
  // ocpi_credentials_example2.json
  auto c = credentials_from_json(R"({
    "token": "9e80a9c4-28be-11e9-b210-d663bd873d93",
    "url": "https://ocpi.example.com/versions",
    "roles": [{"role": "CPO", "party_id": "EXA", "country_code": "NL",
               "business_details": {"name": "Example Operator"}},
              {"role": "EMSP", "party_id": "EXA", "country_code": "NL",
               "business_details": {"name": "Example Provider"}}]})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->token, "9e80a9c4-28be-11e9-b210-d663bd873d93");
  ASSERT_EQ(c->roles.size(), 2U);
  EXPECT_EQ(c->roles[1].role, "EMSP");
  EXPECT_EQ(c->roles[1].business_name, "Example Provider");
  auto again = credentials_from_json(credentials_json(*c));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->roles[0].country_code, "NL");
}

std::string credentials_error(const std::string& body) {
  auto c = credentials_from_json(body);
  return c ? std::string("accepted") : c.error().message;
}

TEST(OcpiCredentials, NamesTheFieldThatIsWrong) {
  const std::string role =
      R"({"role":"EMSP","party_id":"EXA","country_code":"NL","business_details":{"name":"E"}})";
  EXPECT_EQ(credentials_error(R"({"url":"https://e.test/v","roles":[)" + role + "]}"),
            "token: missing");
  EXPECT_EQ(credentials_error(R"({"token":"a b","url":"https://e.test/v","roles":[)" + role + "]}")
                .substr(0, 7),
            "token: ");
  EXPECT_EQ(credentials_error(R"({"token":"t","url":"ftp://e.test/v","roles":[)" + role + "]}")
                .substr(0, 5),
            "url: ");
  EXPECT_EQ(credentials_error(R"({"token":"t","url":"https://e.test/v","roles":[]})"),
            "roles: must not be empty");
  EXPECT_EQ(credentials_error(R"({"token":"t","url":"https://e.test/v"})"), "roles: missing");
  EXPECT_EQ(
      credentials_error(
          R"({"token":"t","url":"https://e.test/v","roles":[{"role":"EMSP","party_id":"EXA","country_code":"NL","business_details":{}}]})"),
      "roles[0].business_details.name: missing");
  EXPECT_EQ(
      credentials_error(
          R"({"token":"t","url":"https://e.test/v","roles":[{"role":"EMSP","party_id":"EXAM","country_code":"NL","business_details":{"name":"E"}}]})")
          .substr(0, 18),
      "roles[0].party_id:");
  EXPECT_EQ(
      credentials_error(
          R"({"token":"t","url":"https://e.test/v","roles":[{"role":"EMSP","party_id":"EXA","country_code":"NLD","business_details":{"name":"E"}}]})")
          .substr(0, 22),
      "roles[0].country_code:");
  EXPECT_EQ(
      credentials_error(
          R"({"token":"t","url":"https://e.test/v","roles":[{"role":"DRIVER","party_id":"EXA","country_code":"NL","business_details":{"name":"E"}}]})")
          .substr(0, 14),
      "roles[0].role:");
  EXPECT_FALSE(is_json("{not json"));
  EXPECT_TRUE(is_json("[]"));
}

TEST(OcpiEnvelopeReceived, ReadsStatusMessageAndData) {
  auto e = envelope_from_json(
      R"({"data":[{"version":"2.2.1","url":"https://e.test/2.2.1"}],"status_code":1000,"timestamp":"2026-12-02T13:00:00Z"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status_code, 1000);
  auto versions = versions_from_json(e->data_json);
  ASSERT_TRUE(versions);
  EXPECT_EQ(versions->at(0).url, "https://e.test/2.2.1");
  EXPECT_FALSE(envelope_from_json(R"({"data":[]})"));
  EXPECT_FALSE(envelope_from_json("<html>"));
}

TEST(OcpiVersionDetails, ReadsTheSpecExample) {
  // ocpi_version_details_example2.json
  auto d = version_details_from_json(R"({"version": "2.2", "endpoints": [
      {"identifier": "credentials", "role": "RECEIVER", "url": "https://example.com/ocpi/2.2/credentials"},
      {"identifier": "locations", "role": "SENDER", "url": "https://example.com/ocpi/cpo/2.2/locations"}]})");
  ASSERT_TRUE(d) << d.error().message;
  Partner p;
  p.endpoints = d->endpoints;
  EXPECT_EQ(credentials_url(p), "https://example.com/ocpi/2.2/credentials");
}

TEST(RedactTokenPath, TokenUidsNeverShowInFull) {
  EXPECT_EQ(redact_token_path("/ocpi/2.2.1/tokens/NL/EMS/04A1B2C3D4"),
            "/ocpi/2.2.1/tokens/NL/EMS/04A1…(10)");
  EXPECT_EQ(
      redact_token_path("https://emsp.test/ocpi/emsp/2.2.1/tokens/04A1B2C3D4/authorize?type=RFID"),
      "https://emsp.test/ocpi/emsp/2.2.1/tokens/04A1…(10)/authorize?type=RFID");
  EXPECT_EQ(redact_token_path("/ocpi/2.2.1/locations/LOC1"), "/ocpi/2.2.1/locations/LOC1");
  EXPECT_EQ(redact_token_path("/ocpi/2.2.1/tokens/NL"), "/ocpi/2.2.1/tokens/NL…(2)");
  // A uid with a slash (escaped on the way out, decoded on the way in) is still hidden.
  EXPECT_EQ(redact_token_path("https://e/tokens/AB%2FCD12/authorize?type=RFID"),
            "https://e/tokens/AB%2…(9)/authorize?type=RFID");
  EXPECT_EQ(redact_token_path("/ocpi/2.2.1/tokens/NL/EMS/AB/CD12"),
            "/ocpi/2.2.1/tokens/NL/EMS/AB/C…(7)");
  EXPECT_EQ(url_segment("AB/CD 1?x"), "AB%2FCD%201%3Fx");
  EXPECT_TRUE(same_party({"de", "swy"}, {"DE", "SWY"}));
  EXPECT_FALSE(same_party({"DE", "SWY"}, {"DE", "SWZ"}));
}

}  // namespace
}  // namespace switchyard::roaming

// OCPI tokens: the Token codec and patches, the store on SQLite, the RECEIVER module's answers
// (own parties only, URL and body agreeing, unknown tokens), and the authorization of a token at
// a charger by whitelist, validity and the owner's real-time answer.
#include "roaming/tokens.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "roaming_test_support.h"
#include "support/fake_clock.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

std::string token_json(const std::string& uid, bool valid = true,
                       const std::string& whitelist = "ALWAYS", const std::string& party = "EMS") {
  return json::serialize(json::object{{"country_code", "NL"},
                                      {"party_id", party},
                                      {"uid", uid},
                                      {"type", "RFID"},
                                      {"contract_id", "NL-" + party + "-C" + uid},
                                      {"issuer", "Peer eMSP"},
                                      {"group_id", "G-" + uid},
                                      {"valid", valid},
                                      {"whitelist", whitelist},
                                      {"last_updated", "2026-12-01T10:00:00Z"},
                                      {"visual_number", "0001"}});
}

// The eMSP's tokens SENDER as our client sees it.
class FakeOwner final : public testing::UnimplementedOcpiClient {
 public:
  std::string allowed = "ALLOWED";
  bool down = false;
  bool refuse = false;  // answers with an OCPI error (e.g. 2004 unknown token)
  std::vector<std::string> urls;
  Result<std::string> request(const std::string& method, const std::string&, const std::string& url,
                              const std::string&, std::string, const Party& to) override {
    urls.push_back(method + " " + url + " to " + to.country_code + "/" + to.party_id);
    if (down) return make_error(ErrorCode::kUnavailable, "POST " + url + ": refused");
    if (refuse) return make_error(ErrorCode::kFailedPrecondition, "status_code 2004: unknown");
    return json::serialize(json::object{{"allowed", allowed},
                                        {"token", json::parse(token_json("04AA"))},
                                        {"authorization_reference", "AUTH-REF-1"}});
  }
};

class TokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokens_ = std::make_unique<TokenStore>(*db_);
    partners_ = std::make_unique<SqlPartnerStore>(*db_);
    partner_.id = "ptr-emsp";
    partner_.state = PartnerState::kRegistered;
    partner_.their_token = "their";
    partner_.our_token_sha256 = std::string(64, 'e');
    partner_.roles = {{"EMSP", "NL", "EMS", "Peer eMSP"}};
    partner_.endpoints = {{"tokens", "SENDER", "https://emsp.test/ocpi/emsp/2.2.1/tokens"}};
    ASSERT_TRUE(partners_->put(partner_));
  }
  http::Response call(const std::string& method, const std::string& rest,
                      const std::string& body = "", const std::string& query = "",
                      const Party& from = {}) {
    http::Request r;
    if (!from.empty()) {
      r.headers = {{"ocpi-from-country-code", from.country_code},
                   {"ocpi-from-party-id", from.party_id}};
    }
    r.method = method;
    r.path = "/ocpi/2.2.1/tokens" + rest;
    r.query = query;
    r.target = r.path + (query.empty() ? "" : "?" + query);
    r.body = body;
    TokensReceiver receiver(*tokens_, clock_);
    return receiver.handle(partner_, r, rest);
  }
  static int code(const http::Response& r) {
    return static_cast<int>(json::parse(r.body).at("status_code").as_int64());
  }

  switchyard::testing::FakeClock clock_;
  testing::RoamingDb db_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<SqlPartnerStore> partners_;
  Partner partner_;
  FakeOwner owner_;
};

TEST(TokenJson, RequiredFieldsAndEnumsAreCheckedByName) {
  ASSERT_TRUE(token_from_json(token_json("04AA")));
  auto without = json::parse(token_json("04AA")).as_object();
  without.erase("contract_id");
  auto missing = token_from_json(json::serialize(without));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "contract_id: missing");
  auto bad = json::parse(token_json("04AA")).as_object();
  bad["whitelist"] = "SOMETIMES";
  EXPECT_EQ(token_from_json(json::serialize(bad)).error().message,
            "whitelist: 'SOMETIMES' is no WhitelistType");
  bad = json::parse(token_json("04AA")).as_object();
  bad["valid"] = "yes";
  EXPECT_EQ(token_from_json(json::serialize(bad)).error().message, "valid: not a boolean");
  bad = json::parse(token_json("04AA")).as_object();
  bad["uid"] = std::string(37, 'A');
  EXPECT_EQ(token_from_json(json::serialize(bad)).error().message, "uid: longer than 36");
  EXPECT_EQ(token_from_json("[1]").error().message, "body: not a JSON object");
}

TEST_F(TokensTest, PutGetAndPatchOwnTokens) {
  auto put = call("PUT", "/NL/EMS/04AA", token_json("04AA"));
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(code(put), 1000);
  auto got = call("GET", "/NL/EMS/04AA", "", "type=RFID");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body).at("data").at("visual_number"), "0001");  // kept as sent
  auto patch =
      call("PATCH", "/NL/EMS/04AA", R"({"valid": false, "last_updated": "2026-12-01T11:00:00Z"})");
  EXPECT_EQ(patch.status, 200) << patch.body;
  auto stored = tokens_->get("NL", "EMS", "04AA", "RFID");
  ASSERT_TRUE(stored && *stored);
  EXPECT_FALSE((*stored)->valid);
  EXPECT_EQ((*stored)->contract_id, "NL-EMS-C04AA");
}

TEST_F(TokensTest, RefusalsNameWhatIsWrong) {
  // Someone else's party.
  auto other = call("PUT", "/DE/XYZ/04AA", token_json("04AA", true, "ALWAYS", "XYZ"));
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(code(other), 2000);
  // URL and body disagree.
  auto mismatch = call("PUT", "/NL/EMS/04BB", token_json("04AA"));
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(code(mismatch), 2001);
  // Invalid token.
  auto invalid = call("PUT", "/NL/EMS/04AA", R"({"uid": "04AA"})");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(code(invalid), 2001);
  // Unknown token: GET and PATCH.
  EXPECT_EQ(code(call("GET", "/NL/EMS/NOPE")), 2004);
  EXPECT_EQ(call("PATCH", "/NL/EMS/NOPE", R"({"last_updated": "2026-12-01T11:00:00Z"})").status,
            404);
  // A patch cannot move a token.
  ASSERT_EQ(call("PUT", "/NL/EMS/04AA", token_json("04AA")).status, 200);
  EXPECT_EQ(
      call("PATCH", "/NL/EMS/04AA", R"({"uid": "04ZZ", "last_updated": "2026-12-01T11:00:00Z"})")
          .status,
      400);
  EXPECT_EQ(call("PATCH", "/NL/EMS/04AA", R"({"valid": false})").status, 400);  // no last_updated
  EXPECT_EQ(call("DELETE", "/NL/EMS/04AA").status, 405);
  EXPECT_EQ(call("GET", "/NL/EMS/04AA", "", "type=BADGE").status, 400);
  EXPECT_EQ(call("GET", "/NL/EMS").status, 400);
}

TEST_F(TokensTest, AHubWritesTheTokensOfThePartyItRoutesFor) {
  partner_.roles = {{"HUB", "DE", "HUB", "Example Hub"}};
  // Without OCPI-from-* the hub's own party is not the token's.
  EXPECT_EQ(call("PUT", "/NL/OTH/04CC", token_json("04CC", true, "ALWAYS", "OTH")).status, 403);
  EXPECT_EQ(
      call("PUT", "/NL/OTH/04CC", token_json("04CC", true, "ALWAYS", "OTH"), "", {"NL", "OTH"})
          .status,
      200);
  // Routed for one party, writing another's: refused.
  EXPECT_EQ(call("PUT", "/NL/EMS/04DD", token_json("04DD"), "", {"NL", "OTH"}).status, 403);
}

TEST_F(TokensTest, AuthorizationFollowsValidityWhitelistAndTheOwnersAnswer) {
  TokenAuthorizer authorizer(*tokens_, *partners_, owner_);
  auto put = [&](const std::string& uid, bool valid, const std::string& whitelist) {
    ASSERT_EQ(call("PUT", "/NL/EMS/" + uid, token_json(uid, valid, whitelist)).status, 200);
  };
  put("ALWAYS-1", true, "ALWAYS");
  put("BLOCKED-1", false, "ALWAYS");
  put("ALLOWED-1", true, "ALLOWED");
  put("NEVER-1", true, "NEVER");

  auto unknown = authorizer.authorize("NOBODY");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->known);

  auto always = authorizer.authorize("ALWAYS-1");
  EXPECT_EQ(always->status, "Accepted");
  EXPECT_FALSE(always->real_time);
  EXPECT_EQ(always->partner_id, "ptr-emsp");
  EXPECT_EQ(always->contract_id, "NL-EMS-CALWAYS-1");
  EXPECT_EQ(authorizer.authorize("BLOCKED-1")->status, "Blocked");
  EXPECT_TRUE(owner_.urls.empty());

  auto never = authorizer.authorize("NEVER-1");
  EXPECT_EQ(never->status, "Accepted");
  EXPECT_TRUE(never->real_time);
  EXPECT_EQ(never->authorization_reference, "AUTH-REF-1");
  EXPECT_EQ(owner_.urls.back(),
            "POST https://emsp.test/ocpi/emsp/2.2.1/tokens/NEVER-1/authorize?type=RFID to NL/EMS");
  owner_.allowed = "NO_CREDIT";
  EXPECT_EQ(authorizer.authorize("NEVER-1")->status, "Invalid");
  owner_.allowed = "BLOCKED";
  EXPECT_EQ(authorizer.authorize("ALLOWED-1")->status, "Blocked");
  // The owner answers with an error (it no longer knows the token): refused, whatever the
  // whitelist.
  owner_.refuse = true;
  EXPECT_EQ(authorizer.authorize("ALLOWED-1")->status, "Invalid");
  owner_.refuse = false;
  // The owner cannot be asked: ALLOWED goes ahead, NEVER does not.
  owner_.down = true;
  EXPECT_EQ(authorizer.authorize("ALLOWED-1")->status, "Accepted");
  EXPECT_EQ(authorizer.authorize("NEVER-1")->status, "Invalid");
  // Once the eMSP is no longer our partner its tokens decide nothing, ALWAYS included.
  partner_.state = PartnerState::kUnregistered;
  ASSERT_TRUE(partners_->put(partner_));
  auto gone = authorizer.authorize("ALWAYS-1");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->known);
}

}  // namespace
}  // namespace switchyard::roaming

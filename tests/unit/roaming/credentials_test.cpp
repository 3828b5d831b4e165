// The OCPI credentials handshake both ways, driven through Registration with a fake partner
// (OcpiClient) and an in-memory partner store: register with token A, update, unregister, and
// every way each can fail.
#include "roaming/credentials.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <thread>

#include "common/runtime/core/base64.h"
#include "support/fake_clock.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

class MemoryPartnerStore final : public PartnerStore {
 public:
  Result<std::vector<Partner>> load_all() override {
    std::lock_guard lock(mutex_);
    std::vector<Partner> out;
    out.reserve(partners_.size());
    for (const auto& [id, p] : partners_) out.push_back(p);
    return out;
  }
  Result<std::optional<Partner>> get(const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = partners_.find(id);
    if (it == partners_.end()) return std::optional<Partner>();
    return std::optional<Partner>(it->second);
  }
  Result<std::optional<Partner>> find_by_token(const std::string& hash) override {
    std::lock_guard lock(mutex_);
    for (const auto& [id, p] : partners_) {
      if (!hash.empty() && p.our_token_sha256 == hash) return std::optional<Partner>(p);
    }
    return std::optional<Partner>();
  }
  Result<void> put(const Partner& p) override {
    std::lock_guard lock(mutex_);
    partners_[p.id] = p;
    return {};
  }
  Result<bool> remove(const std::string& id) override {
    std::lock_guard lock(mutex_);
    return partners_.erase(id) > 0;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, Partner> partners_;
};

constexpr std::string_view kTheirVersions = "https://emsp.test/ocpi/versions";
constexpr std::string_view kTheirDetails = "https://emsp.test/ocpi/2.2.1";
constexpr std::string_view kTheirCredentials = "https://emsp.test/ocpi/2.2.1/credentials";

// The eMSP on the other side, as our OcpiClient sees it. Records every call.
class FakePartner final : public OcpiClient {
 public:
  struct Call {
    std::string method;
    std::string url;
    std::string token;
    std::optional<Credentials> body;
  };

  std::vector<VersionInfo> versions_answer{{"2.1.1", "https://emsp.test/ocpi/2.1.1"},
                                           {"2.2.1", std::string(kTheirDetails)}};
  VersionDetails details_answer{"2.2.1",
                                {{"credentials", "RECEIVER", std::string(kTheirCredentials)},
                                 {"locations", "RECEIVER", "https://emsp.test/ocpi/2.2.1/loc"}}};
  std::optional<Error> versions_error;
  std::optional<Error> credentials_error;
  std::optional<Error> delete_error;
  std::vector<PartnerRole> roles{{"EMSP", "NL", "EXA", "Example Provider"}};
  std::string next_token = "token-c-1";
  // Runs inside POST / PUT credentials, as the real partner would call us back then.
  std::function<void(const Credentials&)> during_credentials;

  std::vector<Call> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  Result<std::vector<VersionInfo>> versions(const std::string& url,
                                            const std::string& token) override {
    record("GET", url, token, std::nullopt);
    if (versions_error) return std::unexpected(*versions_error);
    return versions_answer;
  }
  Result<VersionDetails> version_details(const std::string& url,
                                         const std::string& token) override {
    record("GET", url, token, std::nullopt);
    return details_answer;
  }
  Result<Credentials> post_credentials(const std::string& url, const std::string& token,
                                       const Credentials& ours) override {
    return answer("POST", url, token, ours);
  }
  Result<Credentials> put_credentials(const std::string& url, const std::string& token,
                                      const Credentials& ours) override {
    return answer("PUT", url, token, ours);
  }
  Result<void> delete_credentials(const std::string& url, const std::string& token) override {
    record("DELETE", url, token, std::nullopt);
    if (delete_error) return std::unexpected(*delete_error);
    return {};
  }
  Result<void> push(const std::string& method, const std::string& url, const std::string&,
                    const std::string& token, std::string, const Party&) override {
    record(method, url, token, std::nullopt);
    return {};
  }
  Result<std::string> request(const std::string& method, const std::string&, const std::string& url,
                              const std::string& token, std::string, const Party&) override {
    record(method, url, token, std::nullopt);
    return std::string();
  }

 private:
  void record(std::string method, const std::string& url, const std::string& token,
              std::optional<Credentials> body) {
    std::lock_guard lock(mutex_);
    calls_.push_back({std::move(method), url, token, std::move(body)});
  }
  Result<Credentials> answer(const std::string& method, const std::string& url,
                             const std::string& token, const Credentials& ours) {
    record(method, url, token, ours);
    if (during_credentials) during_credentials(ours);
    if (credentials_error) return std::unexpected(*credentials_error);
    return Credentials{next_token, std::string(kTheirVersions), roles};
  }

  std::mutex mutex_;
  std::vector<Call> calls_;
};

struct Reply {
  int http_status = 0;
  int status_code = 0;
  std::string message;
  json::value data;
  http::Response raw;
};

std::string their_credentials(const std::string& token, const std::string& country = "NL",
                              const std::string& party = "EXA") {
  return json::serialize(json::object{
      {"token", token},
      {"url", kTheirVersions},
      {"roles", json::array{json::object{{"role", "EMSP"},
                                         {"party_id", party},
                                         {"country_code", country},
                                         {"business_details", {{"name", "Example Provider"}}}}}}});
}

class CredentialsTest : public ::testing::Test {
 protected:
  CredentialsTest() : registration_(settings(), store_, partner_, clock_, nullptr) {}

  static OcpiSettings settings() {
    OcpiSettings s;
    s.base_url = "https://cpo.test/ocpi";
    return s;
  }

  Reply call(const std::string& method, const std::string& path, const std::string& token,
             const std::string& body = {}, bool raw_token = false) {
    http::Request req;
    req.method = method;
    req.path = path;
    req.target = path;
    if (!token.empty()) {
      req.headers.emplace_back("authorization",
                               "Token " + (raw_token ? token : base64_encode(token)));
    }
    req.body = body;
    Reply r;
    r.raw = registration_.handle(req);
    r.http_status = r.raw.status;
    auto v = json::parse(r.raw.body);
    const auto& o = v.as_object();
    r.status_code = static_cast<int>(o.at("status_code").as_int64());
    if (const auto* m = o.if_contains("status_message")) r.message = std::string(m->as_string());
    if (const auto* d = o.if_contains("data")) r.data = *d;
    EXPECT_TRUE(o.at("timestamp").as_string().ends_with("Z"));
    EXPECT_EQ(r.raw.content_type, "application/json");
    return r;
  }

  Partner partner(const std::string& id) { return **store_.get(id); }

  // Invites a partner and lets it register with `their_token`; returns {id, token C}.
  std::pair<std::string, std::string> registered(const std::string& their_token = "token-b-1",
                                                 const std::string& party = "EXA") {
    auto invite = registration_.create_invite("eMSP " + party);
    EXPECT_TRUE(invite);
    auto r = call("POST", "/ocpi/2.2.1/credentials", invite->token_a,
                  their_credentials(their_token, "NL", party));
    EXPECT_EQ(r.status_code, 1000) << r.message;
    return {invite->partner.id, std::string(r.data.as_object().at("token").as_string())};
  }

  testing::FakeClock clock_;
  MemoryPartnerStore store_;
  FakePartner partner_;
  Registration registration_;
};

// --- versions and version details ---------------------------------------------------------

TEST_F(CredentialsTest, VersionsNeedAKnownToken) {
  auto none = call("GET", "/ocpi/versions", "");
  EXPECT_EQ(none.http_status, 401);
  EXPECT_EQ(none.status_code, 2000);
  EXPECT_EQ(none.message, "unknown or missing token");
  EXPECT_EQ(call("GET", "/ocpi/versions", "made-up").http_status, 401);
}

TEST_F(CredentialsTest, TokenAReadsVersionsAndDetails) {
  auto invite = registration_.create_invite("Example eMSP");
  ASSERT_TRUE(invite);
  EXPECT_EQ(invite->versions_url, "https://cpo.test/ocpi/versions");
  EXPECT_EQ(invite->token_a.size(), 43U);
  EXPECT_EQ(invite->partner.state, PartnerState::kInvited);
  EXPECT_EQ(partner(invite->partner.id).our_token_sha256, sha256_hex(invite->token_a));

  auto versions = call("GET", "/ocpi/versions", invite->token_a);
  EXPECT_EQ(versions.http_status, 200);
  EXPECT_EQ(versions.status_code, 1000);
  EXPECT_EQ(versions.message, "Success");
  EXPECT_EQ(json::serialize(versions.data),
            R"([{"version":"2.2.1","url":"https://cpo.test/ocpi/2.2.1"}])");

  auto details = call("GET", "/ocpi/2.2.1", invite->token_a);
  EXPECT_EQ(details.status_code, 1000);
  const auto& endpoints = details.data.as_object().at("endpoints").as_array();
  ASSERT_EQ(endpoints.size(), 2U);
  EXPECT_EQ(endpoints[0].as_object().at("url").as_string(),
            "https://cpo.test/ocpi/2.2.1/credentials");
  EXPECT_EQ(details.data.as_object().at("version").as_string(), "2.2.1");
}

TEST_F(CredentialsTest, RawTokensAreAcceptedLeniently) {
  auto invite = registration_.create_invite("old eMSP");
  auto r = call("GET", "/ocpi/versions", invite->token_a, {}, /*raw_token=*/true);
  EXPECT_EQ(r.http_status, 200);
}

TEST_F(CredentialsTest, EchoesRequestIdsAndMakesMissingOnes) {
  http::Request req;
  req.method = "GET";
  req.path = "/ocpi/versions";
  req.headers = {{"x-request-id", "r-1"}, {"x-correlation-id", "c-1"}};
  auto r = registration_.handle(req);
  EXPECT_EQ(r.status, 401);
  std::map<std::string, std::string> headers(r.headers.begin(), r.headers.end());
  EXPECT_EQ(headers["X-Request-ID"], "r-1");
  EXPECT_EQ(headers["X-Correlation-ID"], "c-1");
  req.headers.clear();
  r = registration_.handle(req);
  std::map<std::string, std::string> fresh(r.headers.begin(), r.headers.end());
  EXPECT_EQ(fresh["X-Request-ID"].size(), 36U);
  EXPECT_EQ(fresh["X-Correlation-ID"].size(), 36U);
}

// --- they register with us ----------------------------------------------------------------

TEST_F(CredentialsTest, RegistersWithTokenAWhichIsDeadAfter) {
  auto invite = registration_.create_invite("Example eMSP");
  auto r = call("POST", "/ocpi/2.2.1/credentials", invite->token_a, their_credentials("token-b"));
  ASSERT_EQ(r.http_status, 200);
  ASSERT_EQ(r.status_code, 1000) << r.message;
  const auto& data = r.data.as_object();
  const std::string token_c(data.at("token").as_string());
  EXPECT_EQ(token_c.size(), 43U);
  EXPECT_EQ(data.at("url").as_string(), "https://cpo.test/ocpi/versions");
  const auto& role = data.at("roles").as_array().at(0).as_object();
  EXPECT_EQ(role.at("role").as_string(), "CPO");
  EXPECT_EQ(role.at("country_code").as_string(), "DE");
  EXPECT_EQ(role.at("party_id").as_string(), "SWY");
  EXPECT_EQ(role.at("business_details").as_object().at("name").as_string(), "Switchyard CPO");

  // We read their versions and details with their token B.
  auto calls = partner_.calls();
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[0].url, kTheirVersions);
  EXPECT_EQ(calls[0].token, "token-b");
  EXPECT_EQ(calls[1].url, kTheirDetails);

  const Partner p = partner(invite->partner.id);
  EXPECT_EQ(p.state, PartnerState::kRegistered);
  EXPECT_EQ(p.their_token, "token-b");
  EXPECT_EQ(p.our_token_sha256, sha256_hex(token_c));
  EXPECT_EQ(p.version, "2.2.1");
  EXPECT_EQ(p.versions_url, kTheirVersions);
  EXPECT_EQ(credentials_url(p), kTheirCredentials);
  ASSERT_EQ(p.roles.size(), 1U);
  EXPECT_EQ(p.roles[0].party_id, "EXA");
  EXPECT_FALSE(p.initiated_by_us);

  EXPECT_EQ(call("GET", "/ocpi/versions", invite->token_a).http_status, 401);
  EXPECT_EQ(call("GET", "/ocpi/versions", token_c).http_status, 200);
  auto ours = call("GET", "/ocpi/2.2.1/credentials", token_c);
  EXPECT_EQ(ours.status_code, 1000);
  EXPECT_EQ(ours.data.as_object().at("token").as_string(), token_c);
}

TEST_F(CredentialsTest, PostWhenRegisteredIs405) {
  auto [id, token_c] = registered();
  auto r = call("POST", "/ocpi/2.2.1/credentials", token_c, their_credentials("token-b-2"));
  EXPECT_EQ(r.http_status, 405);
  EXPECT_EQ(r.status_code, 2000);
  EXPECT_EQ(r.message, "already registered; use PUT");
}

TEST_F(CredentialsTest, PutAndDeleteWithTokenAAre405AndGetIs401) {
  auto invite = registration_.create_invite("Example eMSP");
  EXPECT_EQ(
      call("PUT", "/ocpi/2.2.1/credentials", invite->token_a, their_credentials("b")).http_status,
      405);
  EXPECT_EQ(call("DELETE", "/ocpi/2.2.1/credentials", invite->token_a).http_status, 405);
  EXPECT_EQ(call("GET", "/ocpi/2.2.1/credentials", invite->token_a).http_status, 401);
  EXPECT_EQ(call("GET", "/ocpi/2.2.1/locations", invite->token_a).http_status, 401);
  EXPECT_EQ(partner(invite->partner.id).state, PartnerState::kInvited);
}

TEST_F(CredentialsTest, UnknownTokenIs401EverywhereIncludingPost) {
  auto r = call("POST", "/ocpi/2.2.1/credentials", "not-an-invite", their_credentials("b"));
  EXPECT_EQ(r.http_status, 401);
  EXPECT_EQ(r.status_code, 2000);
  EXPECT_TRUE(partner_.calls().empty());
}

TEST_F(CredentialsTest, InvalidCredentialsAre2001NamingTheField) {
  auto invite = registration_.create_invite("Example eMSP");
  auto r = call(
      "POST", "/ocpi/2.2.1/credentials", invite->token_a,
      R"({"token":"b","url":"https://emsp.test/ocpi/versions","roles":[{"role":"EMSP","party_id":"EXA","country_code":"NL","business_details":{}}]})");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.status_code, 2001);
  EXPECT_EQ(r.message, "roles[0].business_details.name: missing");
  auto spaces =
      call("POST", "/ocpi/2.2.1/credentials", invite->token_a, their_credentials("has a space"));
  EXPECT_EQ(spaces.status_code, 2001);
  EXPECT_TRUE(spaces.message.starts_with("token: ")) << spaces.message;
  auto not_json = call("POST", "/ocpi/2.2.1/credentials", invite->token_a, "{oops");
  EXPECT_EQ(not_json.http_status, 400);
  EXPECT_EQ(not_json.status_code, 2001);
  EXPECT_TRUE(partner_.calls().empty());
  // The invite is untouched.
  EXPECT_EQ(
      call("POST", "/ocpi/2.2.1/credentials", invite->token_a, their_credentials("b")).status_code,
      1000);
}

TEST_F(CredentialsTest, UnreachableVersionsAre3001AndTheInviteStaysValid) {
  auto invite = registration_.create_invite("Example eMSP");
  const std::string refused =
      "GET https://emsp.test/ocpi/versions: connect emsp.test:443 failed: Connection refused";
  partner_.versions_error = Error{ErrorCode::kUnavailable, refused};
  auto r = call("POST", "/ocpi/2.2.1/credentials", invite->token_a, their_credentials("b"));
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.status_code, 3001);
  EXPECT_EQ(r.message, refused);
  const Partner p = partner(invite->partner.id);
  EXPECT_EQ(p.state, PartnerState::kInvited);
  EXPECT_EQ(p.last_error, refused);
  EXPECT_TRUE(p.their_token.empty());

  // The eMSP retries once its side is up.
  partner_.versions_error.reset();
  auto retry = call("POST", "/ocpi/2.2.1/credentials", invite->token_a, their_credentials("b"));
  EXPECT_EQ(retry.status_code, 1000) << retry.message;
  EXPECT_EQ(partner(invite->partner.id).state, PartnerState::kRegistered);
  EXPECT_EQ(partner(invite->partner.id).last_error, "");
}

TEST_F(CredentialsTest, NoCommonVersionIs3002) {
  auto invite = registration_.create_invite("Example eMSP");
  partner_.versions_answer = {{"2.1.1", "https://emsp.test/ocpi/2.1.1"}};
  auto r = call("POST", "/ocpi/2.2.1/credentials", invite->token_a, their_credentials("b"));
  EXPECT_EQ(r.status_code, 3002);
  EXPECT_TRUE(r.message.starts_with("no common version: they offer 2.1.1")) << r.message;
  EXPECT_EQ(partner(invite->partner.id).state, PartnerState::kInvited);
}

TEST_F(CredentialsTest, NoCredentialsEndpointIs3003) {
  auto invite = registration_.create_invite("Example eMSP");
  partner_.details_answer.endpoints = {{"locations", "RECEIVER", "https://emsp.test/loc"}};
  auto r = call("POST", "/ocpi/2.2.1/credentials", invite->token_a, their_credentials("b"));
  EXPECT_EQ(r.status_code, 3003);
  EXPECT_EQ(partner(invite->partner.id).state, PartnerState::kInvited);
}

TEST_F(CredentialsTest, APartyRegisteredTwiceIs2000) {
  auto [first, token_c] = registered("token-b-1", "EXA");
  auto invite = registration_.create_invite("impostor");
  auto r = call("POST", "/ocpi/2.2.1/credentials", invite->token_a,
                their_credentials("token-b-2", "nl", "exa"));
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.status_code, 2000);
  EXPECT_EQ(r.message, "party NL/EXA is already registered as partner " + first);
  EXPECT_EQ(partner(invite->partner.id).state, PartnerState::kInvited);
}

TEST_F(CredentialsTest, PartnerPutRotatesBothTokens) {
  auto [id, token_c] = registered("token-b-1");
  auto r = call("PUT", "/ocpi/2.2.1/credentials", token_c, their_credentials("token-b-2"));
  ASSERT_EQ(r.status_code, 1000) << r.message;
  const std::string token_c2(r.data.as_object().at("token").as_string());
  EXPECT_NE(token_c2, token_c);
  EXPECT_EQ(partner_.calls().back().token, "token-b-2");  // their versions read with B'
  EXPECT_EQ(partner(id).their_token, "token-b-2");
  EXPECT_EQ(call("GET", "/ocpi/versions", token_c).http_status, 401);
  EXPECT_EQ(call("GET", "/ocpi/versions", token_c2).http_status, 200);
}

TEST_F(CredentialsTest, AFailedPartnerPutKeepsTheOldTokens) {
  auto [id, token_c] = registered("token-b-1");
  partner_.versions_error = Error{ErrorCode::kUnavailable, "GET x: refused"};
  auto r = call("PUT", "/ocpi/2.2.1/credentials", token_c, their_credentials("token-b-2"));
  EXPECT_EQ(r.status_code, 3001);
  EXPECT_EQ(partner(id).their_token, "token-b-1");
  EXPECT_EQ(call("GET", "/ocpi/versions", token_c).http_status, 200);
}

TEST_F(CredentialsTest, PartnerDeleteUnregisters) {
  auto [id, token_c] = registered();
  auto r = call("DELETE", "/ocpi/2.2.1/credentials", token_c);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.status_code, 1000);
  const Partner p = partner(id);
  EXPECT_EQ(p.state, PartnerState::kUnregistered);
  EXPECT_TRUE(p.their_token.empty());
  EXPECT_TRUE(p.our_token_sha256.empty());
  EXPECT_EQ(call("GET", "/ocpi/versions", token_c).http_status, 401);
}

TEST_F(CredentialsTest, UnknownModulesAre404) {
  auto [id, token_c] = registered();
  auto r = call("GET", "/ocpi/2.2.1/locations", token_c);
  EXPECT_EQ(r.http_status, 404);
  EXPECT_EQ(r.status_code, 2000);
  EXPECT_EQ(r.message, "unknown module locations");
  EXPECT_EQ(call("GET", "/ocpi/2.1.1", token_c).message, "unknown module 2.1.1");
  EXPECT_EQ(call("GET", "/ocpi/", token_c).http_status, 404);
  EXPECT_EQ(call("PATCH", "/ocpi/2.2.1/credentials", token_c).http_status, 405);
  EXPECT_EQ(call("POST", "/ocpi/versions", token_c).http_status, 405);
  EXPECT_EQ(registration_.module_of("/ocpi/2.2.1/credentials"), "credentials");
  EXPECT_EQ(registration_.module_of("/ocpi/versions"), "versions");
  EXPECT_EQ(registration_.module_of("/ocpi/2.2.1/locations/x"), "unknown");
}

// A functional module behind the registration: routing headers for another platform are
// refused, and the answer carries them back swapped.
TEST_F(CredentialsTest, FunctionalModulesHonourTheHubRoutingHeaders) {
  class Echo final : public OcpiModule {
   public:
    std::string_view identifier() const override { return "echo"; }
    std::string_view role() const override { return "SENDER"; }
    http::Response handle(const Partner&, const http::Request&, std::string_view) override {
      return envelope_response(200, OcpiStatus::kSuccess, "", "[]", {});
    }
  } echo;
  registration_.add_module(echo);
  auto [id, token_c] = registered();
  auto send = [&](const std::string& to_cc, const std::string& to_pid) {
    http::Request req;
    req.method = "GET";
    req.path = req.target = "/ocpi/2.2.1/echo";
    req.headers = {{"authorization", "Token " + base64_encode(token_c)},
                   {"ocpi-from-country-code", "NL"},
                   {"ocpi-from-party-id", "EXA"},
                   {"ocpi-to-country-code", to_cc},
                   {"ocpi-to-party-id", to_pid}};
    return registration_.handle(req);
  };
  auto header = [](const http::Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return std::string();
  };
  auto ours = send("DE", "SWY");
  EXPECT_EQ(ours.status, 200);
  EXPECT_EQ(header(ours, "OCPI-from-country-code"), "DE");
  EXPECT_EQ(header(ours, "OCPI-from-party-id"), "SWY");
  EXPECT_EQ(header(ours, "OCPI-to-country-code"), "NL");
  EXPECT_EQ(header(ours, "OCPI-to-party-id"), "EXA");
  auto elsewhere = send("FR", "ABC");
  EXPECT_EQ(elsewhere.status, 404);
  EXPECT_NE(elsewhere.body.find("OCPI-to FR/ABC is not this platform (DE/SWY)"), std::string::npos)
      << elsewhere.body;
}

TEST_F(CredentialsTest, TwoPartnersAtOnce) {
  auto invite1 = registration_.create_invite("one");
  auto invite2 = registration_.create_invite("two");
  Reply r1;
  Reply r2;
  {
    std::jthread a([&] {
      r1 = call("POST", "/ocpi/2.2.1/credentials", invite1->token_a,
                their_credentials("b-one", "NL", "ONE"));
    });
    std::jthread b([&] {
      r2 = call("POST", "/ocpi/2.2.1/credentials", invite2->token_a,
                their_credentials("b-two", "BE", "TWO"));
    });
  }
  ASSERT_EQ(r1.status_code, 1000) << r1.message;
  ASSERT_EQ(r2.status_code, 1000) << r2.message;
  EXPECT_EQ(partner(invite1->partner.id).their_token, "b-one");
  EXPECT_EQ(partner(invite2->partner.id).their_token, "b-two");
  const std::string c1(r1.data.as_object().at("token").as_string());
  const std::string c2(r2.data.as_object().at("token").as_string());
  EXPECT_NE(c1, c2);
  EXPECT_EQ(call("GET", "/ocpi/2.2.1/credentials", c1).status_code, 1000);
  EXPECT_EQ(call("GET", "/ocpi/2.2.1/credentials", c2).status_code, 1000);
  EXPECT_EQ(registration_.list()->size(), 2U);
}

TEST_F(CredentialsTest, OneInviteUsedTwiceAtOnceRegistersOnce) {
  auto invite = registration_.create_invite("racy");
  Reply r1;
  Reply r2;
  {
    std::jthread a([&] {
      r1 = call("POST", "/ocpi/2.2.1/credentials", invite->token_a, their_credentials("b1"));
    });
    std::jthread b([&] {
      r2 = call("POST", "/ocpi/2.2.1/credentials", invite->token_a, their_credentials("b2"));
    });
  }
  EXPECT_EQ((r1.status_code == 1000) + (r2.status_code == 1000), 1);
  EXPECT_EQ((r1.http_status == 401) + (r2.http_status == 401), 1);
}

// --- we register with them ----------------------------------------------------------------

TEST_F(CredentialsTest, ConnectRegistersWithThem) {
  std::optional<int> versions_status_during_post;
  partner_.during_credentials = [&](const Credentials& ours) {
    // They read our versions with the token B we just sent.
    versions_status_during_post = call("GET", "/ocpi/versions", ours.token).http_status;
  };
  auto p = registration_.connect(std::string(kTheirVersions), "their-token-a", "");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(versions_status_during_post, 200);
  EXPECT_EQ(p->state, PartnerState::kRegistered);
  EXPECT_TRUE(p->initiated_by_us);
  EXPECT_EQ(p->name, "Example Provider");
  EXPECT_EQ(p->their_token, "token-c-1");
  EXPECT_EQ(p->version, "2.2.1");
  ASSERT_EQ(p->roles.size(), 1U);

  auto calls = partner_.calls();
  ASSERT_EQ(calls.size(), 3U);
  EXPECT_EQ(calls[0].token, "their-token-a");
  EXPECT_EQ(calls[2].method, "POST");
  EXPECT_EQ(calls[2].url, kTheirCredentials);
  EXPECT_EQ(calls[2].token, "their-token-a");
  const Credentials& sent = *calls[2].body;
  EXPECT_EQ(sent.url, "https://cpo.test/ocpi/versions");
  EXPECT_EQ(sent.token.size(), 43U);
  EXPECT_EQ(sent.roles.at(0).role, "CPO");
  // Token B is how they call us from now on.
  EXPECT_EQ(call("GET", "/ocpi/2.2.1/credentials", sent.token).status_code, 1000);
  EXPECT_EQ(partner(p->id).our_token_sha256, sha256_hex(sent.token));
}

TEST_F(CredentialsTest, ConnectChecksItsArguments) {
  auto bad_url = registration_.connect("not a url", "a", "");
  ASSERT_FALSE(bad_url);
  EXPECT_EQ(bad_url.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(bad_url.error().message.starts_with("versions_url: "));
  auto bad_token = registration_.connect(std::string(kTheirVersions), "with space", "");
  ASSERT_FALSE(bad_token);
  EXPECT_EQ(bad_token.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(bad_token.error().message.starts_with("token_a: "));
  auto long_token = registration_.connect(std::string(kTheirVersions), std::string(65, 'a'), "");
  EXPECT_EQ(long_token.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(registration_.create_invite("").error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(partner_.calls().empty());
}

TEST_F(CredentialsTest, ConnectToAnUnreachablePartnerIsUnavailableAndLeavesNothing) {
  partner_.versions_error =
      Error{ErrorCode::kUnavailable,
            "GET https://emsp.test/ocpi/versions: connect emsp.test:443 failed: refused"};
  auto p = registration_.connect(std::string(kTheirVersions), "a", "x");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(p.error().message.starts_with("GET https://emsp.test/ocpi/versions: connect"));
  EXPECT_TRUE(registration_.list()->empty());
}

TEST_F(CredentialsTest, ConnectWithoutCommonVersionOrEndpointIsFailedPrecondition) {
  partner_.versions_answer = {{"2.1.1", "https://emsp.test/ocpi/2.1.1"}};
  auto no_version = registration_.connect(std::string(kTheirVersions), "a", "x");
  ASSERT_FALSE(no_version);
  EXPECT_EQ(no_version.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(no_version.error().message.starts_with("no common version: they offer 2.1.1"));

  partner_.versions_answer = {{"2.2.1", std::string(kTheirDetails)}};
  partner_.details_answer.endpoints = {};
  auto no_endpoint = registration_.connect(std::string(kTheirVersions), "a", "x");
  ASSERT_FALSE(no_endpoint);
  EXPECT_EQ(no_endpoint.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(no_endpoint.error().message.starts_with("no credentials endpoint"));
  EXPECT_TRUE(registration_.list()->empty());
}

TEST_F(CredentialsTest, ConnectRefusedByThemIsFailedPreconditionAndTokenBDies) {
  std::string token_b;
  partner_.during_credentials = [&](const Credentials& ours) { token_b = ours.token; };
  partner_.credentials_error =
      Error{ErrorCode::kFailedPrecondition,
            "POST https://emsp.test/ocpi/2.2.1/credentials: status_code 2001: roles: missing"};
  auto p = registration_.connect(std::string(kTheirVersions), "a", "x");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(p.error().message.find("status_code 2001: roles: missing"), std::string::npos);
  EXPECT_TRUE(registration_.list()->empty());
  ASSERT_FALSE(token_b.empty());
  EXPECT_EQ(call("GET", "/ocpi/versions", token_b).http_status, 401);
}

TEST_F(CredentialsTest, ConnectToATakenPartyIsAlreadyExistsAndUndoneAtThem) {
  auto [first, token_c] = registered("token-b-1", "EXA");
  auto p = registration_.connect(std::string(kTheirVersions), "a", "again");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(p.error().message, "party NL/EXA is already registered as partner " + first);
  EXPECT_EQ(partner_.calls().back().method, "DELETE");
  EXPECT_EQ(partner_.calls().back().token, "token-c-1");
  EXPECT_EQ(registration_.list()->size(), 1U);
}

TEST_F(CredentialsTest, PostWithTheTokenOfAConnectInProgressIs405) {
  std::optional<int> status;
  partner_.during_credentials = [&](const Credentials& ours) {
    status =
        call("POST", "/ocpi/2.2.1/credentials", ours.token, their_credentials("z")).http_status;
  };
  ASSERT_TRUE(registration_.connect(std::string(kTheirVersions), "a", "x"));
  EXPECT_EQ(status, 405);
}

TEST_F(CredentialsTest, UpdateRotatesTokensAndTheOldOneDies) {
  std::string token_b;
  partner_.during_credentials = [&](const Credentials& ours) { token_b = ours.token; };
  auto p = registration_.connect(std::string(kTheirVersions), "a", "x");
  ASSERT_TRUE(p) << p.error().message;
  const std::string old_b = token_b;

  std::optional<int> new_during;
  std::optional<int> old_during;
  partner_.during_credentials = [&](const Credentials& ours) {
    token_b = ours.token;
    new_during = call("GET", "/ocpi/versions", ours.token).http_status;
    old_during = call("GET", "/ocpi/versions", old_b).http_status;
  };
  partner_.next_token = "token-c-2";
  clock_.advance(std::chrono::seconds(5));
  auto updated = registration_.update(p->id);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(new_during, 200);  // B' is live while they check it
  EXPECT_EQ(old_during, 200);  // and B until they answer
  auto calls = partner_.calls();
  EXPECT_EQ(calls.back().method, "PUT");
  EXPECT_EQ(calls.back().token, "token-c-1");  // we authenticate with their current token
  EXPECT_EQ(updated->their_token, "token-c-2");
  EXPECT_GT(updated->updated_at, updated->created_at);
  EXPECT_NE(token_b, old_b);
  EXPECT_EQ(call("GET", "/ocpi/versions", old_b).http_status, 401);
  EXPECT_EQ(call("GET", "/ocpi/versions", token_b).http_status, 200);
}

TEST_F(CredentialsTest, AFailedUpdateKeepsTokensAndRecordsTheError) {
  auto [id, token_c] = registered("token-b-1");
  partner_.credentials_error =
      Error{ErrorCode::kFailedPrecondition, "PUT x: HTTP 401: status_code 2000: unknown token"};
  auto r = registration_.update(id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  const Partner p = partner(id);
  EXPECT_EQ(p.their_token, "token-b-1");
  EXPECT_EQ(p.last_error, "PUT x: HTTP 401: status_code 2000: unknown token");
  EXPECT_EQ(call("GET", "/ocpi/versions", token_c).http_status, 200);
}

TEST_F(CredentialsTest, UpdateAndUnregisterNeedARegisteredPartner) {
  auto invite = registration_.create_invite("not yet");
  EXPECT_EQ(registration_.update(invite->partner.id).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(registration_.unregister(invite->partner.id).error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(registration_.update("ptr-000000000000").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(registration_.unregister("ptr-000000000000").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(registration_.get("ptr-000000000000").error().code, ErrorCode::kNotFound);
}

TEST_F(CredentialsTest, UnregisterDeletesAtThemAndForgetsBothTokens) {
  auto [id, token_c] = registered("token-b-1");
  auto p = registration_.unregister(id);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->state, PartnerState::kUnregistered);
  EXPECT_EQ(p->last_error, "");
  EXPECT_EQ(partner_.calls().back().method, "DELETE");
  EXPECT_EQ(partner_.calls().back().url, kTheirCredentials);
  EXPECT_EQ(partner_.calls().back().token, "token-b-1");
  EXPECT_TRUE(partner(id).their_token.empty());
  EXPECT_EQ(call("GET", "/ocpi/versions", token_c).http_status, 401);
}

TEST_F(CredentialsTest, UnregisterGoesOnWhenTheirDeleteFails) {
  auto [id, token_c] = registered();
  partner_.delete_error = Error{ErrorCode::kUnavailable, "DELETE x: connect failed"};
  auto p = registration_.unregister(id);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->state, PartnerState::kUnregistered);
  EXPECT_EQ(p->last_error, "DELETE x: connect failed");
  EXPECT_EQ(call("GET", "/ocpi/versions", token_c).http_status, 401);
}

}  // namespace
}  // namespace switchyard::roaming

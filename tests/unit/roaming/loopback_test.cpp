// Two Switchyard CPOs registering with each other over loopback HTTP: the OCPI routes, the HTTP
// client (base64 tokens, envelopes, error mapping) and the metrics, end to end in one process.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <mutex>

#include "common/runtime/http/client.h"
#include "common/runtime/http/server.h"
#include "roaming/credentials.h"
#include "roaming/metrics.h"
#include "roaming/ocpi_client.h"
#include "roaming/ocpi_routes.h"
#include "roaming/settings.h"

namespace switchyard::roaming {
namespace {

class MemoryPartnerStore final : public PartnerStore {
 public:
  Result<std::vector<Partner>> load_all() override {
    std::lock_guard lock(mutex_);
    std::vector<Partner> out;
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

// A port nothing listens on right now (the kernel's pick, released again).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// One CPO: store, client, registration, its OCPI routes on its own HTTP server.
struct Cpo {
  explicit Cpo(const std::string& party_id)
      : port(free_port()),
        metrics(registry),
        client(client_settings(), &metrics),
        registration(settings(party_id, port), store, client, system_clock(), &metrics),
        server(server_config(port)) {
    install_ocpi_routes(server, registration, &metrics);
    auto started = server.start();
    EXPECT_TRUE(started) << started.error().message;
  }
  ~Cpo() { server.stop(); }

  static http::ServerConfig server_config(int port) {
    http::ServerConfig c;
    c.address = "127.0.0.1";
    c.port = port;
    c.threads = 2;
    return c;
  }

  static http::ClientSettings client_settings() {
    http::ClientSettings s;
    s.connect_timeout = std::chrono::seconds(2);
    s.total_timeout = std::chrono::seconds(5);
    return s;
  }
  static OcpiSettings settings(const std::string& party_id, int port) {
    OcpiSettings s;
    s.party_id = party_id;
    auto checked = checked_ocpi_settings(s, ocpi_default_base_url("0.0.0.0", port));
    EXPECT_TRUE(checked);
    return *checked;
  }

  double requests(const std::string& direction, const std::string& module,
                  const std::string& method, const std::string& status) {
    for (const auto& family : registry.Collect()) {
      if (family.name != "switchyard_roaming_requests_total") continue;
      for (const auto& m : family.metric) {
        std::map<std::string, std::string> labels;
        for (const auto& l : m.label) labels[l.name] = l.value;
        if (labels["direction"] == direction && labels["module"] == module &&
            labels["method"] == method && labels["status"] == status &&
            labels["protocol"] == "ocpi") {
          return m.counter.value;
        }
      }
    }
    return 0;
  }
  double partners(const std::string& state) {
    for (const auto& family : registry.Collect()) {
      if (family.name != "switchyard_roaming_partners") continue;
      for (const auto& m : family.metric) {
        if (m.label.at(0).value == state) return m.gauge.value;
      }
    }
    return -1;
  }

  int port;
  prometheus::Registry registry;
  RoamingMetrics metrics;
  MemoryPartnerStore store;
  HttpOcpiClient client;
  Registration registration;
  http::Server server;
};

TEST(OcpiLoopback, TwoCposRegisterUpdateAndUnregisterOverHttp) {
  Cpo x("AAA");
  Cpo y("BBB");
  auto invite = x.registration.create_invite("CPO BBB");
  ASSERT_TRUE(invite);
  EXPECT_EQ(invite->versions_url, "http://127.0.0.1:" + std::to_string(x.port) + "/ocpi/versions");

  auto connected = y.registration.connect(invite->versions_url, invite->token_a, "");
  ASSERT_TRUE(connected) << connected.error().message;
  EXPECT_EQ(connected->state, PartnerState::kRegistered);
  EXPECT_EQ(connected->name, "Switchyard CPO");
  EXPECT_EQ(connected->roles.at(0).party_id, "AAA");
  EXPECT_EQ(connected->versions_url, invite->versions_url);

  const Partner at_x = *x.registration.get(invite->partner.id);
  EXPECT_EQ(at_x.state, PartnerState::kRegistered);
  EXPECT_EQ(at_x.roles.at(0).party_id, "BBB");
  EXPECT_EQ(at_x.versions_url, "http://127.0.0.1:" + std::to_string(y.port) + "/ocpi/versions");
  EXPECT_EQ(credentials_url(at_x),
            "http://127.0.0.1:" + std::to_string(y.port) + "/ocpi/2.2.1/credentials");

  // Y read X's versions and details with token A, then POSTed; X read Y's with token B.
  EXPECT_EQ(y.requests("out", "versions", "GET", "200"), 2);
  EXPECT_EQ(y.requests("out", "credentials", "POST", "200"), 1);
  EXPECT_EQ(x.requests("in", "credentials", "POST", "200"), 1);
  EXPECT_EQ(x.requests("out", "versions", "GET", "200"), 2);
  EXPECT_EQ(x.partners("registered"), 1);
  EXPECT_EQ(x.partners("invited"), 0);
  EXPECT_EQ(y.partners("registered"), 1);

  // Token A is dead now.
  http::Client raw;
  auto dead = raw.send({"GET",
                        invite->versions_url,
                        {{"Authorization", authorization_header(invite->token_a)}},
                        "",
                        ""});
  ASSERT_TRUE(dead);
  EXPECT_EQ(dead->status, 401);
  EXPECT_EQ(dead->content_type, "application/json");

  // Both sides rotate, each initiating once.
  auto y_update = y.registration.update(connected->id);
  ASSERT_TRUE(y_update) << y_update.error().message;
  auto x_update = x.registration.update(invite->partner.id);
  ASSERT_TRUE(x_update) << x_update.error().message;
  EXPECT_EQ(x.requests("in", "credentials", "PUT", "200"), 1);
  EXPECT_EQ(y.requests("in", "credentials", "PUT", "200"), 1);

  // And they still reach each other with the rotated tokens.
  auto again = y.registration.update(connected->id);
  ASSERT_TRUE(again) << again.error().message;

  auto gone = y.registration.unregister(connected->id);
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_EQ(gone->state, PartnerState::kUnregistered);
  EXPECT_EQ(gone->last_error, "");
  EXPECT_EQ(x.registration.get(invite->partner.id)->state, PartnerState::kUnregistered);
  EXPECT_EQ(x.requests("in", "credentials", "DELETE", "200"), 1);
  EXPECT_EQ(x.partners("unregistered"), 1);
}

TEST(OcpiLoopback, ConnectErrorsNameTheCallAndMapToCodes) {
  Cpo x("AAA");
  Cpo y("BBB");
  const std::string closed = "http://127.0.0.1:" + std::to_string(free_port()) + "/ocpi/versions";
  auto unreachable = y.registration.connect(closed, "some-token", "");
  ASSERT_FALSE(unreachable);
  EXPECT_EQ(unreachable.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(unreachable.error().message.starts_with("GET " + closed + ": connect"))
      << unreachable.error().message;
  EXPECT_EQ(y.requests("out", "versions", "GET", "error"), 1);

  const std::string versions = "http://127.0.0.1:" + std::to_string(x.port) + "/ocpi/versions";
  auto wrong_token = y.registration.connect(versions, "not-an-invite", "");
  ASSERT_FALSE(wrong_token);
  EXPECT_EQ(wrong_token.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(wrong_token.error().message,
            "GET " + versions + ": HTTP 401: status_code 2000: unknown or missing token");
  EXPECT_EQ(x.requests("in", "versions", "GET", "401"), 1);
  EXPECT_TRUE(y.registration.list()->empty());

  // A second handshake between the same two parties: X refuses it (its party DE/BBB is
  // registered already), Y passes X's OCPI error on and forgets the attempt.
  auto invite = x.registration.create_invite("first");
  ASSERT_TRUE(y.registration.connect(invite->versions_url, invite->token_a, "first"));
  auto invite2 = x.registration.create_invite("second");
  auto twice = y.registration.connect(invite2->versions_url, invite2->token_a, "second");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(twice.error().message.find(
                ": status_code 2000: party DE/BBB is already registered as partner " +
                invite->partner.id),
            std::string::npos)
      << twice.error().message;
  EXPECT_EQ(x.registration.get(invite2->partner.id)->state, PartnerState::kInvited);
  EXPECT_EQ(y.registration.list()->size(), 1U);
}

}  // namespace
}  // namespace switchyard::roaming

// The roaming service object (see roaming.h).
#include "roaming/roaming.h"

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "common/runtime/bus/arena_message.h"
#include "common/runtime/bus/event_consumer.h"
#include "common/runtime/bus/parse_event.h"
#include "common/runtime/core/log.h"
#include "common/runtime/http/client.h"
#include "roaming/charging_profiles.h"
#include "roaming/commands.h"
#include "roaming/credentials.h"
#include "roaming/grpc_api.h"
#include "roaming/grpc_charger_commands.h"
#include "roaming/grpc_session_limits.h"
#include "roaming/grpc_tariff_source.h"
#include "roaming/location_pusher.h"
#include "roaming/location_store.h"
#include "roaming/locations_sender.h"
#include "roaming/metrics.h"
#include "roaming/ocpi_client.h"
#include "roaming/ocpi_routes.h"
#include "roaming/oicp_client.h"
#include "roaming/oicp_pusher.h"
#include "roaming/oicp_sessions.h"
#include "roaming/partners.h"
#include "roaming/sessions.h"
#include "roaming/status_feed.h"
#include "roaming/tokens.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::roaming {

namespace {

// How long a charger has to answer a command (and what the CommandResponse promises).
constexpr std::chrono::milliseconds kCommandTimeout{30000};
// Hubject wants a remote start / stop answered within 10 s, network included.
constexpr std::chrono::milliseconds kOicpCommandTimeout{7000};
// Hubject's real-time authorization of a token only it knows: eRoamingAuthorizeStop first where a
// Hubject session runs, then eRoamingAuthorizeStart; both within the auth service's 3 s wait
// (--roaming-timeout).
constexpr std::chrono::milliseconds kOicpAuthorizationTimeout{2000};
constexpr std::chrono::milliseconds kOicpStopAuthorizationTimeout{800};
// A driver Hubject started remotely is accepted by the charger's authorization this long.
constexpr std::int64_t kOicpAuthorizationWindowMs = 15LL * 60 * 1000;

http::ClientSettings client_settings(const OcpiSettings& s) {
  http::ClientSettings c;
  c.total_timeout = s.timeout;
  c.connect_timeout = std::min(s.timeout, c.connect_timeout);
  return c;
}

}  // namespace

struct RoamingService::Impl {
  Impl(const OcpiSettings& s, sql::Database& db, WorkPool& pool, const Clock& clock,
       prometheus::Registry* registry)
      : store(db),
        metrics(registry != nullptr ? std::make_unique<RoamingMetrics>(*registry) : nullptr),
        client(client_settings(s), metrics.get(), Party{s.country_code, s.party_id}),
        registration(s, store, client, clock, metrics.get()),
        locations(db, clock),
        locations_sender(locations, Party{s.country_code, s.party_id},
                         registration.module_url("locations"), clock),
        outbox(db),
        pusher(outbox, store, client, clock, registry),
        location_pushes(locations, outbox, Party{s.country_code, s.party_id}),
        status_feed(locations, &pusher, registry),
        tokens(db),
        tokens_receiver(tokens, clock),
        token_authorizer(tokens, store, client),
        sessions(db, clock),
        tariff_source(std::chrono::seconds(5)),
        tariffs(tariff_source, db, clock),
        tariffs_sender(tariffs, Party{s.country_code, s.party_id},
                       registration.module_url("tariffs"), clock),
        tariff_pushes(tariffs, Party{s.country_code, s.party_id}),
        session_objects(sessions, locations, Party{s.country_code, s.party_id}, s.currency,
                        &tariffs),
        session_feed(sessions, tokens, &pusher, clock, registry),
        session_pushes(sessions, session_objects, Party{s.country_code, s.party_id}),
        cdr_pushes(sessions, session_objects),
        sessions_sender("sessions", sessions, session_objects, registration.module_url("sessions"),
                        clock),
        cdrs_sender("cdrs", sessions, session_objects, registration.module_url("cdrs"), clock),
        chargers(kCommandTimeout),
        commands({locations, sessions, tokens, db}, client, chargers, clock, registry,
                 std::chrono::duration_cast<std::chrono::seconds>(kCommandTimeout)),
        session_limits(kCommandTimeout),
        charging_profiles(sessions, client, session_limits, clock, registry,
                          std::chrono::duration_cast<std::chrono::seconds>(kCommandTimeout)),
        transactions_topic(s.transactions_topic),
        cdrs_topic(s.cdrs_topic),
        api(
            registration, locations, outbox, pusher,
            [this](const std::string& id_token, const std::string& charger_id) {
              return authorize(id_token, charger_id);
            },
            Party{s.country_code, s.party_id}, pool),
        clock_ref(clock) {
    registration.add_module(locations_sender);
    registration.add_module(tokens_receiver);
    registration.add_module(sessions_sender);
    registration.add_module(cdrs_sender);
    registration.add_module(commands);
    registration.add_module(charging_profiles);
    registration.add_module(tariffs_sender);
    pusher.add_source(location_pushes);
    pusher.add_source(session_pushes);
    pusher.add_source(cdr_pushes);
    pusher.add_source(tariff_pushes);
    tariffs.on_change([this] { return pusher.receivers("tariffs"); });
    // A partner that receives locations gets every published one when it registers (then the
    // changes): it need not pull first.
    registration.on_registered([this](const Partner& p) {
      pusher.forget_receivers();  // its changes from now on, not from a second later
      auto queued = queue_everything(p);
      if (!queued) {
        log::warn("existing locations or tariffs not queued for the new partner (it can pull them)",
                  {{"partner_id", p.id}, {"error", queued.error().message}});
        return;
      }
      log::info(
          "existing locations queued for the new partner",
          {{"partner_id", p.id}, {"locations", queued->locations}, {"tariffs", queued->tariffs}});
    });
    if (s.oicp.enabled()) {
      oicp_client = std::make_unique<HttpOicpClient>(s.oicp, metrics.get());
      oicp_sessions = std::make_unique<OicpSessionStore>(db, &locations);
      // A charger waits for the authorization: Hubject gets at most 0.8 s for a stop and 2 s
      // for a start (the auth service waits 3 s for roaming, --roaming-timeout).
      OicpSettings quick = s.oicp;
      quick.timeout = std::min(quick.timeout, kOicpAuthorizationTimeout);
      oicp_authorization_client = std::make_unique<HttpOicpClient>(quick, metrics.get());
      quick.timeout = std::min(quick.timeout, kOicpStopAuthorizationTimeout);
      oicp_stop_client = std::make_unique<HttpOicpClient>(quick, metrics.get());
      oicp_authorizer =
          std::make_unique<OicpAuthorizer>(s.oicp, *oicp_sessions, *oicp_authorization_client,
                                           clock, registry, oicp_stop_client.get());
      OicpSettings pushes = s.oicp;
      pushes.currency = s.currency;  // of the default price when there is no default tariff
      oicp_pusher =
          std::make_unique<OicpPusher>(pushes, locations, outbox, db, *oicp_client, clock, registry,
                                       OicpPushOptions{}, oicp_sessions.get(), &tariffs);
      if (s.oicp.port > 0) {
        oicp_chargers = std::make_unique<GrpcChargerCommands>(kOicpCommandTimeout);
        oicp_remote = std::make_unique<OicpRemoteReceiver>(
            s.oicp, db, locations, *oicp_sessions, *oicp_chargers, clock, metrics.get(), registry);
        http::ServerConfig c;
        c.address = s.oicp.listen_address;
        c.port = s.oicp.port;
        c.threads = 4;  // a handler waits up to 7 s for a charger
        c.tls_certificate = s.oicp.server_certificate;
        c.tls_key = s.oicp.server_key;
        c.tls_client_ca = s.oicp.client_ca;
        oicp_server = std::make_unique<http::Server>(c);
        oicp_remote->install_routes(*oicp_server);
      }
      // Location and EVSE status changes go into Hubject's outbox too.
      pusher.add_built_in_receiver("locations", std::string(kHubjectPartner),
                                   [this] { oicp_pusher->wake(); });
    }
    token_authorizer.on_decision([this](const std::string& uid, const RoamingTokenDecision& d) {
      session_feed.authorized(uid, d);
    });
    if (oicp_pusher) {
      Partner h;
      h.id = std::string(kHubjectPartner);
      h.name = "Hubject (OICP 2.3) as " + s.oicp.operator_id;
      h.state = PartnerState::kRegistered;
      h.version = "2.3";
      h.versions_url = s.oicp.url;
      hubject_partner = std::move(h);
    }
    api.set_operations([this](const std::string& id) { return resend(id); },
                       [this] {
                         return hubject_partner ? std::vector<Partner>{*hubject_partner}
                                                : std::vector<Partner>{};
                       });
  }

  // Every published location (when `p` receives locations), then every tariff (when it receives
  // tariffs), into its outbox: a partner that just registered, or the operator's resend.
  struct Queued {
    std::int64_t locations = 0;
    std::int64_t tariffs = 0;
  };
  Result<Queued> queue_everything(const Partner& p) {
    Queued q;
    if (!receiver_url(p, "locations").empty()) {
      auto n = locations.enqueue_published(p.id);
      if (!n) return std::unexpected(n.error());
      q.locations = *n;
    }
    if (!receiver_url(p, "tariffs").empty()) {
      auto n = tariffs.enqueue_all(p.id);
      if (!n) return std::unexpected(n.error());
      q.tariffs = *n;
    }
    pusher.wake();
    return q;
  }

  // Roaming.ResendToPartner: a registered partner gets everything again (queue_everything) and
  // whatever waits is due now; Hubject a fullLoad.
  Result<std::int64_t> resend(const std::string& partner_id) {
    if (partner_id == kHubjectPartner) {
      if (!oicp_pusher) return make_error(ErrorCode::kNotFound, "OICP is off (--oicp-url)");
      oicp_pusher->resend();
      return 0;
    }
    auto p = registration.get(partner_id);
    if (!p) return std::unexpected(p.error());
    if (auto r = outbox.retry_now(p->id, unix_ms(clock_ref.now())); !r) {
      return std::unexpected(r.error());
    }
    auto queued = queue_everything(*p);
    if (!queued) return std::unexpected(queued.error());
    return queued->locations + queued->tariffs;
  }

  // A token the auth service does not know, presented at `charger_id`: a driver Hubject just
  // started remotely (the charger's own authorization of the token) or whose Hubject session runs
  // there, else an eMSP's token, else (unknown to every eMSP) Hubject asked in real time: as a stop
  // of the Hubject session running at the charger, then as a start.
  Result<RoamingTokenDecision> authorize(const std::string& id_token,
                                         const std::string& charger_id) {
    if (oicp_sessions) {
      auto session = oicp_sessions->authorizes(id_token, charger_id, unix_ms(clock_ref.now()),
                                               kOicpAuthorizationWindowMs);
      if (!session) return std::unexpected(session.error());
      if (*session) return oicp_accepted(id_token, (*session)->session_id);
    }
    auto ocpi = token_authorizer.authorize(id_token);
    if (!ocpi || ocpi->known || !oicp_authorizer) return ocpi;
    auto stop = oicp_authorizer->authorize_stop(id_token, charger_id);
    if (!stop) return std::unexpected(stop.error());
    if (stop->kind == OicpStopAnswer::Kind::kAuthorized) return stop->decision;
    if (stop->kind == OicpStopAnswer::Kind::kNoAnswer) return *ocpi;  // Hubject is not there
    auto hubject = oicp_authorizer->authorize(id_token, charger_id);
    if (!hubject) return std::unexpected(hubject.error());
    return *hubject ? **hubject : *ocpi;
  }

  SqlPartnerStore store;
  std::unique_ptr<RoamingMetrics> metrics;
  HttpOcpiClient client;
  Registration registration;
  LocationStore locations;
  LocationsSender locations_sender;
  PushOutbox outbox;
  Pusher pusher;
  LocationPushSource location_pushes;
  StatusFeed status_feed;
  TokenStore tokens;
  TokensReceiver tokens_receiver;
  TokenAuthorizer token_authorizer;
  SessionStore sessions;
  GrpcTariffSource tariff_source;
  TariffCatalog tariffs;
  TariffsSender tariffs_sender;
  TariffPushSource tariff_pushes;
  SessionObjects session_objects;
  SessionFeed session_feed;
  SessionPushSource session_pushes;
  CdrPushSource cdr_pushes;
  OwnedListSender sessions_sender;
  OwnedListSender cdrs_sender;
  GrpcChargerCommands chargers;
  CommandsReceiver commands;
  GrpcSessionLimits session_limits;
  ChargingProfilesReceiver charging_profiles;
  std::string transactions_topic;
  std::string cdrs_topic;
  RoamingApi api;
  std::optional<Partner> hubject_partner;       // with --oicp-url: the API's "@hubject"
  std::unique_ptr<HttpOicpClient> oicp_client;  // with --oicp-url
  std::unique_ptr<OicpSessionStore> oicp_sessions;
  std::unique_ptr<HttpOicpClient> oicp_authorization_client;
  std::unique_ptr<HttpOicpClient> oicp_stop_client;
  std::unique_ptr<OicpAuthorizer> oicp_authorizer;
  std::unique_ptr<OicpPusher> oicp_pusher;
  std::unique_ptr<GrpcChargerCommands> oicp_chargers;  // with --oicp-port
  std::unique_ptr<OicpRemoteReceiver> oicp_remote;
  std::unique_ptr<http::Server> oicp_server;
  const Clock& clock_ref;
};

RoamingService::RoamingService(const OcpiSettings& checked_settings, sql::Database& db,
                               WorkPool& pool, const Clock& clock, prometheus::Registry* metrics)
    : impl_(std::make_unique<Impl>(checked_settings, db, pool, clock, metrics)) {
  impl_->registration.publish_counts();
}

RoamingService::~RoamingService() = default;

void RoamingService::install_routes(http::Server& server) {
  install_ocpi_routes(server, impl_->registration, impl_->metrics.get());
}

grpc::Service& RoamingService::grpc_service() { return impl_->api; }

Registration& RoamingService::registration() { return impl_->registration; }

std::string RoamingService::versions_url() const { return impl_->registration.versions_url(); }

void RoamingService::start() {
  impl_->pusher.start();
  if (impl_->oicp_pusher) impl_->oicp_pusher->start();
}

Result<RoamingTokenDecision> RoamingService::authorize_token(const std::string& id_token,
                                                             const std::string& charger_id) {
  return impl_->authorize(id_token, charger_id);
}

Result<void> RoamingService::listen_oicp() {
  auto& server = impl_->oicp_server;
  if (!server) return {};
  if (auto started = server->start(); !started) {
    return make_error(started.error().code, "--oicp-port: " + started.error().message);
  }
  log::info("OICP listener started", {{"port", server->port()}});
  return {};
}

int RoamingService::oicp_port() const {
  return impl_->oicp_server ? impl_->oicp_server->port() : 0;
}

void RoamingService::stop() {
  if (impl_->oicp_server) impl_->oicp_server->stop();
  impl_->pusher.stop();
  if (impl_->oicp_pusher) impl_->oicp_pusher->stop();
  impl_->commands.stop();  // the commands in flight post their results first
  impl_->charging_profiles.stop();
}

void RoamingService::set_transactions_channel(
    const std::shared_ptr<grpc::ChannelInterface>& channel) {
  impl_->tariff_source.set_channel(channel);
}

void RoamingService::set_smart_charging_channel(
    const std::shared_ptr<grpc::ChannelInterface>& channel) {
  impl_->session_limits.set_channel(channel);
}

void RoamingService::set_gateway_channel(const std::shared_ptr<grpc::ChannelInterface>& channel) {
  impl_->chargers.set_channel(channel);
  if (impl_->oicp_chargers) impl_->oicp_chargers->set_channel(channel);
}

Result<void> RoamingService::handle_event(const bus::Event& event) {
  // With OICP, each transaction update and CDR is parsed once for both feeds; one that does not
  // parse goes to the session feed alone, which counts and skips it.
  if (event.topic == impl_->transactions_topic) {
    if (!impl_->oicp_sessions) return impl_->session_feed.handle_transaction(event);
    bus::ArenaMessage<v1::TransactionUpdated> update;
    if (!bus::parse_event(event, *update, nullptr)) {
      return impl_->session_feed.handle_transaction(event);
    }
    if (auto a = impl_->oicp_sessions->apply(*update, unix_ms(impl_->clock_ref.now())); !a) {
      return a;
    }
    return impl_->session_feed.apply(*update);
  }
  if (event.topic == impl_->cdrs_topic) {
    if (!impl_->oicp_sessions) return impl_->session_feed.handle_cdr(event);
    bus::ArenaMessage<v1::Cdr> cdr;
    if (!bus::parse_event(event, *cdr, nullptr)) return impl_->session_feed.handle_cdr(event);
    auto queued = impl_->oicp_sessions->put_cdr(*cdr, unix_ms(impl_->clock_ref.now()));
    if (!queued) return std::unexpected(queued.error());
    if (*queued) impl_->oicp_pusher->wake();
    return impl_->session_feed.apply(*cdr);
  }
  return impl_->status_feed.handle(event);
}

Result<void> RoamingService::flush_events() { return impl_->status_feed.flush(); }

Result<std::unique_ptr<RoamingService>> make_roaming_service(
    OcpiSettings settings, const std::string& default_base_url, sql::Database& db, WorkPool& pool,
    http::Server& server, const Clock& clock, prometheus::Registry* metrics) {
  auto checked = checked_ocpi_settings(std::move(settings), default_base_url);
  if (!checked) return std::unexpected(checked.error());
  std::unique_ptr<RoamingService> service;
  try {
    service = std::make_unique<RoamingService>(*checked, db, pool, clock, metrics);
  } catch (const std::runtime_error& e) {  // the OICP client's certificate, key or CA
    return make_error(
        ErrorCode::kInvalidArgument,
        std::string("--oicp-client-certificate / --oicp-client-key / --oicp-ca: ") + e.what());
  }
  service->install_routes(server);
  if (auto listening = service->listen_oicp(); !listening) {
    return std::unexpected(listening.error());
  }
  return service;
}

}  // namespace switchyard::roaming

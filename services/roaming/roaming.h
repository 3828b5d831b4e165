// The roaming service object: everything the OCPI side and the Roaming gRPC API need, wired on
// one database, so switchyard-roaming and switchyard-standalone build it the same way.
#pragma once

#include <memory>
#include <string>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "roaming/settings.h"

namespace grpc {
class ChannelInterface;
class Service;
}  // namespace grpc
namespace prometheus {
class Registry;
}  // namespace prometheus

namespace switchyard {
class WorkPool;
namespace bus {
struct Event;
}  // namespace bus
namespace http {
class Server;
}  // namespace http
namespace sql {
class Database;
}  // namespace sql
}  // namespace switchyard

namespace switchyard::roaming {

class Registration;
struct RoamingTokenDecision;

class RoamingService {
 public:
  // `db` has roaming::migrations() (schema.h) applied (scope "roaming"). The database, pool, clock
  // and registry outlive this.
  RoamingService(const OcpiSettings& checked_settings, sql::Database& db, WorkPool& pool,
                 const Clock& clock, prometheus::Registry* metrics);
  ~RoamingService();
  RoamingService(const RoamingService&) = delete;
  RoamingService& operator=(const RoamingService&) = delete;

  // The OCPI endpoints under the base URL's path. Before server.start(); the server stops
  // before this goes.
  void install_routes(http::Server& server);
  // switchyard.v1.Roaming, to register with the gRPC server.
  grpc::Service& grpc_service();
  Registration& registration();
  // Our versions endpoint (what partners are told).
  std::string versions_url() const;
  // Binds the OICP listener for Hubject's calls (--oicp-port, mutual TLS) when configured;
  // make_roaming_service does. The bound port (0: none).
  Result<void> listen_oicp();
  int oicp_port() const;
  // Starts / stops pushing changes to partners (a thread). stop() before the database goes.
  void start();
  void stop();
  // ChargerControl of a gateway pod, for the eMSPs' commands (without one every command fails:
  // FAILED, "no gateway configured").
  void set_gateway_channel(const std::shared_ptr<grpc::ChannelInterface>& channel);
  // The smart-charging service (the eMSPs' charging profiles; without one the chargingprofiles
  // module answers NOT_SUPPORTED).
  void set_smart_charging_channel(const std::shared_ptr<grpc::ChannelInterface>& channel);
  // The transactions service (its tariffs, for the tariffs module and CDRs; without one the
  // tariffs module answers 503 and CDRs carry no tariffs).
  void set_transactions_channel(const std::shared_ptr<grpc::ChannelInterface>& channel);
  // A driver's token from the tokens partners pushed (in process: what Roaming.AuthorizeToken
  // answers).
  // `charger_id`: where it was presented (Hubject's AuthorizeStart names the EVSE when the
  // charger has one).
  Result<RoamingTokenDecision> authorize_token(const std::string& id_token,
                                               const std::string& charger_id = "");
  // The handler for ocpp.events.v1 (EVSE statuses of the locations) and the transactions
  // service's topics (roaming drivers' sessions and CDRs), consumer group "switchyard-roaming".
  // An error means "retry the event".
  Result<void> handle_event(const bus::Event& event);
  // The flush handler of that consumer: writes the EVSE statuses of the poll's events in one
  // transaction (handle_event only gathers them). An error means "deliver the poll again".
  Result<void> flush_events();

  struct Impl;  // defined in roaming.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

// The service for a binary: the OCPI flags checked (an empty --ocpi-base-url becomes
// `default_base_url`, see ocpi_default_base_url), the routes on `server`. kInvalidArgument names
// the flag that cannot work.
Result<std::unique_ptr<RoamingService>> make_roaming_service(
    OcpiSettings settings, const std::string& default_base_url, sql::Database& db, WorkPool& pool,
    http::Server& server, const Clock& clock, prometheus::Registry* metrics);

}  // namespace switchyard::roaming

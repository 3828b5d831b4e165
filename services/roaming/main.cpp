// switchyard-roaming: parse settings, open PostgreSQL and migrate, serve OCPI 2.2.1 (versions,
// credentials, locations) on the HTTP side port and switchyard.v1.Roaming over gRPC, and follow
// the charger events (EVSE statuses) and the transactions service's updates and CDRs (roaming
// drivers' sessions) until SIGTERM.
#include <grpcpp/grpcpp.h>

#include <thread>

#include "common/runtime/bus/kafka_event_consumer.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/grpc/channel.h"
#include "common/runtime/grpc/work_pool.h"
#include "common/runtime/kafka/admin.h"
#include "common/runtime/process/consumer_service.h"
#include "common/runtime/process/process.h"
#include "roaming/roaming.h"
#include "roaming/schema.h"
#include "roaming/settings.h"

using namespace switchyard;

int main(int argc, char** argv) {
  Process process;  // first: blocks the signals before any thread starts
  ConsumerServiceOptions options(50075, 8095, "switchyard-roaming", 4);
  roaming::OcpiSettings ocpi;
  std::string gateway_address;
  std::string transactions_address;
  std::string smart_charging_address;
  Settings settings("switchyard-roaming",
                    "Switchyard roaming: OCPI 2.2.1 CPO (versions, credentials, locations, ...) "
                    "and its partners; OICP 2.3 EVSE data and statuses to Hubject");
  options.add_to(settings, "switchyard.v1.Roaming");
  roaming::add_ocpi_settings(settings, ocpi);
  roaming::add_oicp_settings(settings, ocpi.oicp);
  settings
      .add("transactions-topic", ocpi.transactions_topic,
           "Topic of the transactions service's transaction updates (roaming drivers' sessions)")
      .add("cdr-topic", ocpi.cdrs_topic,
           "Topic of the transactions service's CDRs (roaming drivers' CDRs)")
      .add("gateway-address", gateway_address,
           "ChargerControl of any gateway pod, for the eMSPs' commands (START_SESSION, ...)")
      .add("transactions-address", transactions_address,
           "Transactions API, for the tariffs (OCPI tariffs module, CDRs)")
      .add("smart-charging-address", smart_charging_address,
           "SmartCharging API, for the eMSPs' charging profiles (OCPI chargingprofiles); empty: "
           "they are answered NOT_SUPPORTED");
  if (auto code = settings.parse(argc, argv)) return *code;
  log::init("roaming", "", log::parse_level(options.log_level));
  auto fail = [](const std::string& what) {
    log::error("cannot start", {{"error", what}});
    return 1;
  };

  const std::string default_base_url =
      roaming::ocpi_default_base_url(options.listen_address, options.http_port);
  ocpi.oicp.listen_address = options.listen_address;
  // Bad OCPI flags fail before anything touches the database.
  if (auto checked = roaming::checked_ocpi_settings(ocpi, default_base_url); !checked) {
    return fail(checked.error().message);
  }
  auto db = open_service_database(options, roaming::migrations(), "roaming", &process.metrics());
  if (!db) return fail(db.error().message);
  auto& consumer_config = options.consumer;
  consumer_config.topics = {options.events_topic, ocpi.transactions_topic, ocpi.cdrs_topic};
  // The transactions service creates its topics too; whoever starts first does (a consumer does
  // not see a topic created after it subscribed until its next metadata refresh).
  for (const auto& topic : {ocpi.transactions_topic, ocpi.cdrs_topic}) {
    if (auto r = kafka::ensure_topic(consumer_config.brokers, {topic, 12, 1}); !r) {
      log::warn("could not ensure a topic (continuing)",
                {{"topic", topic}, {"error", r.error().message}});
    }
  }
  consumer_config.client_id = "roaming";
  auto consumer = kafka::Consumer::create(consumer_config, &process.metrics());
  if (!consumer) return fail(consumer.error().message);
  bus::KafkaEventConsumer events(std::move(*consumer));

  WorkPool pool(options.threads);
  auto& http = process.http(options.listen_address, options.http_port);
  auto service = roaming::make_roaming_service(std::move(ocpi), default_base_url, **db, pool, http,
                                               system_clock(), &process.metrics());
  if (!service) return fail(service.error().message);
  if (!transactions_address.empty()) {
    (*service)->set_transactions_channel(service_channel(transactions_address));
  }
  if (!gateway_address.empty()) {
    (*service)->set_gateway_channel(service_channel(gateway_address));
  }
  if (!smart_charging_address.empty()) {
    (*service)->set_smart_charging_channel(service_channel(smart_charging_address));
  }

  if (auto r = process.start_http(); !r) return fail(r.error().message);
  auto bound =
      process.start_grpc(options.listen_address, options.grpc_port, {&(*service)->grpc_service()});
  if (!bound) return fail(bound.error().message);
  std::jthread consuming([&](std::stop_token stop) {
    events.run([&](const bus::Event& e) { return (*service)->handle_event(e); },
               [&] { return (*service)->flush_events(); }, std::move(stop));
  });
  (*service)->start();  // pushes to partners
  log::info("roaming started", {{"grpc_port", *bound},
                                {"http_port", options.http_port},
                                {"events_topic", options.events_topic},
                                {"transactions_topic", consumer_config.topics[1]},
                                {"cdr_topic", consumer_config.topics[2]},
                                {"ocpi_versions_url", (*service)->versions_url()}});
  const int signal = process.wait_for_signal();
  log::info("signal received; stopping", {{"signal", signal}});
  process.shutdown_grpc();
  consuming.request_stop();
  consuming.join();
  (*service)->stop();
  process.stop_http();  // no OCPI request reaches the registration once it goes
  return 0;
}

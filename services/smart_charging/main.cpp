// switchyard-smart-charging: sites and their limits (PostgreSQL), facts from ocpp.events.v1,
// charging profiles to the chargers through ChargerControl on a gateway; serves SmartCharging
// over gRPC until SIGTERM.
#include <grpcpp/grpcpp.h>

#include <thread>

#include "common/runtime/bus/kafka_event_consumer.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/grpc/channel.h"
#include "common/runtime/process/consumer_service.h"
#include "common/runtime/process/process.h"
#include "smart_charging/bootstrap.h"
#include "smart_charging/charger_control_sender.h"
#include "smart_charging/charger_events.h"
#include "smart_charging/grpc_api.h"
#include "smart_charging/oscp.h"
#include "smart_charging/smart_charging.h"
#include "smart_charging/store.h"

using namespace switchyard;
using namespace switchyard::smart_charging;

int main(int argc, char** argv) {
  Process process;  // first: blocks the signals before any thread starts
  ConsumerServiceOptions options(50074, 8094, "switchyard-smart-charging", 4);
  std::string gateway_address = "127.0.0.1:50061";
  std::string status_address = "127.0.0.1:50073";
  std::string transactions_address = "127.0.0.1:50072";
  ProfileSettings profiles;
  ServiceSettings service_settings;
  std::chrono::milliseconds recalc_interval{60000};
  std::chrono::milliseconds turn{15 * 60000};
  Settings settings("switchyard-smart-charging",
                    "Switchyard smart charging: dynamic load management of sites, charging "
                    "profiles through ChargerControl");
  options.add_to(settings, "switchyard.v1.SmartCharging");
  settings
      .add("gateway-address", gateway_address,
           "ChargerControl of any gateway pod (it forwards to the charger's owner)")
      .add("status-address", status_address,
           "Chargers API of the status service: which chargers are online at start")
      .add("transactions-address", transactions_address,
           "Transactions API: which sessions run at start")
      .add("recalc-interval", recalc_interval, "Re-plan every site at least this often")
      .add("turn", turn, "Longest wait of a vehicle allowed to charge for its minimum current");
  add_profile_settings(settings, profiles);
  add_service_settings(settings, service_settings);
  OscpOptions oscp;
  add_oscp_settings(settings, oscp);
  if (auto code = settings.parse(argc, argv)) return *code;
  log::init("smart-charging", "", log::parse_level(options.log_level));
  auto fail = [](const std::string& what) {
    log::error("cannot start", {{"error", what}});
    return 1;
  };
  if (auto r = check_profile_settings(profiles); !r) return fail(r.error().message);
  if (auto r = check_service_settings(service_settings); !r) return fail(r.error().message);
  service_settings.planner.recalc_interval = recalc_interval;
  service_settings.planner.turn = turn;

  auto db = open_service_database(options, migrations(), "smart_charging", &process.metrics());
  if (!db) return fail(db.error().message);

  auto& consumer_config = options.consumer;
  consumer_config.topics = {options.events_topic};
  consumer_config.client_id = "smart-charging";
  auto consumer = kafka::Consumer::create(consumer_config, &process.metrics());
  if (!consumer) return fail(consumer.error().message);
  bus::KafkaEventConsumer events(std::move(*consumer));

  ChargerControlSender sender(service_channel(gateway_address), profiles);
  SqlSiteStore store(**db);
  SmartChargingService service(sender, store, system_clock(), service_settings, &process.metrics(),
                               &sender, &sender);
  auto loaded = service.load(site_definition_from_json);
  if (!loaded) return fail(loaded.error().message);
  // Facts at start, then the events after the committed offset move them on.
  auto known =
      bootstrap_facts(service_channel(status_address), service_channel(transactions_address),
                      service, std::chrono::seconds(10));
  if (known) {
    log::info("facts at start",
              {{"chargers_online", known->chargers_online}, {"sessions", known->sessions}});
  } else {
    log::error(
        "facts at start unknown: chargers count as offline until their events say "
        "otherwise",
        {{"error", known.error().message}});
  }
  ChargerEvents handler(service, &process.metrics());
  WorkPool pool(options.threads);
  SmartChargingApi api(service, pool);

  auto& http = process.http(options.listen_address, options.http_port);
  auto grid =
      make_oscp_provider(std::move(oscp), oscp_own_url(options.listen_address, options.http_port),
                         service, http, system_clock(), &process.metrics(), &**db);
  if (!grid) return fail(grid.error().message);
  if (auto r = process.start_http(); !r) return fail(r.error().message);
  if (*grid) (*grid)->start();
  auto bound = process.start_grpc(options.listen_address, options.grpc_port, {&api});
  if (!bound) return fail(bound.error().message);
  std::jthread consuming([&](std::stop_token stop) {
    events.run([&](const bus::Event& e) { return handler.handle(e); }, std::move(stop));
  });
  std::jthread driving([&](const std::stop_token& stop) { service.run(stop); });
  log::info("smart-charging started", {{"grpc_port", *bound},
                                       {"http_port", options.http_port},
                                       {"sites", *loaded},
                                       {"gateway_address", gateway_address}});

  const int signal = process.wait_for_signal();
  log::info("signal received; stopping", {{"signal", signal}});
  process.shutdown_grpc();
  if (*grid) (*grid)->stop();
  process.stop_http();  // no OSCP request reaches the provider once it goes
  consuming.request_stop();
  driving.request_stop();
  consuming.join();
  driving.join();
  // Answers still on their way call into the service: let them land before it goes.
  if (!sender.wait_idle(profiles.timeout)) log::warn("profiles still unanswered at exit");
  return 0;
}

// The settings of switchyard-loadgen: every one a flag and a SWITCHYARD_* variable, with its
// default. Intervals are std::chrono durations (flags in milliseconds) so tests can shrink them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard {
class Settings;
}

namespace switchyard::loadgen {

using std::chrono::milliseconds;

enum class Profile : std::uint8_t { kIdle, kFleet, kStorm, kSaturate, kRate, kCommands };

struct LoadgenConfig {
  // What to run.
  std::string profile = "idle";  // idle | fleet | storm | saturate | rate | commands
  std::int64_t chargers = 100;
  double ramp = 1000;  // connection attempts per second over all threads; 0 = all at once
  milliseconds duration{10'000};  // measured phase (saturate / rate: after every charger booted)
  int threads = 1;                // io_context threads
  bool progress = false;          // a line per second on stderr
  std::string report;             // JSON report file ("" = none)
  std::string answers_log;        // every answer a charger got, a line each ("" = none)
  std::string log_level = "warn";

  // Who and where.
  std::vector<std::string> urls = {"ws://127.0.0.1:9000/ocpp"};  // charger i -> urls[i % n]
  std::vector<std::string> source_addresses;  // local addresses to bind, charger i -> [i % n]
  std::string id_prefix = "lg-";
  int id_width = 6;
  std::int64_t first_index = 0;  // index of the first charger (several processes, one fleet)
  double ocpp16_share = 1.0;     // the rest speaks 2.0.1

  // Security.
  std::string password;         // HTTP Basic (username = charger id); "{id}", "{i}" expand
  std::string ca;               // CA file to verify the server (wss)
  bool insecure = false;        // wss without verifying the server
  std::string cert;             // client certificate chain (PEM); "{id}", "{i}" expand
  std::string key;              // its private key (PEM); "{id}", "{i}" expand
  bool tls_resume = false;      // resume TLS sessions on reconnect
  std::string tls_server_name;  // SNI and the name verified ("" = the URL's host)

  // Behaviour.
  bool echo = false;  // the server echoes frames: an echoed CALL is its own answer
  milliseconds heartbeat_interval{60'000};  // 0 = the interval the server gives at boot
  int connectors = 1;
  milliseconds connect_timeout{10'000};
  milliseconds call_timeout{30'000};
  milliseconds reconnect_delay{1'000};  // after a failure, plus up to as much again at random
  bool honor_retry_after = true;        // a 503 / 429 upgrade answer's Retry-After sets the wait
  // A 503 upgrade answer or a failed connect sends the charger to the next --url, as a load
  // balancer sends it to a ready pod (the wait is then the reconnect delay, not Retry-After).
  bool url_failover = false;
  milliseconds boot_wait{60'000};  // saturate / rate / storm: longest wait for every boot

  // fleet
  milliseconds session_interval{30 * 60'000};  // a session starts every ... per charger
  milliseconds session_duration{20 * 60'000};
  milliseconds meter_interval{10'000};       // sampled values while charging
  milliseconds idle_meter_interval{60'000};  // main meter values while idle; 0 = none
  milliseconds aligned_interval{900'000};    // clock-aligned values; 0 = none

  // saturate / rate
  std::string action = "MeterValues";  // Heartbeat | MeterValues | StatusNotification | Authorize
  double rate = 1000;                  // rate: CALLs per second over all chargers
  int max_outstanding = 16;            // rate: unanswered CALLs per charger before it waits
  // Authorize: each CALL the next of this many tokens (id_tag_of(0..n-1)), so no decision cache
  // answers it; 0 = every CALL carries LG0001.
  int id_tags = 0;
  int pipeline = 1;  // saturate: CALLs in flight per charger (OCPP wants 1; more for floors)

  // storm
  double storm_fraction = 1.0;           // share of chargers that drop
  milliseconds backoff_minimum{0};       // 2.0.1 RetryBackOffWaitMinimum before reconnecting
  milliseconds backoff_random_range{0};  // 2.0.1 RetryBackOffRandomRange (uniform jitter)
  milliseconds storm_timeout{120'000};

  // commands
  std::string grpc_target = "127.0.0.1:50051";  // a ChargerControl server (a gateway pod)
  double command_rate = 10;                     // RPCs per second
  std::string command = "TriggerMessage";  // TriggerMessage | DataTransfer | ChangeAvailability |
                                           // Reset | GetConnection
};

void add_settings(Settings& settings, LoadgenConfig& config);

// Checks ranges and combinations after parsing.
Result<Profile> validate(const LoadgenConfig& config);

}  // namespace switchyard::loadgen

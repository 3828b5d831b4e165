// OSCP 2.0 as the flexibility provider towards one capacity provider (the grid operator):
// register, handshake, heartbeat, receive group capacity forecasts (which cap the mapped site
// nodes through a callback), and report each group's usage.
//
// The messages this follows (OSCP 2.0; JSON, snake_case fields, enum values upper case, times
// RFC 3339 — we send UTC "Z"; we also read a zone-less "YYYY-MM-DD[T| ]HH:MM:SS" as UTC, which
// pyoscp sends):
//
//   Transport: each party serves POST <its base_url>/<endpoint>; success is 204 No Content.
//   Every request carries `Authorization: Token <token>` (the token the receiver handed to the
//   sender) and `X-Request-ID: <unique>`; a reply to an earlier message also carries
//   `X-Correlation-ID: <that message's X-Request-ID>`. Missing/malformed Authorization → 401,
//   a token the receiver does not know → 403, a body that is not the message → 400, an unknown
//   group → 404; error bodies here are {"message": "..."}.
//
//   register                       Register {token, version_url: [{version: "2.0", base_url}]}
//                                  — the sender's token for the receiver to use from now on and
//                                  where to reach the sender. The receiver of an initial Register
//                                  answers with its own Register (X-Correlation-ID set) carrying a
//                                  fresh token that replaces the one the sender used.
//   handshake                      Handshake {required_behaviour}
//   handshake_acknowledge          HandshakeAcknowledge {required_behaviour}: after a 204 to a
//                                  Handshake, the receiver confirms with this; the connection is
//                                  then up. (pyoscp serves and calls "handshake_acknowledgment".)
//       RequiredBehaviour {heartbeat_interval?: int seconds ≥ 1 (heartbeats the sender wants),
//                          measurement_configuration: [CONTINUOUS | INTERMITTENT]}
//   heartbeat                      Heartbeat {offline_mode_at}: consider the sender offline after
//                                  this time unless another heartbeat comes.
//   update_group_capacity_forecast CP → FP   GroupCapacityForecast
//   adjust_group_capacity_forecast FP → CP (and capacity optimizer → FP)   GroupCapacityForecast
//       GroupCapacityForecast {group_id, type: CONSUMPTION | GENERATION | FALLBACK_CONSUMPTION |
//                              FALLBACK_GENERATION | OPTIMUM,
//                              forecasted_blocks: [ForecastedBlock]}
//       ForecastedBlock {capacity: number, phase: UNKNOWN | ONE | TWO | THREE | ALL,
//                        unit: A | W | KW | WH | KWH, start_time, end_time}
//   group_capacity_compliance_error FP → CP  {message, forecasted_blocks?}   (not sent here)
//   update_group_measurements      FP → CP  UpdateGroupMeasurements {group_id, measurements:
//                                  [EnergyMeasurement]} (may be empty: no usage known)
//       EnergyMeasurement {value, phase, unit: WH | KWH, direction: NET | IMPORT | EXPORT,
//                          energy_type?: FLEXIBLE | NONFLEXIBLE | TOTAL, measure_time,
//                          initial_measure_time?}
//   update_asset_measurements      FP → capacity optimizer (not used: no optimizer here).
//
// What we do with forecasts: CONSUMPTION (update) and an adjust cap the group's node for their
// slots; FALLBACK_CONSUMPTION caps it only while the capacity provider is offline (its heartbeat
// promise `offline_mode_at` passed); GENERATION, FALLBACK_GENERATION and OPTIMUM are accepted
// and not applied (we plan consumption only). A new message of a type replaces the group's
// earlier one of that type. A block in A caps each phase it names (ALL and UNKNOWN: all three;
// ONE/TWO/THREE: L1/L2/L3 of the node); W and KW cap the node's power; WH/KWH or any other unit
// is refused (400), as a limit we cannot apply must not be acknowledged. A negative capacity
// caps at 0.
//
// Usage: every measurement interval each group's node load (kW, or per-phase A at the nominal
// voltage) is sampled and integrated into an energy register (CONTINUOUS, IMPORT, TOTAL, phase
// ALL, WH since the provider started) sent as UpdateGroupMeasurements.
//
// Threads: handlers run on the HTTP server's threads, the worker thread (start()/stop()) sends;
// the callbacks are called from both and must be thread-safe. set_forecast calls are serialised
// so forecasts apply in the order they arrive. The token and base URL the peer's Register gives
// are handed to `on_peer_registered` (make_oscp_provider keeps them in sc_oscp_peer and uses them
// after a restart, unless the operator configured another token or peer since).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "common/runtime/http/client.h"
#include "smart_charging/limits.h"
#include "smart_charging/site.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace switchyard::http {
class Server;
}  // namespace switchyard::http

namespace switchyard {
class Settings;
}  // namespace switchyard
namespace switchyard::sql {
class Database;
}  // namespace switchyard::sql

namespace switchyard::smart_charging {

// --- the forecast message, parsed ------------------------------------------------------------

enum class ForecastType : std::uint8_t {
  kConsumption,
  kGeneration,
  kFallbackConsumption,
  kFallbackGeneration,
  kOptimum,
};
std::string_view to_string(ForecastType type);

enum class PhaseIndicator : std::uint8_t { kUnknown, kOne, kTwo, kThree, kAll };

struct ForecastedBlock {
  double capacity = 0;
  PhaseIndicator phase = PhaseIndicator::kAll;
  std::string unit;  // as sent: "A", "W", "KW", "WH", "KWH", ...
  Time start{};
  Time end{};
};

struct GroupCapacityForecast {
  std::string group_id;
  ForecastType type = ForecastType::kConsumption;
  std::vector<ForecastedBlock> blocks;
};

// kInvalidArgument naming the field at fault ("forecasted_blocks[1].end_time: ...").
Result<GroupCapacityForecast> parse_group_capacity_forecast(std::string_view json);

// A phase a block names but does not cap (a ONE block leaves L2 and L3 uncapped) gets this (A):
// finite, so a slot stays serialisable.
inline constexpr double kUncappedPhaseA = 1e9;

// The node limits a forecast's blocks give: one slot per distinct [start, end), phases and
// power merged (the lowest wins). kInvalidArgument names the block for a unit that is no
// capacity, an end not after the start, a non-finite capacity.
Result<std::vector<LimitSlot>> forecast_slots(const std::vector<ForecastedBlock>& blocks);

// --- the provider ----------------------------------------------------------------------------

// The site node an OSCP group stands for (usually the grid connection).
struct OscpGroup {
  std::string site_id;
  std::string node_id;
};

// "group=site/node[,group=site/node...]" (the flag's form). The node is after the first '/'.
Result<std::map<std::string, OscpGroup>> parse_oscp_groups(std::string_view text);

struct OscpSettings {
  // Where the capacity provider reaches us, as we send it in Register, e.g.
  // "http://smart-charging:8094/oscp/fp/2.0"; install_routes() serves under its path.
  std::string own_base_url;
  // The capacity provider's base URL for 2.0 until its Register names another, e.g.
  // "http://grid-operator:5000/oscp/cp/2.0".
  std::string peer_base_url;
  // The peer must send `Authorization: Token <accept_token>`; we hand it over in Register.
  std::string accept_token;
  // The token the peer gave us out of band; replaced by the token in the peer's Register.
  std::string send_token;
  // Asked of the peer in our Handshake (rounded up to whole seconds, at least 1), and the
  // interval of our own heartbeats unless the peer's HandshakeAcknowledge asks for another.
  std::chrono::milliseconds heartbeat_interval{30000};
  std::chrono::milliseconds measurement_interval{60000};
  // No HandshakeAcknowledge this long after our Handshake: handshake again.
  std::chrono::milliseconds handshake_timeout{30000};
  // Back-off of a failed call: doubles from initial to max, reset by a success.
  std::chrono::milliseconds retry_initial{1000};
  std::chrono::milliseconds retry_max{60000};
  std::map<std::string, OscpGroup> groups;  // OSCP group_id → node
  double nominal_voltage_v = 230.0;         // per-phase amperes → W for measurements
  http::ClientSettings client;
  // Told the token and base URL of each Register the peer sends (may be empty); called on an HTTP
  // server thread, after the provider took them.
  std::function<void(const std::string& token, const std::string& base_url)> on_peer_registered;
};

enum class OscpState : std::uint8_t {
  kUnregistered = 0,   // Register not (yet) accepted
  kRegistered = 1,     // Register accepted, Handshake not
  kHandshakeSent = 2,  // waiting for HandshakeAcknowledge
  kConnected = 3,      // acknowledged: heartbeats and measurements flow
};
std::string_view to_string(OscpState state);

// A node's load now, as the service knows it (measured or planned). Power wins when both are set.
struct NodeUsage {
  std::optional<PhaseCurrents> current_a;
  std::optional<double> power_kw;
};

// Replaces the node's grid forecast with `slots` (SmartChargingService::set_forecast).
using SetForecast = std::function<Result<void>(
    const std::string& site_id, const std::string& node_id, std::vector<LimitSlot> slots)>;
// The node's load; nullopt when unknown (the group's measurements go out empty).
using MeasureUsage =
    std::function<std::optional<NodeUsage>(const std::string& site_id, const std::string& node_id)>;

class OscpFlexibilityProvider {
 public:
  // Throws std::invalid_argument on settings that cannot work (bad URLs, empty tokens, two
  // groups on one node): a start-up failure.
  OscpFlexibilityProvider(OscpSettings settings, SetForecast set_forecast, MeasureUsage usage,
                          const Clock& clock, prometheus::Registry* metrics);
  ~OscpFlexibilityProvider();  // stops the worker
  OscpFlexibilityProvider(const OscpFlexibilityProvider&) = delete;
  OscpFlexibilityProvider& operator=(const OscpFlexibilityProvider&) = delete;

  // The endpoints the capacity provider calls, under own_base_url's path. Before server.start().
  void install_routes(http::Server& server);
  // Starts / stops the worker that registers, handshakes, heartbeats and sends measurements.
  void start();
  void stop();

  OscpState state() const;
  // Whether the peer's last heartbeat promise has passed (false until it sent one).
  bool peer_offline() const;

  struct Impl;  // defined in oscp.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

// --- in a binary -------------------------------------------------------------------------------

class SmartChargingService;

// The OSCP flags (switchyard-smart-charging and the standalone binary alike).
struct OscpOptions {
  OscpSettings settings;
  std::string groups;  // "group=site/node,..." (parse_oscp_groups)
};
void add_oscp_settings(Settings& settings, OscpOptions& options);

// The provider wired to the service (forecasts into set_forecast, usage from the plan: the
// node's planned load), its routes on `server`; nullptr when OSCP is off (no peer URL). Without
// --oscp-own-url, `default_own_url` (the side port's address) is what the peer is told.
// kInvalidArgument names the setting that cannot work. start() it once the server runs.
// `db` (may be null): the service's database (migrations applied), where the peer's last Register
// is kept (SqlOscpPeerStore) and read back at the next start.
Result<std::unique_ptr<OscpFlexibilityProvider>> make_oscp_provider(
    OscpOptions options, const std::string& default_own_url, SmartChargingService& service,
    http::Server& server, const Clock& clock, prometheus::Registry* metrics,
    sql::Database* db = nullptr);

// "http://<address>:<port>/oscp/fp/2.0" (0.0.0.0 and :: as 127.0.0.1: reachable on this host).
std::string oscp_own_url(const std::string& listen_address, int http_port);

}  // namespace switchyard::smart_charging

// A simulated site around a SitePlanner: chargers that apply a profile after a random delay (one
// call at a time per charger), vehicles that follow a lower limit only after a while, chargers
// that drop offline (and fall back after a lease) or reject profiles, a building behind the site
// meter, and grid forecasts. It checks, at every event, that no node exceeds a phase limit and
// that no vehicle allowed to charge waits longer than the turn.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smart_charging/planner.h"

namespace switchyard::smart_charging::sim {

// Deterministic on every standard library (std distributions are not).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  std::int64_t range(std::int64_t lo, std::int64_t hi) {  // [lo, hi]
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo + 1)));
  }
  double real(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
  }
  bool chance(double p) { return real(0.0, 1.0) < p; }

 private:
  std::uint64_t state_;
};

enum class ActionKind : std::uint8_t {
  kArrive,       // evse, phases (vehicle's), amps (vehicle's max draw)
  kDepart,       // evse
  kDraw,         // evse, amps: the vehicle now draws at most this
  kOffline,      // charger node, delay: how long until the service notices
  kOnline,       // charger node
  kRejectOn,     // charger node: answers every profile with Rejected
  kRejectOff,    // charger node
  kForecast,     // node, amps (per phase), delay: lead before the slot, length
  kBuilding,     // node with a meter, amps (per phase)
  kMeterSilent,  // node with a meter
  kMeterResume,  // node with a meter
};

struct Action {
  Duration at{};
  ActionKind kind = ActionKind::kArrive;
  std::uint32_t target = 0;  // EVSE or node index in the built site
  int phases = 3;
  double amps = 0.0;
  Duration delay{};
  Duration length{};
};

struct Timing {
  Duration max_answer = std::chrono::seconds(4);  // profile answer after 1 ms .. this
  Duration max_follow = std::chrono::seconds(5);  // vehicle follows a lower within this
  Duration lease = std::chrono::seconds(60);      // offline charger keeps its limits this long
  Duration meter_period = std::chrono::seconds(30);
  Duration horizon = std::chrono::minutes(20);
};

struct Scenario {
  std::uint64_t seed = 0;
  SiteSpec site;
  PlannerSettings settings;
  Timing timing;
  std::vector<Action> actions;  // in time order
  bool trace = false;           // log every event into Outcome::trace
};

struct Failure {
  std::string what;
  Duration at{};
};

struct Outcome {
  std::optional<Failure> failure;
  std::vector<double> energy_wh;  // per EVSE, delivered to vehicles
  std::size_t events = 0;
  std::size_t plans = 0;
  std::size_t commands = 0;
  std::size_t raise_now = 0;  // of them sent at once to a starting session (start reserve)
  std::size_t exempt = 0;     // instants where uncontrollable loads alone broke a limit
  Duration longest_wait{};
  std::string trace;
};

// Runs a scenario to its horizon (or its first failure).
Outcome run(const Scenario& scenario);

// Readable dump: the site, the settings and the actions.
std::string describe(const Scenario& scenario);

}  // namespace switchyard::smart_charging::sim

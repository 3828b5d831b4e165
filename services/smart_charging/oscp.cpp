// OSCP 2.0 flexibility provider: message parsing, forecast → node limits, the endpoints the
// capacity provider calls, and the worker that registers, handshakes, heartbeats and reports.
#include "smart_charging/oscp.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>
#include <set>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/core/text.h"
#include "common/runtime/http/server.h"
#include "smart_charging/smart_charging.h"
#include "smart_charging/store.h"

namespace switchyard::smart_charging {

namespace json = boost::json;
using std::chrono::milliseconds;

// --- enums ------------------------------------------------------------------------------------

namespace {

constexpr std::pair<ForecastType, std::string_view> kForecastTypes[] = {
    {ForecastType::kConsumption, "CONSUMPTION"},
    {ForecastType::kGeneration, "GENERATION"},
    {ForecastType::kFallbackConsumption, "FALLBACK_CONSUMPTION"},
    {ForecastType::kFallbackGeneration, "FALLBACK_GENERATION"},
    {ForecastType::kOptimum, "OPTIMUM"},
};

constexpr std::pair<PhaseIndicator, std::string_view> kPhases[] = {
    {PhaseIndicator::kUnknown, "UNKNOWN"}, {PhaseIndicator::kOne, "ONE"},
    {PhaseIndicator::kTwo, "TWO"},         {PhaseIndicator::kThree, "THREE"},
    {PhaseIndicator::kAll, "ALL"},
};

}  // namespace

std::string_view to_string(ForecastType type) {
  for (const auto& [t, name] : kForecastTypes) {
    if (t == type) return name;
  }
  return "?";
}

std::string_view to_string(OscpState state) {
  switch (state) {
    case OscpState::kUnregistered:
      return "unregistered";
    case OscpState::kRegistered:
      return "registered";
    case OscpState::kHandshakeSent:
      return "handshake sent";
    case OscpState::kConnected:
      return "connected";
  }
  return "?";
}

// --- JSON reading -----------------------------------------------------------------------------

namespace {

// OSCP times: RFC 3339; a zone-less "YYYY-MM-DD[T ]HH:MM:SS[.fff]" (pyoscp) is read as UTC.
std::optional<Time> parse_time(std::string_view text) {
  if (auto t = parse_rfc3339(text)) return t;
  if (text.size() < 19 || (text[10] != ' ' && text[10] != 'T')) return std::nullopt;
  std::string s(text);
  s[10] = 'T';
  if (auto t = parse_rfc3339(s)) return t;
  return parse_rfc3339(s + "Z");
}

std::unexpected<Error> invalid(const std::string& where, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, where + ": " + what);
}

std::string quoted_list(std::span<const std::pair<PhaseIndicator, std::string_view>> names) {
  std::string out;
  for (const auto& [v, name] : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

Result<const json::object*> object_at(const json::value& v, const std::string& where) {
  if (const auto* o = v.if_object()) return o;
  return invalid(where, "not an object");
}

Result<std::string> string_field(const json::object& o, std::string_view key,
                                 const std::string& where) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return invalid(where + "." + std::string(key), "missing");
  if (const auto* s = v->if_string()) return std::string(*s);
  return invalid(where + "." + std::string(key), "not a string");
}

Result<double> number_field(const json::object& o, std::string_view key, const std::string& where) {
  const auto* v = o.if_contains(key);
  const std::string at = where + "." + std::string(key);
  if (v == nullptr) return invalid(at, "missing");
  double d = 0;
  if (v->is_double()) {
    d = v->get_double();
  } else if (v->is_int64()) {
    d = static_cast<double>(v->get_int64());
  } else if (v->is_uint64()) {
    d = static_cast<double>(v->get_uint64());
  } else {
    return invalid(at, "not a number");
  }
  if (!std::isfinite(d)) return invalid(at, "not finite");
  return d;
}

Result<Time> time_field(const json::object& o, std::string_view key, const std::string& where) {
  auto text = string_field(o, key, where);
  if (!text) return std::unexpected(text.error());
  if (auto t = parse_time(*text)) return *t;
  return invalid(where + "." + std::string(key), "'" + *text + "' is not an RFC 3339 time");
}

Result<json::value> parse_json(std::string_view text, const std::string& message) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return invalid(message, "body is not JSON: " + ec.message());
  return v;
}

Result<GroupCapacityForecast> forecast_from(const json::value& value, const std::string& message) {
  auto root = object_at(value, message);
  if (!root) return std::unexpected(root.error());
  const json::object& o = **root;
  GroupCapacityForecast out;
  auto group = string_field(o, "group_id", message);
  if (!group) return std::unexpected(group.error());
  out.group_id = std::move(*group);
  auto type = string_field(o, "type", message);
  if (!type) return std::unexpected(type.error());
  bool known = false;
  for (const auto& [t, name] : kForecastTypes) {
    if (name == *type) {
      out.type = t;
      known = true;
    }
  }
  if (!known) {
    return invalid(message + ".type",
                   "'" + *type +
                       "' is not one of CONSUMPTION, GENERATION, FALLBACK_CONSUMPTION, "
                       "FALLBACK_GENERATION, OPTIMUM");
  }
  const auto* blocks = o.if_contains("forecasted_blocks");
  if (blocks == nullptr) return invalid(message + ".forecasted_blocks", "missing");
  if (!blocks->is_array()) return invalid(message + ".forecasted_blocks", "not an array");
  std::size_t i = 0;
  for (const json::value& b : blocks->get_array()) {
    const std::string at = message + ".forecasted_blocks[" + std::to_string(i++) + "]";
    auto bo = object_at(b, at);
    if (!bo) return std::unexpected(bo.error());
    ForecastedBlock block;
    auto capacity = number_field(**bo, "capacity", at);
    if (!capacity) return std::unexpected(capacity.error());
    block.capacity = *capacity;
    auto phase = string_field(**bo, "phase", at);
    if (!phase) return std::unexpected(phase.error());
    bool phase_known = false;
    for (const auto& [p, name] : kPhases) {
      if (name == *phase) {
        block.phase = p;
        phase_known = true;
      }
    }
    if (!phase_known) {
      return invalid(at + ".phase", "'" + *phase + "' is not one of " + quoted_list(kPhases));
    }
    auto unit = string_field(**bo, "unit", at);
    if (!unit) return std::unexpected(unit.error());
    block.unit = std::move(*unit);
    auto start = time_field(**bo, "start_time", at);
    if (!start) return std::unexpected(start.error());
    auto end = time_field(**bo, "end_time", at);
    if (!end) return std::unexpected(end.error());
    block.start = *start;
    block.end = *end;
    out.blocks.push_back(std::move(block));
  }
  return out;
}

}  // namespace

Result<GroupCapacityForecast> parse_group_capacity_forecast(std::string_view text) {
  auto v = parse_json(text, "GroupCapacityForecast");
  if (!v) return std::unexpected(v.error());
  return forecast_from(*v, "GroupCapacityForecast");
}

// --- forecast → limits ------------------------------------------------------------------------

Result<std::vector<LimitSlot>> forecast_slots(const std::vector<ForecastedBlock>& blocks) {
  std::map<std::pair<Time, Time>, LimitSlot> slots;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const ForecastedBlock& b = blocks[i];
    const std::string at = "forecasted_blocks[" + std::to_string(i) + "]";
    if (!std::isfinite(b.capacity)) return invalid(at + ".capacity", "not finite");
    if (b.end <= b.start) return invalid(at, "end_time is not after start_time");
    const double capacity = std::max(0.0, b.capacity);
    LimitSlot& slot = slots[{b.start, b.end}];
    slot.from = b.start;
    slot.until = b.end;
    if (b.unit == "A") {
      if (!slot.current_a)
        slot.current_a = PhaseCurrents{kUncappedPhaseA, kUncappedPhaseA, kUncappedPhaseA};
      auto& a = *slot.current_a;
      switch (b.phase) {
        case PhaseIndicator::kOne:
          a[0] = std::min(a[0], capacity);
          break;
        case PhaseIndicator::kTwo:
          a[1] = std::min(a[1], capacity);
          break;
        case PhaseIndicator::kThree:
          a[2] = std::min(a[2], capacity);
          break;
        case PhaseIndicator::kAll:
        case PhaseIndicator::kUnknown:  // which phase is not known: cap them all
          for (double& p : a) p = std::min(p, capacity);
          break;
      }
    } else if (b.unit == "W" || b.unit == "KW") {
      // A power is the node's total whatever phase the block names.
      const double kw = b.unit == "W" ? capacity / 1000.0 : capacity;
      slot.power_kw = slot.power_kw ? std::min(*slot.power_kw, kw) : kw;
    } else {
      return invalid(at + ".unit",
                     "'" + b.unit + "' is not a capacity this provider can apply (A, W or KW)");
    }
  }
  std::vector<LimitSlot> out;
  out.reserve(slots.size());
  for (const auto& [key, slot] : slots) out.push_back(slot);
  return out;
}

Result<std::map<std::string, OscpGroup>> parse_oscp_groups(std::string_view text) {
  std::map<std::string, OscpGroup> groups;
  if (trim(text).empty()) return groups;
  for (std::string_view item : split(text, ',')) {
    item = trim(item);
    const std::size_t eq = item.find('=');
    const std::size_t slash = item.find('/', eq == std::string_view::npos ? 0 : eq);
    if (eq == std::string_view::npos || slash == std::string_view::npos || eq == 0 ||
        slash == eq + 1 || slash + 1 == item.size()) {
      return invalid("OSCP groups", "'" + std::string(item) + "' is not group=site/node");
    }
    const std::string group(item.substr(0, eq));
    if (groups.contains(group)) return invalid("OSCP groups", "group " + group + " twice");
    groups[group] = OscpGroup{std::string(item.substr(eq + 1, slash - eq - 1)),
                              std::string(item.substr(slash + 1))};
  }
  return groups;
}

// --- the provider -----------------------------------------------------------------------------

namespace {

http::Response error_response(int status, const std::string& message) {
  return http::Response::json(status, json::serialize(json::object{{"message", message}}));
}

http::Response no_content() {
  http::Response r;
  r.status = 204;
  r.content_type = "application/json";
  return r;
}

bool same_token(std::string_view a, std::string_view b) {
  // Constant time over the expected token's length.
  unsigned diff = a.size() == b.size() ? 0U : 1U;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff |= static_cast<unsigned char>(i < a.size() ? a[i] : 0) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

std::string strip_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

bool succeeded(const Result<http::Response>& r) { return r && r->status / 100 == 2; }

std::optional<int> heartbeat_seconds(const json::object& o, const std::string& where,
                                     Error& error) {
  const auto* rb = o.if_contains("required_behaviour");
  if (rb == nullptr || rb->is_null()) return std::nullopt;
  if (!rb->is_object()) {
    error = Error{ErrorCode::kInvalidArgument, where + ".required_behaviour: not an object"};
    return std::nullopt;
  }
  const auto* hb = rb->get_object().if_contains("heartbeat_interval");
  if (hb == nullptr || hb->is_null()) return std::nullopt;
  std::int64_t seconds = 0;
  if (hb->is_int64()) {
    seconds = hb->get_int64();
  } else if (hb->is_uint64()) {
    seconds = static_cast<std::int64_t>(std::min<std::uint64_t>(hb->get_uint64(), 1U << 30));
  } else if (hb->is_double() && hb->get_double() == std::floor(hb->get_double())) {
    seconds = static_cast<std::int64_t>(hb->get_double());
  } else {
    error = Error{ErrorCode::kInvalidArgument,
                  where + ".required_behaviour.heartbeat_interval: not an integer"};
    return std::nullopt;
  }
  if (seconds < 1) {
    error = Error{ErrorCode::kInvalidArgument,
                  where + ".required_behaviour.heartbeat_interval: must be at least 1"};
    return std::nullopt;
  }
  return static_cast<int>(std::min<std::int64_t>(seconds, 1 << 30));
}

}  // namespace

struct OscpFlexibilityProvider::Impl {
  struct Metrics {
    explicit Metrics(prometheus::Registry& registry)
        : received(prometheus::BuildCounter()
                       .Name("switchyard_oscp_requests_received_total")
                       .Help("OSCP requests the capacity provider sent us, by message and the "
                             "HTTP status we answered")
                       .Register(registry)),
          sent(prometheus::BuildCounter()
                   .Name("switchyard_oscp_requests_sent_total")
                   .Help("OSCP requests we sent, by message and the HTTP status of the answer "
                         "(error: none)")
                   .Register(registry)),
          forecasts(prometheus::BuildCounter()
                        .Name("switchyard_oscp_forecasts_received_total")
                        .Help("Group capacity forecasts received and accepted, by message and type")
                        .Register(registry)),
          state(prometheus::BuildGauge()
                    .Name("switchyard_oscp_handshake_state")
                    .Help("0 unregistered, 1 registered, 2 handshake sent, 3 connected")
                    .Register(registry)
                    .Add({})),
          peer_offline(prometheus::BuildGauge()
                           .Name("switchyard_oscp_peer_offline")
                           .Help("1 while the capacity provider's heartbeat promise has passed "
                                 "(fallback forecasts apply)")
                           .Register(registry)
                           .Add({})) {}
    prometheus::Family<prometheus::Counter>& received;
    prometheus::Family<prometheus::Counter>& sent;
    prometheus::Family<prometheus::Counter>& forecasts;
    prometheus::Gauge& state;
    prometheus::Gauge& peer_offline;
  };

  // The capping forecasts a group has, by what sent them.
  struct GroupForecasts {
    std::vector<LimitSlot> consumption;  // UpdateGroupCapacityForecast CONSUMPTION
    std::vector<LimitSlot> fallback;     // FALLBACK_CONSUMPTION: only while the peer is offline
    std::vector<LimitSlot> adjusted;     // AdjustGroupCapacityForecast (only ever caps more)
  };

  struct GroupEnergy {
    bool started = false;
    Time initial{};
    Time last{};
    double wh = 0;
  };

  Impl(OscpSettings s, SetForecast set, MeasureUsage u, const Clock& c, prometheus::Registry* m)
      : settings(std::move(s)),
        set_forecast(std::move(set)),
        usage(std::move(u)),
        clock(c),
        client(settings.client),
        rng(std::random_device{}()) {
    auto own = http::parse_url(settings.own_base_url);
    if (!own) throw std::invalid_argument("OSCP own base URL: " + own.error().message);
    auto peer = http::parse_url(settings.peer_base_url);
    if (!peer) throw std::invalid_argument("OSCP peer base URL: " + peer.error().message);
    if (settings.accept_token.empty() || settings.send_token.empty()) {
      throw std::invalid_argument("OSCP: the accept token and the send token must be set");
    }
    if (settings.heartbeat_interval <= milliseconds(0) ||
        settings.measurement_interval <= milliseconds(0) ||
        settings.retry_initial <= milliseconds(0) || settings.retry_max < settings.retry_initial) {
      throw std::invalid_argument("OSCP: intervals must be positive, retry max ≥ retry initial");
    }
    std::set<std::pair<std::string, std::string>> nodes;
    for (const auto& [group, node] : settings.groups) {
      if (!nodes.insert({node.site_id, node.node_id}).second) {
        throw std::invalid_argument("OSCP: two groups on node " + node.site_id + "/" +
                                    node.node_id);
      }
      forecasts[group];
      energy[group];
    }
    route_prefix = strip_slash(own->target);
    peer_base_url = strip_slash(settings.peer_base_url);
    send_token = settings.send_token;
    retry_delay = settings.retry_initial;
    retry_at = clock.steady_now();
    if (m != nullptr) metrics = std::make_unique<Metrics>(*m);
    publish_state_locked();
  }

  // --- incoming -----------------------------------------------------------------------------

  template <typename Body>
  http::Response serve(std::string_view message, const http::Request& req, Body&& body) {
    http::Response r;
    if (auto refused = check_auth(req)) {
      r = std::move(*refused);
    } else {
      auto v = parse_json(req.body, std::string(message));
      r = v ? body(*v) : error_response(400, v.error().message);
    }
    if (r.status >= 400) {
      log::warn("oscp request refused", {{"message", message},
                                         {"status", r.status},
                                         {"request_id", req.header("x-request-id")},
                                         {"error", r.body}});
    }
    if (metrics) {
      metrics->received
          .Add({{"message", std::string(message)}, {"status", std::to_string(r.status)}})
          .Increment();
    }
    return r;
  }

  // The refusal, or nullopt when the request carries our token.
  std::optional<http::Response> check_auth(const http::Request& req) const {
    std::string_view auth = trim(req.header("authorization"));
    constexpr std::string_view kScheme = "token ";
    std::string lower(auth.substr(0, std::min(auth.size(), kScheme.size())));
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (auth.empty()) return error_response(401, "Authorization header missing");
    if (lower != kScheme || trim(auth.substr(kScheme.size())).empty()) {
      return error_response(401, "Authorization must be 'Token <token>'");
    }
    if (!same_token(trim(auth.substr(kScheme.size())), settings.accept_token)) {
      return error_response(403, "token not registered");
    }
    return std::nullopt;
  }

  http::Response on_register(const http::Request& req, const json::value& v) {
    auto o = object_at(v, "Register");
    if (!o) return error_response(400, o.error().message);
    auto token = string_field(**o, "token", "Register");
    if (!token) return error_response(400, token.error().message);
    if (token->empty()) return error_response(400, "Register.token: empty");
    const auto* urls = (*o)->if_contains("version_url");
    if (urls == nullptr || !urls->is_array()) {
      return error_response(400, "Register.version_url: missing or not an array");
    }
    std::optional<std::string> base_url;
    std::size_t i = 0;
    for (const json::value& u : urls->get_array()) {
      const std::string at = "Register.version_url[" + std::to_string(i++) + "]";
      auto uo = object_at(u, at);
      if (!uo) return error_response(400, uo.error().message);
      auto version = string_field(**uo, "version", at);
      if (!version) return error_response(400, version.error().message);
      auto url = string_field(**uo, "base_url", at);
      if (!url) return error_response(400, url.error().message);
      if (*version != "2.0") continue;
      if (auto parsed = http::parse_url(*url); !parsed) {
        return error_response(400, at + ".base_url: " + parsed.error().message);
      }
      base_url = std::move(*url);
    }
    if (!base_url) return error_response(400, "Register.version_url: no version 2.0");
    const std::string correlation(req.header("x-correlation-id"));
    const std::string registered_token = *token;
    const std::string registered_url = strip_slash(*base_url);
    {
      std::lock_guard lock(mutex);
      send_token = std::move(*token);
      peer_base_url = registered_url;
      if (correlation.empty()) {
        // The peer's initial Register: answer with ours (correlated), then handshake.
        register_reply = std::string(req.header("x-request-id"));
      }
      if (state != OscpState::kUnregistered) set_state_locked(OscpState::kRegistered);
      retry_at = clock.steady_now();
      wake_locked();
    }
    log::info("oscp peer registered", {{"base_url", *base_url},
                                       {"token", log::redact(send_token_copy())},
                                       {"reply", correlation.empty()}});
    if (settings.on_peer_registered) settings.on_peer_registered(registered_token, registered_url);
    return no_content();
  }

  std::string send_token_copy() const {
    std::lock_guard lock(mutex);
    return send_token;
  }

  http::Response on_unregister() {
    std::lock_guard lock(mutex);
    set_state_locked(OscpState::kUnregistered);
    // The peer dropped us: do not fight it; try again after the longest back-off.
    retry_at = clock.steady_now() + settings.retry_max;
    log::warn("oscp peer unregistered us");
    return no_content();
  }

  http::Response on_handshake(const json::value& v) {
    auto o = object_at(v, "Handshake");
    if (!o) return error_response(400, o.error().message);
    Error error;
    auto seconds = heartbeat_seconds(**o, "Handshake", error);
    if (!error.message.empty()) return error_response(400, error.message);
    std::lock_guard lock(mutex);
    if (seconds) peer_heartbeat = std::chrono::seconds(*seconds);
    ack_pending = true;
    wake_locked();
    return no_content();
  }

  http::Response on_handshake_ack(const json::value& v) {
    auto o = object_at(v, "HandshakeAcknowledge");
    if (!o) return error_response(400, o.error().message);
    Error error;
    auto seconds = heartbeat_seconds(**o, "HandshakeAcknowledge", error);
    if (!error.message.empty()) return error_response(400, error.message);
    std::lock_guard lock(mutex);
    if (seconds) peer_heartbeat = std::chrono::seconds(*seconds);
    connected_locked();
    return no_content();
  }

  http::Response on_heartbeat(const json::value& v) {
    auto o = object_at(v, "Heartbeat");
    if (!o) return error_response(400, o.error().message);
    auto at = time_field(**o, "offline_mode_at", "Heartbeat");
    if (!at) return error_response(400, at.error().message);
    {
      std::lock_guard lock(mutex);
      peer_offline_at = *at;
      wake_locked();
    }
    if (*at > clock.now() && peer_offline.exchange(false)) {
      log::info("oscp peer back online: fallback forecasts no longer apply");
      if (metrics) metrics->peer_offline.Set(0);
      reapply_all();
    }
    return no_content();
  }

  http::Response on_forecast(std::string_view message, bool adjust, const json::value& v) {
    auto forecast = forecast_from(v, std::string(message));
    if (!forecast) return error_response(400, forecast.error().message);
    const auto group = settings.groups.find(forecast->group_id);
    if (group == settings.groups.end()) {
      return error_response(404, "unknown group_id '" + forecast->group_id + "'");
    }
    const ForecastType type = forecast->type;
    const bool consumption = type == ForecastType::kConsumption;
    const bool fallback = type == ForecastType::kFallbackConsumption && !adjust;
    http::Response r = no_content();
    if (consumption || fallback) {
      auto slots = forecast_slots(forecast->blocks);
      if (!slots) return error_response(400, std::string(message) + "." + slots.error().message);
      std::lock_guard lock(apply_mutex);
      GroupForecasts& f = forecasts[group->first];
      (adjust ? f.adjusted : fallback ? f.fallback : f.consumption) = std::move(*slots);
      if (auto applied = apply_locked(group->first, group->second); !applied) {
        const ErrorCode code = applied.error().code;
        r = error_response(code == ErrorCode::kNotFound          ? 404
                           : code == ErrorCode::kInvalidArgument ? 400
                                                                 : 500,
                           "group '" + group->first + "' (" + group->second.site_id + "/" +
                               group->second.node_id + "): " + applied.error().message);
      }
    }
    if (r.status == 204) {
      log::info("oscp forecast", {{"message", message},
                                  {"group_id", forecast->group_id},
                                  {"type", to_string(type)},
                                  {"blocks", forecast->blocks.size()},
                                  {"applied", consumption || fallback}});
      if (metrics) {
        metrics->forecasts
            .Add({{"message", std::string(message)}, {"type", std::string(to_string(type))}})
            .Increment();
      }
    }
    return r;
  }

  // Called with apply_mutex held: the group's capping slots now, to the service.
  Result<void> apply_locked(const std::string& group, const OscpGroup& node) {
    GroupForecasts& f = forecasts[group];
    const Time now = clock.now();
    auto ended = [&](const LimitSlot& s) { return s.until <= now; };
    std::erase_if(f.consumption, ended);
    std::erase_if(f.fallback, ended);
    std::erase_if(f.adjusted, ended);
    std::vector<LimitSlot> slots = f.consumption;
    slots.insert(slots.end(), f.adjusted.begin(), f.adjusted.end());
    if (peer_offline.load()) slots.insert(slots.end(), f.fallback.begin(), f.fallback.end());
    return set_forecast(node.site_id, node.node_id, std::move(slots));
  }

  void reapply_all() {
    std::lock_guard lock(apply_mutex);
    for (const auto& [group, node] : settings.groups) {
      if (auto r = apply_locked(group, node); !r) {
        log::error("oscp forecast not applied",
                   {{"group_id", group}, {"site_id", node.site_id}, {"error", r.error().message}});
      }
    }
  }

  // --- outgoing -----------------------------------------------------------------------------

  Result<http::Response> call(std::string_view message, std::string_view endpoint,
                              const json::object& body, const std::string& correlation = {}) {
    std::string url;
    std::string token;
    {
      std::lock_guard lock(mutex);
      url = peer_base_url + "/" + std::string(endpoint);
      token = send_token;
    }
    std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Token " + token},
                                                             {"X-Request-ID", next_request_id()}};
    if (!correlation.empty()) headers.emplace_back("X-Correlation-ID", correlation);
    auto r = client.post_json(url, json::serialize(body), std::move(headers));
    if (metrics) {
      metrics->sent
          .Add({{"message", std::string(message)},
                {"status", r ? std::to_string(r->status) : std::string("error")}})
          .Increment();
    }
    if (!r) {
      log::warn("oscp call failed", {{"message", message}, {"error", r.error().message}});
    } else if (r->status / 100 != 2) {
      log::warn("oscp call refused", {{"message", message},
                                      {"url", url},
                                      {"status", r->status},
                                      {"body", std::string_view(r->body).substr(0, 300)}});
    }
    return r;
  }

  std::string next_request_id() {
    std::lock_guard lock(rng_mutex);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(16, '0');
    std::uint64_t bits = rng();
    for (char& c : id) {
      c = kHex[bits & 0xF];
      bits >>= 4;
    }
    return id;
  }

  json::object register_body() const {
    return json::object{{"token", settings.accept_token},
                        {"version_url", json::array{json::object{
                                            {"version", "2.0"},
                                            {"base_url", strip_slash(settings.own_base_url)}}}}};
  }

  json::object required_behaviour() const {
    const auto seconds = std::max<std::int64_t>(
        1, std::chrono::ceil<std::chrono::seconds>(settings.heartbeat_interval).count());
    return json::object{{"required_behaviour",
                         json::object{{"heartbeat_interval", seconds},
                                      {"measurement_configuration", json::array{"CONTINUOUS"}}}}};
  }

  milliseconds our_heartbeat_locked() const {
    return peer_heartbeat ? milliseconds(*peer_heartbeat) : settings.heartbeat_interval;
  }

  // --- worker -------------------------------------------------------------------------------

  void run(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      step();
      std::unique_lock lock(mutex);
      const auto now = clock.steady_now();
      const auto wait =
          std::clamp(next_wake_locked() - now, std::chrono::steady_clock::duration::zero(),
                     std::chrono::steady_clock::duration(std::chrono::seconds(1)));
      woken.wait_for(lock, stop, wait, [&] { return wake; });
      wake = false;
    }
  }

  std::chrono::steady_clock::time_point next_wake_locked() const {
    const auto now = clock.steady_now();
    if (register_reply || ack_pending) return now;
    switch (state) {
      case OscpState::kUnregistered:
      case OscpState::kRegistered:
        return retry_at;
      case OscpState::kHandshakeSent:
        return handshake_deadline;
      case OscpState::kConnected:
        return std::min(next_heartbeat, next_measurement);
    }
    return now;
  }

  void step() {
    check_peer_offline();
    std::unique_lock lock(mutex);
    const auto now = clock.steady_now();
    if (register_reply) {
      const std::string correlation = *register_reply;
      lock.unlock();
      auto r = call("Register", "register", register_body(), correlation);
      lock.lock();
      if (!outcome_locked(r)) return;
      register_reply.reset();
      if (state == OscpState::kUnregistered) set_state_locked(OscpState::kRegistered);
    }
    if (ack_pending) {
      lock.unlock();
      auto r = call("HandshakeAcknowledge", "handshake_acknowledge", required_behaviour());
      lock.lock();
      if (!outcome_locked(r)) return;
      ack_pending = false;
      connected_locked();
    }
    switch (state) {
      case OscpState::kUnregistered: {
        if (now < retry_at) return;
        lock.unlock();
        auto r = call("Register", "register", register_body());
        lock.lock();
        if (!outcome_locked(r)) return;
        // The peer's own Register (the reply) may have come in meanwhile.
        if (state == OscpState::kUnregistered) set_state_locked(OscpState::kRegistered);
        retry_at = now;
        return;
      }
      case OscpState::kRegistered: {
        if (now < retry_at) return;
        lock.unlock();
        auto r = call("Handshake", "handshake", required_behaviour());
        lock.lock();
        if (!outcome_locked(r)) return;
        // The acknowledgement may have come before the 204.
        if (state == OscpState::kRegistered) {
          set_state_locked(OscpState::kHandshakeSent);
          handshake_deadline = clock.steady_now() + settings.handshake_timeout;
        }
        return;
      }
      case OscpState::kHandshakeSent:
        if (now >= handshake_deadline) {
          log::warn("oscp handshake not acknowledged: sending it again");
          set_state_locked(OscpState::kRegistered);
          retry_at = now;
        }
        return;
      case OscpState::kConnected:
        break;
    }
    if (now >= next_heartbeat) {
      const milliseconds interval = our_heartbeat_locked();
      lock.unlock();
      json::object body{{"offline_mode_at", format_rfc3339(clock.now() + 3 * interval)}};
      auto r = call("Heartbeat", "heartbeat", body);
      lock.lock();
      if (!outcome_locked(r)) return;
      next_heartbeat = now + interval;
    }
    if (now >= next_measurement) {
      lock.unlock();
      bool all = true;
      for (const auto& [group, node] : settings.groups) {
        auto r =
            call("UpdateGroupMeasurements", "update_group_measurements", measurements(group, node));
        if (!succeeded(r)) {
          lock.lock();
          outcome_locked(r);
          lock.unlock();
          all = false;
          break;
        }
      }
      lock.lock();
      if (all) {
        retry_delay = settings.retry_initial;
        next_measurement = now + settings.measurement_interval;
      } else {
        next_measurement = retry_at;
      }
    }
  }

  // Called with mutex held after a call: true on success (back-off reset). A refused token
  // (401/403) starts over from Register; anything else backs off and stays.
  bool outcome_locked(const Result<http::Response>& r) {
    if (succeeded(r)) {
      retry_delay = settings.retry_initial;
      return true;
    }
    const auto now = clock.steady_now();
    if (r && (r->status == 401 || r->status == 403)) set_state_locked(OscpState::kUnregistered);
    retry_at = now + retry_delay;
    if (state == OscpState::kConnected) {
      next_heartbeat = std::max(next_heartbeat, retry_at);
      next_measurement = std::max(next_measurement, retry_at);
    }
    retry_delay = std::min(settings.retry_max, retry_delay * 2);
    return false;
  }

  json::object measurements(const std::string& group, const OscpGroup& node) {
    const Time now = clock.now();
    GroupEnergy& e = energy[group];
    json::array list;
    std::optional<NodeUsage> u = usage ? usage(node.site_id, node.node_id) : std::nullopt;
    std::optional<double> kw;
    if (u && u->power_kw) {
      kw = *u->power_kw;
    } else if (u && u->current_a) {
      kw = ((*u->current_a)[0] + (*u->current_a)[1] + (*u->current_a)[2]) *
           settings.nominal_voltage_v / 1000.0;
    }
    if (kw) {
      if (!e.started) {
        e.started = true;
        e.initial = now;
      } else {
        const double hours = std::chrono::duration<double, std::ratio<3600>>(now - e.last).count();
        e.wh += std::max(0.0, *kw) * 1000.0 * std::max(0.0, hours);
      }
      list.push_back(json::object{{"value", e.wh},
                                  {"phase", "ALL"},
                                  {"unit", "WH"},
                                  {"direction", "IMPORT"},
                                  {"energy_type", "TOTAL"},
                                  {"measure_time", format_rfc3339(now)},
                                  {"initial_measure_time", format_rfc3339(e.initial)}});
    }
    e.last = now;  // an unknown stretch adds nothing
    return json::object{{"group_id", group}, {"measurements", std::move(list)}};
  }

  void check_peer_offline() {
    std::optional<Time> at;
    {
      std::lock_guard lock(mutex);
      at = peer_offline_at;
    }
    if (!at || clock.now() <= *at || peer_offline.exchange(true)) return;
    log::warn(
        "oscp peer offline: no heartbeat before its offline_mode_at; fallback forecasts apply",
        {{"offline_mode_at", format_rfc3339(*at)}});
    if (metrics) metrics->peer_offline.Set(1);
    reapply_all();
  }

  void connected_locked() {
    if (state != OscpState::kConnected) log::info("oscp connected", {{"peer", peer_base_url}});
    set_state_locked(OscpState::kConnected);
    const auto now = clock.steady_now();
    next_heartbeat = now;
    next_measurement = now;
    wake_locked();
  }

  void set_state_locked(OscpState s) {
    state = s;
    publish_state_locked();
  }

  void publish_state_locked() {
    if (metrics) metrics->state.Set(static_cast<double>(state));
  }

  void wake_locked() {
    wake = true;
    woken.notify_all();
  }

  const OscpSettings settings;
  const SetForecast set_forecast;
  const MeasureUsage usage;
  const Clock& clock;
  const http::Client client;
  std::unique_ptr<Metrics> metrics;
  std::string route_prefix;

  // Connection state (mutex).
  mutable std::mutex mutex;
  std::condition_variable_any woken;
  bool wake = false;
  OscpState state = OscpState::kUnregistered;
  std::string peer_base_url;
  std::string send_token;
  std::optional<std::string> register_reply;           // X-Request-ID of a peer's initial Register
  bool ack_pending = false;                            // the peer handshook: acknowledge
  std::optional<std::chrono::seconds> peer_heartbeat;  // the interval the peer asked of us
  std::optional<Time> peer_offline_at;
  std::chrono::steady_clock::time_point retry_at{};
  std::chrono::steady_clock::time_point handshake_deadline{};
  std::chrono::steady_clock::time_point next_heartbeat{};
  std::chrono::steady_clock::time_point next_measurement{};
  milliseconds retry_delay{};
  std::atomic<bool> peer_offline{false};

  // Forecasts (apply_mutex, held across set_forecast so they apply in order).
  std::mutex apply_mutex;
  std::map<std::string, GroupForecasts> forecasts;

  // Worker only.
  std::map<std::string, GroupEnergy> energy;
  std::mutex rng_mutex;
  std::mt19937_64 rng;

  std::jthread worker;
};

OscpFlexibilityProvider::OscpFlexibilityProvider(OscpSettings settings, SetForecast set_forecast,
                                                 MeasureUsage usage, const Clock& clock,
                                                 prometheus::Registry* metrics)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(set_forecast), std::move(usage),
                                   clock, metrics)) {}

OscpFlexibilityProvider::~OscpFlexibilityProvider() { stop(); }

void OscpFlexibilityProvider::install_routes(http::Server& server) {
  Impl& impl = *impl_;
  const std::string& p = impl.route_prefix;
  auto with_body = [&impl](std::string_view message, auto handler) {
    return [&impl, message, handler](const http::Request& req) {
      return impl.serve(message, req, [&](const json::value& v) { return handler(req, v); });
    };
  };
  auto register_handler = with_body(
      "Register",
      [&impl](const http::Request& req, const json::value& v) { return impl.on_register(req, v); });
  server.route("POST", p + "/register", register_handler);
  server.route("PUT", p + "/register", register_handler);
  server.route("DELETE", p + "/register", [&impl](const http::Request& req) {
    auto refused = impl.check_auth(req);
    http::Response r = refused ? std::move(*refused) : impl.on_unregister();
    if (impl.metrics) {
      impl.metrics->received.Add({{"message", "Unregister"}, {"status", std::to_string(r.status)}})
          .Increment();
    }
    return r;
  });
  server.route("POST", p + "/handshake",
               with_body("Handshake", [&impl](const http::Request&, const json::value& v) {
                 return impl.on_handshake(v);
               }));
  auto ack = with_body("HandshakeAcknowledge", [&impl](const http::Request&, const json::value& v) {
    return impl.on_handshake_ack(v);
  });
  // The spec's name, and the spellings pyoscp and others use.
  for (const char* name :
       {"/handshake_acknowledge", "/handshake_acknowledgment", "/handshake_acknowledgement"}) {
    server.route("POST", p + name, ack);
  }
  server.route("POST", p + "/heartbeat",
               with_body("Heartbeat", [&impl](const http::Request&, const json::value& v) {
                 return impl.on_heartbeat(v);
               }));
  server.route(
      "POST", p + "/update_group_capacity_forecast",
      with_body("UpdateGroupCapacityForecast", [&impl](const http::Request&, const json::value& v) {
        return impl.on_forecast("UpdateGroupCapacityForecast", false, v);
      }));
  server.route(
      "POST", p + "/adjust_group_capacity_forecast",
      with_body("AdjustGroupCapacityForecast", [&impl](const http::Request&, const json::value& v) {
        return impl.on_forecast("AdjustGroupCapacityForecast", true, v);
      }));
}

void OscpFlexibilityProvider::start() {
  if (impl_->worker.joinable()) return;
  impl_->worker = std::jthread([this](const std::stop_token& stop) { impl_->run(stop); });
}

void OscpFlexibilityProvider::stop() {
  if (!impl_->worker.joinable()) return;
  impl_->worker.request_stop();
  impl_->worker.join();
}

OscpState OscpFlexibilityProvider::state() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->state;
}

bool OscpFlexibilityProvider::peer_offline() const { return impl_->peer_offline.load(); }

void add_oscp_settings(Settings& settings, OscpOptions& options) {
  OscpSettings& o = options.settings;
  settings
      .add("oscp-peer-url", o.peer_base_url,
           "OSCP 2.0 grid operator (capacity provider) base URL, e.g. "
           "http://grid:5000/oscp/cp/2.0; empty: OSCP off")
      .add("oscp-own-url", o.own_base_url,
           "Our OSCP base URL as the grid operator reaches it (on the HTTP side port), e.g. "
           "http://smart-charging:8094/oscp/fp/2.0 (default: the side port's own address)")
      .add_secret("oscp-accept-token", o.accept_token,
                  "Token the grid operator must send us (handed over in Register)")
      .add_secret("oscp-send-token", o.send_token,
                  "Token the grid operator gave us out of band (replaced by its Register)")
      .add("oscp-groups", options.groups,
           "OSCP group ids to site nodes: group=site/node[,group=site/node...]")
      .add("oscp-heartbeat-interval", o.heartbeat_interval,
           "Heartbeat interval asked of the grid operator (whole seconds)")
      .add("oscp-measurement-interval", o.measurement_interval,
           "How often each group's usage is reported (UpdateGroupMeasurements)")
      .add("oscp-ca-file", o.client.ca_file,
           "CA file for an https grid operator (empty: the system's trust store)");
}

std::string oscp_own_url(const std::string& listen_address, int http_port) {
  const bool any = listen_address.empty() || listen_address == "0.0.0.0" || listen_address == "::";
  return "http://" + (any ? std::string("127.0.0.1") : listen_address) + ":" +
         std::to_string(http_port) + "/oscp/fp/2.0";
}

Result<std::unique_ptr<OscpFlexibilityProvider>> make_oscp_provider(
    OscpOptions options, const std::string& default_own_url, SmartChargingService& service,
    http::Server& server, const Clock& clock, prometheus::Registry* metrics, sql::Database* db) {
  if (options.settings.peer_base_url.empty()) return std::unique_ptr<OscpFlexibilityProvider>();
  if (options.settings.own_base_url.empty()) options.settings.own_base_url = default_own_url;
  auto groups = parse_oscp_groups(options.groups);
  if (!groups) return std::unexpected(groups.error());
  options.settings.groups = std::move(*groups);
  if (db != nullptr) {
    // The peer's last Register replaced the configured token (and maybe the URL): send that one
    // again after a restart, unless the flags name another token or peer since.
    const std::string configured = oscp_configuration_fingerprint(
        options.settings.send_token, strip_slash(options.settings.peer_base_url));
    auto stored = SqlOscpPeerStore(*db).load();
    if (!stored) return std::unexpected(stored.error());
    if (*stored && (*stored)->configured == configured) {
      options.settings.send_token = (*stored)->token;
      options.settings.peer_base_url = (*stored)->base_url;
      log::info("oscp: the token and base URL of the peer's last Register are used",
                {{"base_url", (*stored)->base_url}});
    } else if (*stored) {
      log::info(
          "oscp: the configured send token or peer changed since the peer's last Register; "
          "the configured ones are used");
    }
    options.settings.on_peer_registered = [db, configured, &clock](const std::string& token,
                                                                   const std::string& base_url) {
      auto saved =
          SqlOscpPeerStore(*db).save(OscpPeer{token, base_url, configured}, unix_ms(clock.now()));
      if (!saved) {
        log::warn("oscp: the peer's token not kept (a restart sends the configured one)",
                  {{"error", saved.error().message}});
      }
    };
  }
  std::unique_ptr<OscpFlexibilityProvider> provider;
  try {
    provider = std::make_unique<OscpFlexibilityProvider>(
        std::move(options.settings),
        [&service](const std::string& site, const std::string& node, std::vector<LimitSlot> slots) {
          return service.set_forecast(site, node, std::move(slots));
        },
        [&service](const std::string& site, const std::string& node) -> std::optional<NodeUsage> {
          auto plan = service.plan(site);
          if (!plan) return std::nullopt;
          for (const auto& n : plan->nodes) {
            if (n.node_id == node) return NodeUsage{n.load.planned_a, std::nullopt};
          }
          return std::nullopt;
        },
        clock, metrics);
  } catch (const std::invalid_argument& e) {
    return make_error(ErrorCode::kInvalidArgument, std::string("OSCP: ") + e.what());
  }
  provider->install_routes(server);
  return provider;
}

}  // namespace switchyard::smart_charging

// OCPI chargingprofiles, CPO side (see charging_profiles.h).
#include "roaming/charging_profiles.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>

#include "common/runtime/core/log.h"
#include "common/runtime/grpc/work_pool.h"
#include "common/runtime/http/server.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

std::optional<double> number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

std::optional<std::int64_t> whole(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  return std::nullopt;
}

Error invalid(std::string what) { return Error{ErrorCode::kInvalidArgument, std::move(what)}; }

// The OCPI result of asking the smart-charging service (ChargingProfileResultType).
std::string_view result_of(const Error& e) {
  return e.code == ErrorCode::kNotFound ? "UNKNOWN" : "REJECTED";
}

Result<ProfileLimit> profile_limit_from_object(const json::object& o, std::int64_t now_ms) {
  ProfileLimit limit;
  limit.start_ms = now_ms;
  const json::value* unit = o.if_contains("charging_rate_unit");
  if (unit == nullptr || !unit->is_string() ||
      (unit->get_string() != "W" && unit->get_string() != "A")) {
    return std::unexpected(invalid("charging_rate_unit: must be \"W\" or \"A\""));
  }
  limit.watts = unit->get_string() == "W";
  if (const json::value* start = o.if_contains("start_date_time"); start && !start->is_null()) {
    std::optional<std::chrono::system_clock::time_point> at;
    if (start->is_string()) at = parse_rfc3339(start->get_string());
    if (!at) return std::unexpected(invalid("start_date_time: not an RFC 3339 time"));
    limit.start_ms = unix_ms(*at);
  }
  if (const json::value* duration = o.if_contains("duration"); duration && !duration->is_null()) {
    const auto seconds = whole(*duration);
    if (!seconds || *seconds < 0 || *seconds > 366LL * 24 * 3600) {
      return std::unexpected(invalid("duration: not a whole number of seconds of 0 to a year"));
    }
    limit.duration_s = *seconds;
  }
  if (const json::value* min = o.if_contains("min_charging_rate"); min && !min->is_null()) {
    const auto rate = number(*min);
    if (!rate || !std::isfinite(*rate) || *rate < 0) {
      return std::unexpected(invalid("min_charging_rate: not a number of 0 or more"));
    }
    limit.min_rate = *rate;
  }
  const json::value* periods = o.if_contains("charging_profile_period");
  if (periods == nullptr || !periods->is_array() || periods->get_array().empty()) {
    return std::unexpected(invalid("charging_profile_period: at least one period is required"));
  }
  if (periods->get_array().size() > 1024) {
    return std::unexpected(invalid("charging_profile_period: more than 1024 periods"));
  }
  for (std::size_t i = 0; i < periods->get_array().size(); ++i) {
    const std::string where = "charging_profile_period[" + std::to_string(i) + "]";
    const json::value& p = periods->get_array()[i];
    if (!p.is_object()) return std::unexpected(invalid(where + ": not an object"));
    const json::value* start = p.as_object().if_contains("start_period");
    const json::value* value = p.as_object().if_contains("limit");
    const auto start_s = start ? whole(*start) : std::nullopt;
    const auto limit_value = value ? number(*value) : std::nullopt;
    if (!start_s || *start_s < 0) {
      return std::unexpected(invalid(where + ".start_period: not a whole number of 0 or more"));
    }
    if (i == 0 && *start_s != 0) {
      return std::unexpected(invalid(where + ".start_period: the first period starts at 0"));
    }
    if (i > 0 && *start_s <= limit.periods.back().start_s) {
      return std::unexpected(invalid(where + ".start_period: not after the period before it"));
    }
    if (!limit_value || !std::isfinite(*limit_value) || *limit_value < 0) {
      return std::unexpected(invalid(where + ".limit: not a number of 0 or more"));
    }
    limit.periods.push_back({*start_s, *limit_value});
  }
  return limit;
}

}  // namespace

Result<ProfileLimit> profile_limit_from_json(std::string_view text, std::int64_t now_ms) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) return std::unexpected(invalid("not a JSON object"));
  return profile_limit_from_object(parsed.as_object(), now_ms);
}

struct ChargingProfilesReceiver::Job {
  std::string operation;  // set, get, clear
  std::string response_url;
  std::string partner_id;
  std::string their_token;
  Party to;
  std::string session_id;
  std::string charger_id;
  std::string transaction_id;
  ProfileLimit limit;           // set
  std::int64_t duration_s = 0;  // get
};

ChargingProfilesReceiver::ChargingProfilesReceiver(SessionStore& sessions, OcpiClient& client,
                                                   SessionLimits& limits, const Clock& clock,
                                                   prometheus::Registry* metrics,
                                                   std::chrono::seconds timeout)
    : sessions_(sessions),
      client_(client),
      limits_(limits),
      clock_(clock),
      timeout_(timeout),
      workers_(std::make_unique<WorkPool>(2, 1000)) {
  if (metrics == nullptr) return;
  requests_ = &prometheus::BuildCounter()
                   .Name("switchyard_roaming_charging_profiles_total")
                   .Help(
                       "OCPI charging profile requests from eMSPs by operation (set, get, clear) "
                       "and result (the ChargingProfileResponse's when not accepted, else the "
                       "result posted to the eMSP)")
                   .Register(*metrics);
  for (const char* op : {"set", "get", "clear"}) {
    for (const char* r : {"ACCEPTED", "REJECTED", "UNKNOWN"}) {
      requests_->Add({{"operation", op}, {"result", r}});
    }
  }
}

ChargingProfilesReceiver::~ChargingProfilesReceiver() { stop(); }

void ChargingProfilesReceiver::stop() { workers_.reset(); }

void ChargingProfilesReceiver::count(std::string_view operation, std::string_view result) {
  if (requests_ == nullptr) return;
  requests_->Add({{"operation", std::string(operation)}, {"result", std::string(result)}})
      .Increment();
}

void ChargingProfilesReceiver::run(const std::shared_ptr<Job>& job) {
  json::object body;
  std::string message;
  if (job->operation == "set") {
    auto planned = limits_.set(job->charger_id, job->transaction_id, job->limit);
    body["result"] = planned ? "ACCEPTED" : result_of(planned.error());
    message = planned ? "the session is re-planned under the limit" : planned.error().message;
  } else if (job->operation == "clear") {
    auto planned = limits_.clear(job->charger_id, job->transaction_id);
    body["result"] = planned ? "ACCEPTED" : result_of(planned.error());
    message = planned ? "limit taken off" : planned.error().message;
  } else {
    auto planned = limits_.get(job->charger_id, job->transaction_id);
    if (!planned) {
      body["result"] = result_of(planned.error());
      message = planned.error().message;
    } else {
      // What is in force now: the plan's limit per phase (a session limit already counted in).
      json::object profile{
          {"charging_rate_unit", "A"},
          {"charging_profile_period",
           json::array{json::object{{"start_period", 0}, {"limit", planned->current_a}}}}};
      if (job->duration_s > 0) profile["duration"] = job->duration_s;
      body["result"] = "ACCEPTED";
      body["profile"] = json::object{{"start_date_time", ocpi_timestamp(clock_.now())},
                                     {"charging_profile", std::move(profile)}};
      message = planned->reason;
    }
  }
  const std::string result(body["result"].as_string());
  count(job->operation, result);
  log::info("roaming charging profile answered", {{"partner_id", job->partner_id},
                                                  {"operation", job->operation},
                                                  {"session_id", job->session_id},
                                                  {"charger_id", job->charger_id},
                                                  {"result", result},
                                                  {"message", message}});
  post_result(client_, "chargingprofiles", job->response_url, job->their_token,
              json::serialize(body), job->to, job->partner_id);
}

http::Response ChargingProfilesReceiver::handle(const Partner& partner,
                                                const http::Request& request,
                                                std::string_view rest) {
  const auto now = clock_.now();
  auto fail = [&](int http, OcpiStatus status, const std::string& message) {
    return envelope_response(http, status, message, {}, now);
  };
  const std::string operation = request.method == "PUT"      ? "set"
                                : request.method == "GET"    ? "get"
                                : request.method == "DELETE" ? "clear"
                                                             : "";
  if (operation.empty()) {
    return fail(405, OcpiStatus::kClientError,
                "method " + request.method +
                    " not allowed on chargingprofiles (GET, PUT or DELETE "
                    "chargingprofiles/{session_id})");
  }
  const auto segments = path_segments(rest);
  if (segments.size() != 1 || segments[0].empty() || segments[0].size() > 36) {
    return fail(404, OcpiStatus::kClientError,
                "expected chargingprofiles/{session_id} (a session id of 1 to 36 characters)");
  }
  auto respond = [&](std::string_view result, const std::string& message) {
    if (result != "ACCEPTED") count(operation, result);
    json::object o{{"result", result}, {"timeout", timeout_.count()}};
    return envelope_response(200, OcpiStatus::kSuccess, message, json::serialize(o), now);
  };
  auto job = std::make_shared<Job>();
  job->operation = operation;
  job->session_id = segments[0];
  job->partner_id = partner.id;
  job->their_token = partner.their_token;
  if (!partner.roles.empty()) {
    job->to = Party{partner.roles.front().country_code, partner.roles.front().party_id};
  }

  // The response_url: in the body of a PUT, a query parameter of GET and DELETE.
  json::object body;
  if (operation == "set") {
    boost::system::error_code ec;
    json::value parsed = json::parse(request.body, ec);
    if (ec || !parsed.is_object()) {
      return fail(400, OcpiStatus::kInvalidParameters, "body: not a JSON object");
    }
    body = std::move(parsed.as_object());
    if (const json::value* url = body.if_contains("response_url"); url && url->is_string()) {
      job->response_url = std::string(url->get_string());
    }
  } else {
    job->response_url = request.query_param("response_url").value_or("");
  }
  if (!job->response_url.starts_with("http://") && !job->response_url.starts_with("https://")) {
    return fail(400, OcpiStatus::kInvalidParameters, "response_url: missing or not an http(s) URL");
  }
  if (job->response_url.size() > 255) {
    return fail(400, OcpiStatus::kInvalidParameters, "response_url: longer than 255 characters");
  }
  if (operation == "get") {
    const std::string duration = request.query_param("duration").value_or("");
    std::int64_t seconds = -1;
    const auto [end, ec] =
        std::from_chars(duration.data(), duration.data() + duration.size(), seconds);
    if (duration.empty() || ec != std::errc() || end != duration.data() + duration.size() ||
        seconds < 0 || seconds > 7LL * 24 * 3600) {
      return fail(400, OcpiStatus::kInvalidParameters,
                  "duration: missing or not a whole number of seconds of 0 to a week");
    }
    job->duration_s = seconds;
  }
  if (operation == "set") {
    const json::value* profile = body.if_contains("charging_profile");
    if (profile == nullptr || !profile->is_object()) {
      return fail(400, OcpiStatus::kInvalidParameters,
                  "charging_profile: missing or not an object");
    }
    auto limit = profile_limit_from_object(profile->as_object(), unix_ms(now));
    if (!limit) {
      return fail(400, OcpiStatus::kInvalidParameters, "charging_profile." + limit.error().message);
    }
    job->limit = std::move(*limit);
    job->limit.source =
        "eMSP " + (job->to.empty() ? partner.id : job->to.country_code + "*" + job->to.party_id);
  }

  if (!limits_.configured()) {
    return respond("NOT_SUPPORTED", "this CPO plans no charging (no smart-charging service)");
  }
  auto session = sessions_.session(job->session_id);
  if (!session) {
    log::error("chargingprofiles: session read failed", {{"error", session.error().message}});
    return fail(500, OcpiStatus::kServerError, "sessions unavailable");
  }
  if (!*session || (*session)->owner.partner_id != partner.id) {
    return respond("UNKNOWN_SESSION", "unknown session " + job->session_id);
  }
  const v1::Transaction& t = (*session)->transaction;
  if (t.state() == v1::TRANSACTION_STATE_ENDED) {
    return respond("REJECTED", "session " + job->session_id + " has ended");
  }
  job->charger_id = t.charger_id();
  job->transaction_id = t.transaction_id();
  if (!workers_ || !workers_->post([this, job] { run(job); })) {
    return respond("REJECTED", "too many charging profile requests in flight; try again");
  }
  log::info("roaming charging profile accepted", {{"partner_id", partner.id},
                                                  {"operation", operation},
                                                  {"session_id", job->session_id},
                                                  {"charger_id", job->charger_id}});
  return respond("ACCEPTED", "");
}

}  // namespace switchyard::roaming

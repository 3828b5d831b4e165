// Calls to Hubject (see oicp_client.h).
#include "roaming/oicp_client.h"

#include <boost/json.hpp>

#include "roaming/metrics.h"

namespace switchyard::roaming {

namespace json = boost::json;

namespace {

http::ClientSettings client_settings(const OicpSettings& s) {
  http::ClientSettings c;
  c.total_timeout = s.timeout;
  c.connect_timeout = std::min(s.timeout, c.connect_timeout);
  c.ca_file = s.ca;
  c.client_cert_file = s.client_certificate;
  c.client_key_file = s.client_key;
  c.body_limit = 1 << 20;
  return c;
}

std::string text_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

std::string_view oicp_operation_name(OicpOperation operation) {
  switch (operation) {
    case OicpOperation::kPushEvseData:
      return "evse-data";
    case OicpOperation::kPushEvseStatus:
      return "evse-status";
    case OicpOperation::kChargeDetailRecord:
      return "charge-detail-record";
    case OicpOperation::kAuthorizeStart:
      return "authorize-start";
    case OicpOperation::kPushPricingProducts:
      return "pricing-products";
    case OicpOperation::kPushEvsePricing:
      return "evse-pricing";
    case OicpOperation::kAuthorizeStop:
      return "authorize-stop";
  }
  return "other";
}

std::string oicp_path(OicpOperation operation, std::string_view operator_id) {
  const std::string op(operator_id);
  switch (operation) {
    case OicpOperation::kPushEvseData:
      return "/evsepush/v23/operators/" + op + "/data-records";
    case OicpOperation::kPushEvseStatus:
      return "/evsepush/v21/operators/" + op + "/status-records";
    case OicpOperation::kChargeDetailRecord:
      return "/cdrmgmt/v22/operators/" + op + "/charge-detail-record";
    case OicpOperation::kAuthorizeStart:
      return "/charging/v21/operators/" + op + "/authorize/start";
    case OicpOperation::kPushPricingProducts:
      return "/dynamicpricing/v10/operators/" + op + "/pricing-products";
    case OicpOperation::kPushEvsePricing:
      return "/dynamicpricing/v10/operators/" + op + "/evse-pricing";
    case OicpOperation::kAuthorizeStop:
      return "/charging/v21/operators/" + op + "/authorize/stop";
  }
  return "/";
}

Result<void> read_acknowledgement(std::string_view what, int http_status, std::string_view body) {
  const std::string prefix(what);
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  const json::value* result = o != nullptr ? o->if_contains("Result") : nullptr;
  if (result == nullptr || !result->is_bool()) {
    const ErrorCode code = http_status >= 500 || http_status == 429
                               ? ErrorCode::kUnavailable
                               : ErrorCode::kFailedPrecondition;
    return make_error(
        code, prefix + ": HTTP " + std::to_string(http_status) +
                  " without an eRoamingAcknowledgment: " + std::string(body.substr(0, 200)));
  }
  if (result->as_bool() && http_status / 100 == 2) return {};
  std::string status = "StatusCode ?";
  if (const auto* sc = o->if_contains("StatusCode"); sc != nullptr && sc->is_object()) {
    const auto& s = sc->as_object();
    status = "StatusCode " + text_of(s, "Code");
    if (auto d = text_of(s, "Description"); !d.empty()) status += " " + d;
    if (auto a = text_of(s, "AdditionalInfo"); !a.empty()) status += ": " + a.substr(0, 300);
  }
  return make_error(ErrorCode::kFailedPrecondition,
                    prefix + ": HTTP " + std::to_string(http_status) + ", Result false, " + status);
}

HttpOicpClient::HttpOicpClient(const OicpSettings& settings, RoamingMetrics* metrics)
    : settings_(settings), client_(client_settings(settings)), metrics_(metrics) {}

Result<http::Response> HttpOicpClient::post(OicpOperation operation, std::string body) {
  const std::string_view name = oicp_operation_name(operation);
  auto answer = client_.post_json(settings_.url + oicp_path(operation, settings_.operator_id),
                                  std::move(body));
  if (metrics_ != nullptr) {
    metrics_->request("out", name, "POST", answer ? answer->status : 0, "oicp");
  }
  if (!answer) {
    return make_error(ErrorCode::kUnavailable, std::string(name) + ": " + answer.error().message);
  }
  return std::move(*answer);
}

Result<void> HttpOicpClient::push(OicpOperation operation, std::string body) {
  auto answer = post(operation, std::move(body));
  if (!answer) return std::unexpected(answer.error());
  return read_acknowledgement(oicp_operation_name(operation), answer->status, answer->body);
}

Result<std::string> HttpOicpClient::request(OicpOperation operation, std::string body) {
  auto answer = post(operation, std::move(body));
  if (!answer) return std::unexpected(answer.error());
  if (answer->status == 200) return std::move(answer->body);
  const std::string name(oicp_operation_name(operation));
  return make_error(
      answer->status >= 500 || answer->status == 429 ? ErrorCode::kUnavailable
                                                     : ErrorCode::kFailedPrecondition,
      name + ": HTTP " + std::to_string(answer->status) + ": " + answer->body.substr(0, 200));
}

}  // namespace switchyard::roaming

// The calls we make to Hubject (OICP 2.3, CPO role) as a port (tests fake it) and its
// implementation on the HTTP client: a JSON POST to the operation's path under --oicp-url over
// mutual TLS (the client certificate Hubject issued for our OperatorID), answered with an
// eRoamingAcknowledgment (or, for authorizations, its own answer).
#pragma once

#include <string>
#include <string_view>

#include "common/runtime/core/error.h"
#include "common/runtime/http/client.h"
#include "roaming/settings.h"

namespace switchyard::roaming {

class RoamingMetrics;

enum class OicpOperation {
  kPushEvseData,         // eRoamingPushEvseData 2.3
  kPushEvseStatus,       // eRoamingPushEvseStatus 2.1
  kChargeDetailRecord,   // eRoamingChargeDetailRecord 2.2
  kAuthorizeStart,       // eRoamingAuthorizeStart 2.1 (answered with eRoamingAuthorizationStart)
  kPushPricingProducts,  // eRoamingPushPricingProductData 1.0
  kPushEvsePricing,      // eRoamingPushEVSEPricing 1.0
  kAuthorizeStop,        // eRoamingAuthorizeStop 2.1 (answered with eRoamingAuthorizationStop)
};
// For metrics and logs: "evse-data", "evse-status", "charge-detail-record", "authorize-start",
// "pricing-products", "evse-pricing", "authorize-stop".
std::string_view oicp_operation_name(OicpOperation operation);
// The path under --oicp-url, e.g. "/evsepush/v23/operators/DE*SWY/data-records".
std::string oicp_path(OicpOperation operation, std::string_view operator_id);

// Errors name the operation: kUnavailable when no answer came (refused, reset, timed out, TLS
// refused, or HTTP 5xx / 429 without an acknowledgement); kFailedPrecondition when Hubject
// answered Result false ("evse-status: StatusCode 017 Unauthorized Access: <info>") or any other
// HTTP status, or something that is not an acknowledgement.
class OicpClient {
 public:
  virtual ~OicpClient() = default;
  virtual Result<void> push(OicpOperation operation, std::string body) = 0;
  // A request answered with its own message (eRoamingAuthorizeStart / Stop): the answer's JSON when
  // it came with HTTP 200; kUnavailable / kFailedPrecondition as for push().
  virtual Result<std::string> request(OicpOperation operation, std::string body) = 0;
};

// Thread-safe. Counts switchyard_roaming_requests_total{direction="out",protocol="oicp"}.
class HttpOicpClient final : public OicpClient {
 public:
  // Throws std::runtime_error when the certificate, key or CA cannot be loaded (a start-up
  // failure).
  HttpOicpClient(const OicpSettings& settings, RoamingMetrics* metrics);
  Result<void> push(OicpOperation operation, std::string body) override;
  Result<std::string> request(OicpOperation operation, std::string body) override;

 private:
  // The answer of a POST, counted; kUnavailable when none came.
  Result<http::Response> post(OicpOperation operation, std::string body);

  OicpSettings settings_;
  http::Client client_;
  RoamingMetrics* metrics_;
};

// Reads an eRoamingAcknowledgment: success when Result is true; kFailedPrecondition naming the
// StatusCode otherwise (`what` prefixes the message).
Result<void> read_acknowledgement(std::string_view what, int http_status, std::string_view body);

}  // namespace switchyard::roaming

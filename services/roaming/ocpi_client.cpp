// Calls to a partner's OCPI versions and credentials modules over HTTP (see ocpi_client.h).
#include "roaming/ocpi_client.h"

#include <thread>

#include "common/runtime/core/log.h"
#include "roaming/metrics.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {

namespace {

Error failed(const std::string& where, const std::string& what) {
  return Error{ErrorCode::kFailedPrecondition, where + ": " + what};
}

template <typename T>
Result<T> payload(Result<T> parsed, const std::string& where) {
  if (!parsed)
    return std::unexpected(failed(where, "unexpected answer: " + parsed.error().message));
  return parsed;
}

}  // namespace

HttpOcpiClient::HttpOcpiClient(http::ClientSettings settings, RoamingMetrics* metrics, Party ours)
    : client_(std::move(settings)), metrics_(metrics), ours_(std::move(ours)) {}

Result<std::string> HttpOcpiClient::call(const std::string& method, const std::string& module,
                                         const std::string& url, const std::string& token,
                                         std::string body, const Party* to) {
  // Token uids in a URL are credentials: logs and errors show them redacted.
  const std::string shown = module == "tokens" ? redact_token_path(url) : url;
  const std::string where = method + " " + shown;
  http::ClientRequest request;
  request.method = method;
  request.url = url;
  request.headers = {{"Authorization", authorization_header(token)},
                     {"X-Request-ID", new_uuid()},
                     {"X-Correlation-ID", new_uuid()},
                     {"Accept", "application/json"}};
  if (to != nullptr && !ours_.empty() && !to->empty()) {
    request.headers.emplace_back("OCPI-from-country-code", ours_.country_code);
    request.headers.emplace_back("OCPI-from-party-id", ours_.party_id);
    request.headers.emplace_back("OCPI-to-country-code", to->country_code);
    request.headers.emplace_back("OCPI-to-party-id", to->party_id);
  }
  if (!body.empty()) {
    request.body = std::move(body);
    request.content_type = "application/json";
  }
  auto r = client_.send(request);
  if (metrics_ != nullptr) metrics_->request("out", module, method, r ? r->status : 0);
  if (!r) {
    Error e = r.error();
    // A timeout is the partner being unreachable too; the message says which it was.
    if (e.code == ErrorCode::kDeadlineExceeded || e.code == ErrorCode::kResourceExhausted) {
      e.code = ErrorCode::kUnavailable;
    }
    for (auto at = e.message.find(url); shown != url && at != std::string::npos;
         at = e.message.find(url, at + shown.size())) {
      e.message.replace(at, url.size(), shown);
    }
    log::warn("ocpi call failed", {{"method", method}, {"url", shown}, {"error", e.message}});
    return std::unexpected(std::move(e));
  }
  auto envelope = envelope_from_json(r->body);
  const bool http_ok = r->status / 100 == 2;
  if (!envelope) {
    log::warn("ocpi call answered without an envelope",
              {{"method", method}, {"url", shown}, {"status", r->status}});
    const std::string what = "HTTP " + std::to_string(r->status) + ": not an OCPI response (" +
                             envelope.error().message + ")";
    if (r->status == 502 || r->status == 503 || r->status == 504) {
      return make_error(ErrorCode::kUnavailable, where + ": " + what);
    }
    return std::unexpected(failed(where, what));
  }
  const bool ocpi_ok = envelope->status_code >= 1000 && envelope->status_code < 2000;
  if (!http_ok || !ocpi_ok) {
    std::string what = http_ok ? std::string() : "HTTP " + std::to_string(r->status) + ": ";
    what +=
        "status_code " + std::to_string(envelope->status_code) + ": " + envelope->status_message;
    log::warn("ocpi call refused", {{"method", method},
                                    {"url", shown},
                                    {"status", r->status},
                                    {"status_code", envelope->status_code},
                                    {"status_message", envelope->status_message}});
    return std::unexpected(failed(where, what));
  }
  return std::move(envelope->data_json);
}

Result<std::vector<VersionInfo>> HttpOcpiClient::versions(const std::string& url,
                                                          const std::string& token) {
  auto data = call("GET", "versions", url, token, {});
  if (!data) return std::unexpected(data.error());
  return payload(versions_from_json(*data), "GET " + url);
}

Result<VersionDetails> HttpOcpiClient::version_details(const std::string& url,
                                                       const std::string& token) {
  auto data = call("GET", "versions", url, token, {});
  if (!data) return std::unexpected(data.error());
  return payload(version_details_from_json(*data), "GET " + url);
}

Result<Credentials> HttpOcpiClient::post_credentials(const std::string& url,
                                                     const std::string& token,
                                                     const Credentials& ours) {
  auto data = call("POST", "credentials", url, token, credentials_json(ours));
  if (!data) return std::unexpected(data.error());
  return payload(credentials_from_json(*data), "POST " + url);
}

Result<Credentials> HttpOcpiClient::put_credentials(const std::string& url,
                                                    const std::string& token,
                                                    const Credentials& ours) {
  auto data = call("PUT", "credentials", url, token, credentials_json(ours));
  if (!data) return std::unexpected(data.error());
  return payload(credentials_from_json(*data), "PUT " + url);
}

Result<void> HttpOcpiClient::delete_credentials(const std::string& url, const std::string& token) {
  auto data = call("DELETE", "credentials", url, token, {});
  if (!data) return std::unexpected(data.error());
  return {};
}

Result<void> HttpOcpiClient::push(const std::string& method, const std::string& module,
                                  const std::string& url, const std::string& token,
                                  std::string body, const Party& to) {
  auto data = call(method, module, url, token, std::move(body), &to);
  if (!data) return std::unexpected(data.error());
  return {};
}

Result<std::string> HttpOcpiClient::request(const std::string& method, const std::string& module,
                                            const std::string& url, const std::string& token,
                                            std::string body, const Party& to) {
  return call(method, module, url, token, std::move(body), &to);
}

bool post_result(OcpiClient& client, const std::string& module, const std::string& url,
                 const std::string& token, const std::string& body, const Party& to,
                 const std::string& partner_id) {
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto sent = client.push("POST", module, url, token, body, to);
    if (sent) return true;
    log::warn("result not delivered to the response_url", {{"partner_id", partner_id},
                                                           {"module", module},
                                                           {"attempt", attempt},
                                                           {"error", sent.error().message}});
    if (sent.error().code != ErrorCode::kUnavailable) return false;
    if (attempt < 3) std::this_thread::sleep_for(std::chrono::seconds(attempt));
  }
  return false;
}

}  // namespace switchyard::roaming

// The calls we make to a partner's OCPI modules (configuration, and pushes to its receivers), as
// a port (tests fake it) and its
// implementation on the HTTP client. Every call authenticates with `Authorization: Token
// <base64(token)>` and carries a new X-Request-ID and X-Correlation-ID.
#pragma once

#include <string>
#include <vector>

#include "common/runtime/core/error.h"
#include "common/runtime/http/client.h"
#include "roaming/ocpi_envelope.h"
#include "roaming/ocpi_types.h"

namespace switchyard::roaming {

class RoamingMetrics;

// Errors name the method and URL ("GET <url>: ..."): kUnavailable when no answer came (refused,
// reset, timed out, or an HTTP 502/503/504 without an OCPI envelope); kFailedPrecondition when
// the partner answered with anything but success ("POST <url>: HTTP 401: status_code 2000:
// <message>", "...: status_code 2001: <message>") or with a payload that is not the object
// asked for.
class OcpiClient {
 public:
  virtual ~OcpiClient() = default;
  virtual Result<std::vector<VersionInfo>> versions(const std::string& url,
                                                    const std::string& token) = 0;
  virtual Result<VersionDetails> version_details(const std::string& url,
                                                 const std::string& token) = 0;
  // POST (register) / PUT (update) our credentials; their credentials come back.
  virtual Result<Credentials> post_credentials(const std::string& url, const std::string& token,
                                               const Credentials& ours) = 0;
  virtual Result<Credentials> put_credentials(const std::string& url, const std::string& token,
                                              const Credentials& ours) = 0;
  virtual Result<void> delete_credentials(const std::string& url, const std::string& token) = 0;
  // A push to one of their receiver modules (`module` for metrics: "locations", ...): PUT or
  // PATCH `body` (JSON) to `url`; success is HTTP 2xx with status_code 1xxx.
  // Functional modules carry the routing headers (OCPI-from-*: us, OCPI-to-*: `to`), so a hub
  // can route them.
  virtual Result<void> push(const std::string& method, const std::string& module,
                            const std::string& url, const std::string& token, std::string body,
                            const Party& to) = 0;
  // Any other call to one of their modules: the `data` of the successful answer, serialised.
  virtual Result<std::string> request(const std::string& method, const std::string& module,
                                      const std::string& url, const std::string& token,
                                      std::string body, const Party& to) = 0;
};

// POSTs the asynchronous result of a partner's request (a CommandResult, a ChargingProfileResult
// ...) to its `response_url` through `client`: 3 attempts while the partner cannot be reached (1 s,
// then 2 s apart), none after it answered with an error. False when it was not delivered; each
// failure is logged with `module` and `partner_id`.
bool post_result(OcpiClient& client, const std::string& module, const std::string& url,
                 const std::string& token, const std::string& body, const Party& to,
                 const std::string& partner_id);

// Thread-safe. Counts switchyard_roaming_requests_total{direction="out"} when `metrics` is set.
class HttpOcpiClient final : public OcpiClient {
 public:
  // `ours`: the OCPI-from-* party of functional calls (empty: no routing headers).
  HttpOcpiClient(http::ClientSettings settings, RoamingMetrics* metrics, Party ours = {});

  Result<std::vector<VersionInfo>> versions(const std::string& url,
                                            const std::string& token) override;
  Result<VersionDetails> version_details(const std::string& url, const std::string& token) override;
  Result<Credentials> post_credentials(const std::string& url, const std::string& token,
                                       const Credentials& ours) override;
  Result<Credentials> put_credentials(const std::string& url, const std::string& token,
                                      const Credentials& ours) override;
  Result<void> delete_credentials(const std::string& url, const std::string& token) override;
  Result<void> push(const std::string& method, const std::string& module, const std::string& url,
                    const std::string& token, std::string body, const Party& to) override;
  Result<std::string> request(const std::string& method, const std::string& module,
                              const std::string& url, const std::string& token, std::string body,
                              const Party& to) override;

 private:
  // The `data` of a successful answer, serialised ("" when absent).
  // `to`: the routing headers' OCPI-to-* party of a functional call; null for configuration
  // modules (versions, credentials), which never carry routing headers.
  Result<std::string> call(const std::string& method, const std::string& module,
                           const std::string& url, const std::string& token, std::string body,
                           const Party* to = nullptr);

  http::Client client_;
  RoamingMetrics* metrics_;
  Party ours_;
};

}  // namespace switchyard::roaming

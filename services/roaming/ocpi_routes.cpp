// OCPI routes on the HTTP server (see ocpi_routes.h).
#include "roaming/ocpi_routes.h"

#include "common/runtime/core/log.h"
#include "common/runtime/http/server.h"
#include "roaming/credentials.h"
#include "roaming/metrics.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {

void install_ocpi_routes(http::Server& server, Registration& registration,
                         RoamingMetrics* metrics) {
  auto handler = [&registration, metrics](const http::Request& request) {
    http::Response response = registration.handle(request);
    const std::string_view module = registration.module_of(request.path);
    if (metrics != nullptr) metrics->request("in", module, request.method, response.status);
    if (response.status >= 400) {
      // Never the Authorization header: it carries a token.
      log::warn("ocpi request refused", {{"method", request.method},
                                         {"path", redact_token_path(request.path)},
                                         {"status", response.status},
                                         {"remote", request.remote_address},
                                         {"request_id", request.header("x-request-id")}});
    }
    return response;
  };
  const std::string& base = registration.base_path();
  if (!base.empty()) server.route("*", base, handler);
  server.route_prefix("*", base + "/", handler);
}

}  // namespace switchyard::roaming

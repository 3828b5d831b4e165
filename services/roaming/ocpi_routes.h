// The OCPI HTTP endpoints on a server (the service's side port, or the standalone HTTP port),
// under the path of our base URL.
#pragma once

namespace switchyard::http {
class Server;
}  // namespace switchyard::http

namespace switchyard::roaming {

class Registration;
class RoamingMetrics;

// Routes <base path> and everything under it to `registration`, counting each request in
// switchyard_roaming_requests_total{direction="in"} when `metrics` is set. Before
// server.start(); `registration` and `metrics` outlive the server.
void install_ocpi_routes(http::Server& server, Registration& registration, RoamingMetrics* metrics);

}  // namespace switchyard::roaming

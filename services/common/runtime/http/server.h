// A small HTTP/1.1 server on Beast for the side port (metrics, health) and HTTP APIs (OCPI).
// Handlers run on the server's own threads; Beast stays in the .cpp.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::http {

struct Request {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // path and query as sent
  std::string path;                                          // target without the query
  std::string query;                                         // after '?', not decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_address;
  // Over TLS with client certificates (ServerConfig::tls_client_ca): the verified certificate's
  // subject CN. Empty otherwise.
  std::string client_common_name;

  // Empty when absent. `name` must be lower case.
  std::string_view header(std::string_view name) const;
  // The decoded value of a query parameter, if present.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response text(int status, std::string body);
  static Response json(int status, std::string body);
};

using Handler = std::function<Response(const Request&)>;

struct ServerConfig {
  std::string address = "0.0.0.0";
  int port = 8080;  // 0: any free port (tests)
  int threads = 1;
  std::size_t body_limit = 1 << 20;
  // A request must arrive completely within this time (slow clients are cut off).
  std::chrono::milliseconds read_timeout{15000};
  // HTTPS when set (PEM files, TLS 1.2 or later): the server's certificate chain and key; with
  // tls_client_ca every client must present a certificate that chains to it (mutual TLS).
  std::string tls_certificate;
  std::string tls_key;
  std::string tls_client_ca;
};

class Server {
 public:
  explicit Server(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Register routes before start(). `method` "*" matches any method. Exact paths win over
  // prefixes; the longest prefix wins among prefixes.
  void route(std::string method, std::string path, Handler handler);
  void route_prefix(std::string method, std::string prefix, Handler handler);

  // Binds and starts serving; a taken port is an error naming the address, TLS files that do not
  // load are kInvalidArgument naming the file.
  Result<void> start();
  void stop();
  // The bound port (useful with port 0).
  int port() const;

  struct Impl;  // defined in server.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

// Percent-decoding ('+' stays '+'); nullopt on a malformed escape.
std::optional<std::string> url_decode(std::string_view text);

}  // namespace switchyard::http

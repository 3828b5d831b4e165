// A small synchronous HTTP/1.1 client on Beast for calls to peers (OSCP, OCPI push): one
// connection per request, a connect timeout and a total timeout, plain http or https (a CA file,
// optionally a client certificate). Beast and Asio stay in the .cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/runtime/core/error.h"
#include "common/runtime/http/server.h"

namespace switchyard::http {

struct ClientSettings {
  // Resolving and connecting (and the TLS handshake) must finish within this.
  std::chrono::milliseconds connect_timeout{5000};
  // The whole exchange, connect included, must finish within this.
  std::chrono::milliseconds total_timeout{15000};
  std::size_t body_limit = 8 << 20;  // bytes of response body accepted
  // https only. Empty ca_file: the system's default trust store.
  std::string ca_file;
  std::string client_cert_file;  // PEM chain; with client_key_file, sent to the server
  std::string client_key_file;   // PEM
  bool verify_peer = true;
};

// "http://host:port/path?query" split up; the port defaults to 80 / 443.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  int port = 0;
  std::string target;  // path and query, at least "/"

  std::string authority() const;  // "host:port"
};

// kInvalidArgument naming the URL when it is not an absolute http(s) URL.
Result<Url> parse_url(std::string_view url);

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;  // set when not empty
};

// Thread-safe: every request builds its own connection. The TLS context (with the CA and the
// client certificate) is loaded once, at construction.
class Client {
 public:
  // Throws std::runtime_error when the CA or certificate files cannot be loaded (a start-up
  // failure).
  explicit Client(ClientSettings settings = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Any HTTP status is a Response; an error means no response was read. Errors name the method,
  // URL and host:port: kInvalidArgument (bad URL), kUnavailable (resolve, connect, TLS, reset),
  // kDeadlineExceeded (a timeout), kResourceExhausted (body over body_limit).
  Result<Response> send(const ClientRequest& request) const;

  // POST `body` as application/json.
  Result<Response> post_json(const std::string& url, std::string body,
                             std::vector<std::pair<std::string, std::string>> headers = {}) const;

  struct Tls;  // defined in client.cpp

 private:
  ClientSettings settings_;
  std::unique_ptr<Tls> tls_;
};

}  // namespace switchyard::http

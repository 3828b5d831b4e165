// Beast HTTP/1.1 client: one io_context and one connection per request, run as a coroutine
// bounded by a connect deadline and a total deadline.
#include "common/runtime/http/client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <type_traits>

namespace switchyard::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

std::string Url::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Url> parse_url(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "bad URL '" + std::string(text) + "': " + std::string(why));
  };
  Url url;
  const size_t colon = text.find("://");
  if (colon == std::string_view::npos) return bad("no scheme");
  for (char c : text.substr(0, colon)) {
    url.scheme.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (url.scheme != "http" && url.scheme != "https") return bad("scheme is not http or https");
  std::string_view rest = text.substr(colon + 3);
  const size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    url.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after ']'");
      port_text = after.substr(1);
    }
  } else {
    const size_t c = authority.rfind(':');
    url.host = std::string(authority.substr(0, c));
    if (c != std::string_view::npos) port_text = authority.substr(c + 1);
  }
  if (url.host.empty()) return bad("no host");
  url.port = url.scheme == "https" ? 443 : 80;
  if (!port_text.empty()) {
    int port = 0;
    const auto [p, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || p != port_text.data() + port_text.size() || port < 1 || port > 65535) {
      return bad("bad port");
    }
    url.port = port;
  }
  const size_t fragment = rest.find('#');
  url.target = std::string(rest.substr(0, fragment));
  if (url.target.empty() || url.target[0] == '?') url.target.insert(0, "/");
  return url;
}

struct Client::Tls {
  ssl::context context{ssl::context::tls_client};
};

Client::Client(ClientSettings settings)
    : settings_(std::move(settings)), tls_(std::make_unique<Tls>()) {
  auto& ctx = tls_->context;
  boost::system::error_code ec;
  if (settings_.ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(settings_.ca_file, ec);
    if (ec) {
      throw std::runtime_error("http client: cannot load CA file " + settings_.ca_file + ": " +
                               ec.message());
    }
  }
  if (!settings_.client_cert_file.empty()) {
    ctx.use_certificate_chain_file(settings_.client_cert_file, ec);
    if (!ec) ctx.use_private_key_file(settings_.client_key_file, ssl::context::pem, ec);
    if (ec) {
      throw std::runtime_error("http client: cannot load client certificate " +
                               settings_.client_cert_file + " / key " + settings_.client_key_file +
                               ": " + ec.message());
    }
  }
  ctx.set_verify_mode(settings_.verify_peer ? ssl::verify_peer : ssl::verify_none);
}

Client::~Client() = default;

namespace {

struct Outcome {
  bool done = false;
  const char* stage = "resolve";
  beast::error_code ec;
  Response response;
};

template <typename Stream>
net::awaitable<void> exchange(Stream& stream, tcp::resolver& resolver, const Url& url,
                              bhttp::request<bhttp::string_body>& request,
                              const ClientSettings& settings, SteadyTime deadline, Outcome& out) {
  constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  auto token = net::redirect_error(net::use_awaitable, out.ec);
  auto& socket_layer = beast::get_lowest_layer(stream);

  out.stage = "resolve";
  const auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port), token);
  if (out.ec) co_return;

  out.stage = "connect";
  socket_layer.expires_at(
      std::min(deadline, std::chrono::steady_clock::now() + settings.connect_timeout));
  co_await socket_layer.async_connect(endpoints, token);
  if (out.ec) co_return;
  if constexpr (kTls) {
    out.stage = "TLS handshake";
    co_await stream.async_handshake(ssl::stream_base::client, token);
    if (out.ec) co_return;
  }

  socket_layer.expires_at(deadline);
  out.stage = "write";
  co_await bhttp::async_write(stream, request, token);
  if (out.ec) co_return;

  out.stage = "read";
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(settings.body_limit);
  co_await bhttp::async_read(stream, buffer, parser, token);
  if (out.ec) co_return;

  auto& message = parser.get();
  out.response.status = static_cast<int>(message.result_int());
  out.response.content_type = std::string(message[bhttp::field::content_type]);
  for (const auto& field : message) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.response.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  out.response.body = std::move(message.body());
  out.done = true;
  beast::error_code ignored;
  socket_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

template <typename Stream>
Result<Response> run(net::io_context& ioc, Stream& stream, const Url& url,
                     bhttp::request<bhttp::string_body>& request, const ClientSettings& settings,
                     const std::string& what) {
  const SteadyTime deadline = std::chrono::steady_clock::now() + settings.total_timeout;
  tcp::resolver resolver(ioc);
  Outcome out;
  net::co_spawn(ioc, exchange(stream, resolver, url, request, settings, deadline, out),
                net::detached);
  // The stream's own expiry bounds connect, write and read; this bounds the resolver too.
  ioc.run_until(deadline + std::chrono::milliseconds(50));
  bool timed_out = false;
  if (!ioc.stopped()) {
    timed_out = !out.done;
    resolver.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
    ioc.run();  // lets the coroutine unwind
  }
  if (out.done) return std::move(out.response);
  const std::string where = what + ": " + out.stage + " " + url.authority();
  if (timed_out || out.ec == beast::error::timeout) {
    return make_error(ErrorCode::kDeadlineExceeded, where + " timed out");
  }
  if (out.ec == bhttp::error::body_limit) {
    return make_error(
        ErrorCode::kResourceExhausted,
        where + ": response body over " + std::to_string(settings.body_limit) + " bytes");
  }
  return make_error(ErrorCode::kUnavailable, where + " failed: " + out.ec.message());
}

}  // namespace

Result<Response> Client::send(const ClientRequest& request) const {
  auto url = parse_url(request.url);
  if (!url) return std::unexpected(url.error());
  const std::string what = request.method + " " + request.url;

  bhttp::request<bhttp::string_body> message;
  message.method_string(request.method);
  message.target(url->target);
  message.version(11);
  const bool default_port = url->port == (url->scheme == "https" ? 443 : 80);
  const bool v6 = url->host.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + url->host + "]" : url->host;
  message.set(bhttp::field::host, default_port ? host : host + ":" + std::to_string(url->port));
  message.set(bhttp::field::user_agent, "switchyard");
  if (!request.content_type.empty()) message.set(bhttp::field::content_type, request.content_type);
  for (const auto& [name, value] : request.headers) message.set(name, value);
  message.keep_alive(false);
  message.body() = request.body;
  message.prepare_payload();

  net::io_context ioc(1);
  if (url->scheme == "https") {
    beast::ssl_stream<beast::tcp_stream> stream(ioc, tls_->context);
    // SNI, and the certificate must name the host.
    if (!SSL_set_tlsext_host_name(stream.native_handle(), url->host.c_str())) {
      return make_error(ErrorCode::kInvalidArgument, what + ": cannot set SNI " + url->host);
    }
    if (settings_.verify_peer) stream.set_verify_callback(ssl::host_name_verification(url->host));
    return run(ioc, stream, *url, message, settings_, what);
  }
  beast::tcp_stream stream(ioc);
  return run(ioc, stream, *url, message, settings_, what);
}

Result<Response> Client::post_json(const std::string& url, std::string body,
                                   std::vector<std::pair<std::string, std::string>> headers) const {
  ClientRequest request;
  request.method = "POST";
  request.url = url;
  request.body = std::move(body);
  request.headers = std::move(headers);
  request.content_type = "application/json";
  return send(request);
}

}  // namespace switchyard::http

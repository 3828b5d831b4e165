// Beast HTTP/1.1 server: async accept, keep-alive sessions on strands, bounded bodies and reads.
#include "common/runtime/http/server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <map>
#include <thread>
#include <type_traits>

#include "common/runtime/core/log.h"

namespace switchyard::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string> url_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = hex(text[i + 1]);
    const int lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (key != name) continue;
    if (eq == std::string_view::npos) return std::string{};
    std::string value(pair.substr(eq + 1));
    std::replace(value.begin(), value.end(), '+', ' ');
    return url_decode(value);
  }
  return std::nullopt;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

struct Server::Impl {
  struct Route {
    std::string method;
    Handler handler;
  };
  ServerConfig config;
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::map<std::string, std::vector<Route>> exact;
  std::vector<std::pair<std::string, Route>> prefixes;  // sorted longest first
  int bound_port = 0;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<ssl::context> tls;  // with ServerConfig::tls_certificate

  explicit Impl(ServerConfig c) : config(std::move(c)) {}

  Response dispatch(const Request& req) const {
    auto pick = [&](const std::vector<Route>& routes) -> const Route* {
      for (const Route& r : routes) {
        if (r.method == "*" || r.method == req.method) return &r;
      }
      return nullptr;
    };
    bool path_known = false;
    if (auto it = exact.find(req.path); it != exact.end()) {
      path_known = true;
      if (const Route* r = pick(it->second)) return r->handler(req);
    }
    for (const auto& [prefix, route] : prefixes) {
      if (!req.path.starts_with(prefix)) continue;
      path_known = true;
      if (route.method == "*" || route.method == req.method) return route.handler(req);
    }
    if (path_known)
      return Response::text(405, "method " + req.method + " not allowed on " + req.path + "\n");
    return Response::text(404, "no route for " + req.path + "\n");
  }
};

namespace {

// The verified peer certificate's CN; empty without one.
std::string peer_common_name(SSL* ssl) {
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer == nullptr) return {};
  std::string out;
  char cn[256];
  const int n =
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
  if (n > 0) out.assign(cn, static_cast<std::size_t>(n));
  X509_free(peer);
  return out;
}

// One connection: plain (beast::tcp_stream) or TLS (beast::ssl_stream over it).
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, const Server::Impl& server)
      : stream_(std::move(stream)), server_(server) {}

  void start() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(server_.config.read_timeout);
      stream_.async_handshake(
          ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
            if (ec) {  // no or an untrusted certificate, or gone
              log::debug("https handshake failed", {{"error", ec.message()}});
              return;
            }
            self->client_common_name_ = peer_common_name(self->stream_.native_handle());
            self->read();
          });
    } else {
      read();
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  void read() {
    parser_.emplace();
    parser_->body_limit(server_.config.body_limit);
    beast::get_lowest_layer(stream_).expires_after(server_.config.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_read(ec);
                      });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == ssl::error::stream_truncated) {
      return close();
    }
    if (ec) {
      const int status = ec == bhttp::error::body_limit ? 413 : 400;
      Response r = Response::text(status, std::string("bad request: ") + ec.message() + "\n");
      return write(std::move(r), false);
    }
    const auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    const size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    for (const auto& field : msg) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      req.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    req.body = msg.body();
    req.client_common_name = client_common_name_;
    beast::error_code ignored;
    const auto endpoint = beast::get_lowest_layer(stream_).socket().remote_endpoint(ignored);
    req.remote_address = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    Response response;
    try {
      response = server_.dispatch(req);
    } catch (const std::exception& e) {
      log::error("http handler threw", {{"path", req.path}, {"error", e.what()}});
      response = Response::text(500, "internal error\n");
    }
    write(std::move(response), msg.keep_alive());
  }

  void write(Response r, bool keep_alive) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->set(bhttp::field::server, "switchyard");
    res->set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(server_.config.read_timeout);
    bhttp::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive) return self->close();
          self->read();
        });
  }

  void close() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_)
            .socket()
            .shutdown(tcp::socket::shutdown_both, ignored);
      });
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  const Server::Impl& server_;
  std::string client_common_name_;
};

void do_accept(Server::Impl& impl) {
  impl.acceptor->async_accept(
      net::make_strand(impl.ioc), [&impl](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted) return;
        if (!ec && impl.tls) {
          using Tls = beast::ssl_stream<beast::tcp_stream>;
          std::make_shared<Session<Tls>>(Tls(beast::tcp_stream(std::move(socket)), *impl.tls), impl)
              ->start();
        } else if (!ec) {
          std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), impl)
              ->start();
        }
        do_accept(impl);
      });
}

}  // namespace

Server::Server(ServerConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Server::~Server() { stop(); }

void Server::route(std::string method, std::string path, Handler handler) {
  impl_->exact[std::move(path)].push_back(Impl::Route{std::move(method), std::move(handler)});
}

void Server::route_prefix(std::string method, std::string prefix, Handler handler) {
  impl_->prefixes.emplace_back(std::move(prefix),
                               Impl::Route{std::move(method), std::move(handler)});
  std::stable_sort(impl_->prefixes.begin(), impl_->prefixes.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

namespace {

// The server's TLS context from the config's files; kInvalidArgument naming what did not load.
Result<void> load_tls(Server::Impl& impl) {
  const auto& c = impl.config;
  auto& tls = impl.tls.emplace(ssl::context::tls_server);
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  beast::error_code ec;
  const auto failed = [&](const std::string& what, const std::string& file) {
    impl.tls.reset();
    return make_error(ErrorCode::kInvalidArgument,
                      "http: " + what + " " + file + " does not load: " + ec.message());
  };
  tls.use_certificate_chain_file(c.tls_certificate, ec);
  if (ec) return failed("certificate", c.tls_certificate);
  tls.use_private_key_file(c.tls_key, ssl::context::pem, ec);
  if (ec) return failed("key", c.tls_key);
  if (!c.tls_client_ca.empty()) {
    tls.load_verify_file(c.tls_client_ca, ec);
    if (ec) return failed("client CA", c.tls_client_ca);
    tls.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    // With client certificates OpenSSL refuses to resume a TLS 1.2 session without an id
    // context (SESSION_ID_CONTEXT_UNINITIALIZED): a peer that resumes would fail its handshake.
    static constexpr unsigned char kContext[] = "switchyard-http";
    SSL_CTX_set_session_id_context(tls.native_handle(), kContext, sizeof kContext - 1);
  }
  return {};
}

}  // namespace

Result<void> Server::start() {
  if (!impl_->config.tls_certificate.empty()) {
    if (auto loaded = load_tls(*impl_); !loaded) return loaded;
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->config.address, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument, "http: bad address " + impl_->config.address);
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(impl_->config.port));
  auto& acceptor = impl_->acceptor.emplace(impl_->ioc);
  const std::string where = impl_->config.address + ":" + std::to_string(impl_->config.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    impl_->acceptor.reset();
    return make_error(
        ec == net::error::address_in_use ? ErrorCode::kAlreadyExists : ErrorCode::kUnavailable,
        "http: cannot listen on " + where + ": " + ec.message());
  }
  impl_->bound_port = acceptor.local_endpoint().port();
  do_accept(*impl_);
  impl_->work.emplace(impl_->ioc.get_executor());
  for (int i = 0; i < std::max(1, impl_->config.threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  return {};
}

void Server::stop() {
  if (impl_->threads.empty()) return;
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
  });
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

int Server::port() const { return impl_->bound_port; }

}  // namespace switchyard::http

// bench-beast-echo: a bare Boost.Beast WebSocket echo server on one thread, the transport
// ceiling a Beast-based gateway can reach. It agrees on the first subprotocol the client offers
// (so OCPP clients connect) and sends every message back as it came. Prints its counters as one
// JSON line on SIGINT / SIGTERM.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <fstream>
#include <memory>

#include "common/runtime/core/settings.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

struct Counters {
  std::uint64_t connections = 0;
  std::uint64_t messages = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Counters& counters) : ws_(std::move(socket)), counters_(counters) {}

  void start() {
    http::async_read(ws_.next_layer(), buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->accept();
                     });
  }

 private:
  void accept() {
    std::string protocol(request_[http::field::sec_websocket_protocol]);
    if (const auto comma = protocol.find(','); comma != std::string::npos) protocol.resize(comma);
    ws_.set_option(websocket::stream_base::decorator([protocol](websocket::response_type& res) {
      if (!protocol.empty()) res.set(http::field::sec_websocket_protocol, protocol);
    }));
    ws_.auto_fragment(false);
    ws_.async_accept(request_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      ++self->counters_.connections;
      self->request_ = {};
      self->read();
    });
  }

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->ws_.text(self->ws_.got_text());
      self->ws_.async_write(self->buffer_.data(), [self](beast::error_code write_ec, std::size_t) {
        if (write_ec) return;
        ++self->counters_.messages;
        self->buffer_.consume(self->buffer_.size());
        self->read();
      });
    });
  }

  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  Counters& counters_;
};

void do_accept(tcp::acceptor& acceptor, Counters& counters) {
  acceptor.async_accept([&acceptor, &counters](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<Session>(std::move(socket), counters)->start();
    do_accept(acceptor, counters);
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1";
  int port = 9101;
  std::string port_file;
  switchyard::Settings settings("bench-beast-echo",
                                "Bare Boost.Beast WebSocket echo server (one thread), a floor");
  settings.add("address", address, "Listen address")
      .add("port", port, "Listen port (0 = any; see --port-file)")
      .add("port-file", port_file, "Write the port listened on to this file");
  if (auto code = settings.parse(argc, argv)) return *code;

  net::io_context ioc{1};
  tcp::acceptor acceptor(ioc);
  const tcp::endpoint endpoint(net::ip::make_address(address), static_cast<unsigned short>(port));
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(4096);
  if (!port_file.empty()) {
    std::ofstream(port_file) << acceptor.local_endpoint().port() << "\n";
  }
  std::fprintf(stderr, "bench-beast-echo listening on %s:%u\n", address.c_str(),
               acceptor.local_endpoint().port());
  Counters counters;
  do_accept(acceptor, counters);
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
  ioc.run();
  std::printf("{\"server\":\"beast-echo\",\"connections\":%llu,\"messages\":%llu}\n",
              static_cast<unsigned long long>(counters.connections),
              static_cast<unsigned long long>(counters.messages));
  return 0;
}

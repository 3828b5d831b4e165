// libFuzzer target: the gateway's server WebSocket (services/gateway/server_websocket.h) fed
// arbitrary bytes as if a charger sent them right after its upgrade request. Byte 0 sets the
// message limit (64 << (b % 11) bytes) and whether the session reads every message or closes
// first; the rest are the bytes. Properties, beyond "no crash, no leak, no sanitizer report":
//  * the connection ends at most once (on_ws_error or on_ws_closed, never both);
//  * no message handed over is larger than the limit, and every text message is UTF-8;
//  * nothing is handed over after the connection ended.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/runtime/websocket/protocol.h"
#include "gateway/plain_stream.h"
#include "gateway/server_websocket.h"

namespace {

namespace net = boost::asio;
using switchyard::gateway::PlainStream;
using switchyard::gateway::ServerWebSocket;
using switchyard::gateway::WebSocketLimits;

// Holds its connection as the gateway's session does: pending waits keep both alive.
struct Owner : std::enable_shared_from_this<Owner> {
  Owner(PlainStream stream, WebSocketLimits limits)
      : ws(std::move(stream), *this, limits), limit(limits.max_message) {}

  ServerWebSocket<PlainStream, Owner> ws;
  std::size_t limit = 0;
  int endings = 0;

  void check(std::string_view message, bool text) {
    if (endings != 0) std::abort();
    if (message.size() > limit) std::abort();
    if (text && !switchyard::websocket::valid_utf8(message)) std::abort();
  }
  void on_ws_accepted(boost::system::error_code) {}
  void on_ws_message(std::string_view message, bool text) {
    check(message, text);
    ws.read();
  }
  void on_ws_crossed(std::string_view message, bool text) { check(message, text); }
  void on_ws_error(boost::system::error_code) { ++endings; }
  void on_ws_closed() { ++endings; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static net::io_context ioc;
  static net::ip::tcp::acceptor acceptor(
      ioc, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  if (size < 1) return 0;
  net::ip::tcp::socket client(ioc);
  client.connect(acceptor.local_endpoint());
  PlainStream::socket_type server(ioc);
  acceptor.accept(server);

  WebSocketLimits limits;
  limits.max_message = std::size_t{64} << (data[0] % 11);
  auto owner = std::make_shared<Owner>(PlainStream(std::move(server)), limits);
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  owner->ws.accept("HTTP/1.1 101 Switching Protocols\r\n\r\n", bytes);
  if (data[0] & 0x80) owner->ws.close(1001, "draining");
  owner->ws.read();
  ioc.restart();
  ioc.poll();
  // Past every timeout: the connection ends now if it had not.
  owner->ws.tick(std::chrono::steady_clock::now() + std::chrono::hours(1));
  ioc.restart();
  ioc.poll();
  if (owner->endings > 1) std::abort();
  // What is still pending completes (cancelled) and lets go of the owner.
  boost::system::error_code ignored;
  owner->ws.stream().socket().close(ignored);
  ioc.restart();
  ioc.poll();
  return 0;
}

// The gateway's server WebSocket over a real loopback TCP connection: a raw client writes
// masked frames (runtime/websocket/protocol.h) and reads what the server sends.
#include "gateway/server_websocket.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <string>
#include <vector>

#include "gateway/plain_stream.h"

namespace switchyard::gateway {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Steady = std::chrono::steady_clock;

struct Owner : std::enable_shared_from_this<Owner> {
  std::unique_ptr<ServerWebSocket<PlainStream, Owner>> ws;
  std::vector<std::string> messages;
  std::vector<std::string> crossed;
  std::vector<bool> text;
  boost::system::error_code accepted{net::error::would_block};
  boost::system::error_code error;
  bool errored = false;
  bool closed = false;
  bool read_again = false;  // asks for the next message from inside on_ws_message

  void on_ws_accepted(boost::system::error_code ec) { accepted = ec; }
  void on_ws_message(std::string_view m, bool t) {
    messages.emplace_back(m);
    text.push_back(t);
    if (read_again) ws->read();
  }
  void on_ws_crossed(std::string_view m, bool) { crossed.emplace_back(m); }
  void on_ws_error(boost::system::error_code ec) {
    errored = true;
    error = ec;
  }
  void on_ws_closed() { closed = true; }
};

class ServerWebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(WebSocketLimits limits) {
    tcp::acceptor acceptor(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    client_ = std::make_unique<tcp::socket>(ioc_);
    client_->connect(acceptor.local_endpoint());
    PlainStream::socket_type server(ioc_);
    acceptor.accept(server);
    owner_ = std::make_shared<Owner>();
    owner_->ws = std::make_unique<ServerWebSocket<PlainStream, Owner>>(
        PlainStream(std::move(server)), *owner_, limits);
    owner_->ws->accept("HTTP/1.1 101 Switching Protocols\r\n\r\n", {});
    EXPECT_FALSE(owner_->accepted);
    EXPECT_EQ(read_bytes(36), "HTTP/1.1 101 Switching Protocols\r\n\r\n");
  }

  void TearDown() override {
    owner_->ws.reset();  // the connection refers to its owner
  }

  void send(websocket::Opcode opcode, std::string_view payload, bool fin = true, bool mask = true) {
    std::string frame;
    websocket::append_frame(frame, opcode, payload, 0x11223344u);
    if (!fin) frame[0] = static_cast<char>(frame[0] & 0x7F);
    if (!mask) {
      // The same frame unmasked: clear the bit, drop the key, unmask the payload.
      std::string plain;
      websocket::append_frame(plain, opcode, payload);
      frame = plain;
    }
    net::write(*client_, net::buffer(frame));
  }

  // Runs the server's side until `done` or 2 s.
  template <typename Done>
  void run_until(Done done) {
    const auto until = Steady::now() + std::chrono::seconds(2);
    while (!done() && Steady::now() < until) {
      ioc_.restart();
      ioc_.run_for(std::chrono::milliseconds(5));
    }
  }

  std::string read_bytes(std::size_t n) {
    std::string out(n, '\0');
    net::read(*client_, net::buffer(out));
    return out;
  }

  // The next server frame: opcode and payload (server frames are never masked).
  std::pair<int, std::string> read_frame() {
    std::string bytes = read_bytes(2);
    std::size_t length = static_cast<unsigned char>(bytes[1]) & 0x7F;
    EXPECT_EQ(static_cast<unsigned char>(bytes[1]) & 0x80, 0) << "server frames are not masked";
    if (length == 126) {
      const std::string ext = read_bytes(2);
      length = (static_cast<unsigned char>(ext[0]) << 8) | static_cast<unsigned char>(ext[1]);
    }
    return {static_cast<unsigned char>(bytes[0]) & 0x0F, length ? read_bytes(length) : ""};
  }

  static int close_code(const std::string& payload) {
    return payload.size() < 2 ? 0
                              : (static_cast<unsigned char>(payload[0]) << 8) |
                                    static_cast<unsigned char>(payload[1]);
  }

  net::io_context ioc_;
  std::unique_ptr<tcp::socket> client_;
  std::shared_ptr<Owner> owner_;
};

TEST_F(ServerWebSocketTest, DeliversOneMessagePerReadAndHoldsTheRestInTcp) {
  send(websocket::kText, R"([2,"1","Heartbeat",{}])");
  send(websocket::kText, R"([2,"2","Heartbeat",{}])");
  owner_->ws->read();
  run_until([&] { return !owner_->messages.empty(); });
  ioc_.restart();
  ioc_.run_for(std::chrono::milliseconds(20));
  ASSERT_EQ(owner_->messages.size(), 1u) << "the second waits until it is asked for";
  EXPECT_EQ(owner_->messages[0], R"([2,"1","Heartbeat",{}])");
  EXPECT_TRUE(owner_->text[0]);
  owner_->ws->read();
  run_until([&] { return owner_->messages.size() == 2; });
  EXPECT_EQ(owner_->messages[1], R"([2,"2","Heartbeat",{}])");
}

TEST_F(ServerWebSocketTest, ManyFramesInOneReadDoNotRecurse) {
  std::string burst;
  for (int i = 0; i < 2000; ++i) websocket::append_frame(burst, websocket::kText, "[]", 7u);
  net::write(*client_, net::buffer(burst));
  owner_->read_again = true;
  owner_->ws->read();
  run_until([&] { return owner_->messages.size() == 2000; });
  EXPECT_EQ(owner_->messages.size(), 2000u);
}

TEST_F(ServerWebSocketTest, AssemblesFragmentsAndAnswersAPingBetweenThem) {
  owner_->ws->read();
  send(websocket::kText, "[2,\"1\",", /*fin=*/false);
  send(websocket::kPing, "are you there");
  send(websocket::kContinuation, "\"Heartbeat\",{}]");
  run_until([&] { return !owner_->messages.empty(); });
  ASSERT_EQ(owner_->messages.size(), 1u);
  EXPECT_EQ(owner_->messages[0], R"([2,"1","Heartbeat",{}])");
  const auto pong = read_frame();
  EXPECT_EQ(pong.first, websocket::kPong);
  EXPECT_EQ(pong.second, "are you there");
}

TEST_F(ServerWebSocketTest, APeersCloseIsEchoedAndReported) {
  owner_->ws->read();
  send(websocket::kClose, websocket::close_payload(1001, "rebooting"));
  run_until([&] { return owner_->errored; });
  EXPECT_EQ(owner_->error, boost::beast::websocket::error::closed);
  EXPECT_EQ(owner_->ws->peer_close_code(), 1001);
  EXPECT_EQ(owner_->ws->peer_close_reason(), "rebooting");
  EXPECT_TRUE(owner_->ws->closing());  // the echo is our close
  const auto echo = read_frame();
  EXPECT_EQ(echo.first, websocket::kClose);
  EXPECT_EQ(close_code(echo.second), 1001);
}

TEST_F(ServerWebSocketTest, AnUnmaskedFrameIsAProtocolError) {
  owner_->ws->read();
  send(websocket::kText, "[]", true, /*mask=*/false);
  run_until([&] { return owner_->errored; });
  EXPECT_EQ(owner_->error, boost::beast::websocket::error::bad_unmasked_frame);
  const auto close = read_frame();
  EXPECT_EQ(close.first, websocket::kClose);
  EXPECT_EQ(close_code(close.second), 1002);
  EXPECT_TRUE(owner_->messages.empty());
}

TEST_F(ServerWebSocketTest, AMessageOverTheLimitIsRefusedFromItsHeaderWith1009) {
  owner_->ws.reset();
  client_.reset();
  WebSocketLimits limits;
  limits.max_message = 100;
  start(limits);
  owner_->ws->read();
  // Only the header of a 1 MB frame: refused before any of its payload is read.
  std::string header;
  websocket::append_frame(header, websocket::kText, std::string(1 << 20, 'x'), 1u);
  header.resize(14);
  net::write(*client_, net::buffer(header));
  run_until([&] { return owner_->errored; });
  EXPECT_EQ(owner_->error, boost::beast::websocket::error::message_too_big);
  EXPECT_EQ(close_code(read_frame().second), 1009);
}

TEST_F(ServerWebSocketTest, TextThatIsNotUtf8Closes1007) {
  owner_->ws->read();
  send(websocket::kText, "[2,\"1\",\"\xC0\xAF\"]");
  run_until([&] { return owner_->errored; });
  EXPECT_EQ(owner_->error, boost::beast::websocket::error::bad_frame_payload);
  EXPECT_EQ(close_code(read_frame().second), 1007);
}

TEST_F(ServerWebSocketTest, ReservedOpcodesAndContinuationsOutOfOrderAreProtocolErrors) {
  owner_->ws->read();
  send(websocket::kContinuation, "x");
  run_until([&] { return owner_->errored; });
  EXPECT_EQ(owner_->error, boost::beast::websocket::error::bad_continuation);
  EXPECT_EQ(close_code(read_frame().second), 1002);
}

TEST_F(ServerWebSocketTest, OurCloseWaitsForTheAnswerAndHandsOverWhatCrossedIt) {
  owner_->ws->send_text("bye");
  EXPECT_FALSE(owner_->ws->closing());
  owner_->ws->close(1001, "pod draining, reconnect");
  EXPECT_TRUE(owner_->ws->closing());
  owner_->ws->send_text("too late");  // after our close frame: not sent
  EXPECT_EQ(read_frame().second, "bye");
  const auto close = read_frame();
  EXPECT_EQ(close.first, websocket::kClose);
  EXPECT_EQ(close_code(close.second), 1001);
  EXPECT_EQ(close.second.substr(2), "pod draining, reconnect");
  send(websocket::kText, R"([2,"9","Heartbeat",{}])");  // sent before it saw our close
  send(websocket::kClose, websocket::close_payload(1001, ""));
  run_until([&] { return owner_->closed; });
  EXPECT_TRUE(owner_->closed);
  EXPECT_FALSE(owner_->errored);
  ASSERT_EQ(owner_->crossed.size(), 1u);
  EXPECT_EQ(owner_->crossed[0], R"([2,"9","Heartbeat",{}])");
  EXPECT_TRUE(owner_->messages.empty());
  // The server closed the TCP connection.
  char byte;
  boost::system::error_code ec;
  net::read(*client_, net::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, net::error::eof);
}

TEST_F(ServerWebSocketTest, AnUnansweredCloseEndsAtTheCloseTimeout) {
  owner_->ws->close(1000, "");
  EXPECT_EQ(read_frame().first, websocket::kClose);
  EXPECT_TRUE(owner_->ws->tick(Steady::now()));
  EXPECT_FALSE(owner_->ws->tick(Steady::now() + std::chrono::seconds(6)));
  EXPECT_TRUE(owner_->closed);
}

TEST_F(ServerWebSocketTest, ASilentPeerIsPingedAtHalfTheIdleTimeoutAndDroppedAtIt) {
  owner_->ws.reset();
  client_.reset();
  WebSocketLimits limits;
  limits.idle_timeout = std::chrono::seconds(10);
  start(limits);
  owner_->ws->read();
  const auto t0 = Steady::now();
  EXPECT_TRUE(owner_->ws->tick(t0 + std::chrono::seconds(4)));
  EXPECT_TRUE(owner_->ws->tick(t0 + std::chrono::seconds(6)));
  EXPECT_EQ(read_frame().first, websocket::kPing);
  EXPECT_FALSE(owner_->ws->tick(t0 + std::chrono::seconds(11)));
  EXPECT_EQ(owner_->error, boost::beast::error::timeout);
}

TEST_F(ServerWebSocketTest, AnIdleConnectionHoldsNoBuffer) {
  owner_->ws->read();
  send(websocket::kText, std::string(3000, 'a'));
  run_until([&] { return !owner_->messages.empty(); });
  owner_->ws->send_text(std::string(3000, 'b'));
  EXPECT_EQ(read_frame().second.size(), 3000u);
  EXPECT_GT(owner_->ws->held_bytes(), 0u);
  EXPECT_TRUE(owner_->ws->tick(Steady::now()));
  EXPECT_EQ(owner_->ws->held_bytes(), 0u);
}

}  // namespace
}  // namespace switchyard::gateway

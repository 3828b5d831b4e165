// The server side of an RFC 6455 connection, over the gateway's plain or TLS stream, driven by
// readiness. What it keeps per connection is what an idle charger needs and no more:
// * no read or write buffer while idle: bytes are read only once the socket is readable, and
//   the buffers are given back at the next tick() that finds them empty;
// * no timer: the worker's sweep calls tick(), which sends the keep-alive ping, and ends a
//   connection that stayed silent or a close that went unanswered;
// * one pending operation: the wait for the socket to be readable.
// Writes are tried at once on the non-blocking socket; only a full socket makes them wait.
// Frames are checked as RFC 6455 asks of a server (masked, no reserved bits or opcodes, control
// frames short and whole, continuations in order, text in UTF-8, close codes a peer may send);
// a violation is answered with a close frame (1002, 1007 or 1009) and reported.
//
// The owner (the charger session) holds the connection and is called on its thread:
//   std::shared_ptr<Owner> shared_from_this()   keeps it alive across waits
//   void on_ws_accepted(error_code)             the 101 answer is written (or failed)
//   void on_ws_message(string_view, bool text)  the message read() asked for; the view lives
//                                               until the call returns
//   void on_ws_crossed(string_view, bool text)  a data message that came after our close frame
//   void on_ws_error(error_code)                the connection ended before our close did:
//                                               websocket::error::closed (the peer closed;
//                                               peer_close_code()), beast::error::timeout,
//                                               message_too_big, another protocol error, or the
//                                               network's
//   void on_ws_closed()                         our close was answered (or timed out)
// Exactly one of the last two is called, once. Included by connections.cpp alone.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/runtime/websocket/protocol.h"

namespace switchyard::gateway {

struct WebSocketLimits {
  std::size_t max_message = std::size_t{64} * 1024;
  std::chrono::steady_clock::duration idle_timeout{};  // 0: none; a ping goes out at half
  std::chrono::steady_clock::duration close_timeout = std::chrono::seconds(5);
};

template <typename Stream, typename Owner>
class ServerWebSocket {
 public:
  using Steady = std::chrono::steady_clock;
  using error_code = boost::system::error_code;

  ServerWebSocket(Stream&& stream, Owner& owner, WebSocketLimits limits)
      : stream_(std::move(stream)), owner_(owner), limits_(limits), last_rx_(Steady::now()) {}

  auto get_executor() { return stream_.get_executor(); }
  Stream& stream() { return stream_; }

  // Writes the upgrade's answer (`response`, made by the caller); `early` are bytes the client
  // sent after its request, read with it. Then on_ws_accepted.
  void accept(std::string response, std::string_view early) {
    accepting_ = true;
    last_rx_ = Steady::now();
    if (!early.empty()) {
      std::memcpy(in_.prepare(early.size()).first, early.data(), early.size());
      in_.commit(early.size());
    }
    out_ = std::move(response);
    flush();
  }

  // Asks for the next data message: on_ws_message once it is complete. Frames are read only
  // while a message is asked for (or our close waits for its answer): a charger that sends
  // faster than its session takes is held by TCP.
  void read() {
    if (reported_) return;
    want_ = true;
    pump();
  }

  void send_text(std::string_view payload) {
    if (close_sent_ || shut_) return;
    websocket::append_frame(out_, websocket::kText, payload);
    flush();
  }

  // When the peer last sent anything (bytes read), or when the connection was opened.
  Steady::time_point last_received() const { return last_rx_; }

  // Sends a close frame, then reads (data messages go to on_ws_crossed) until the peer's close
  // frame answers it or close_timeout passes; then on_ws_closed.
  void close(std::uint16_t code, std::string_view reason) {
    if (close_sent_ || shut_) return;
    close_sent_ = true;
    close_sent_at_ = Steady::now();
    websocket::append_frame(out_, websocket::kClose, websocket::close_payload(code, reason));
    flush();
    pump();
  }

  // Our close frame is queued (or the connection is over): nothing more is sent or asked for.
  bool closing() const { return close_sent_ || shut_; }

  // The peer's close frame, once one came: its code (1005 when it had none) and reason.
  std::uint16_t peer_close_code() const { return peer_code_; }
  const std::string& peer_close_reason() const {
    static const std::string kNone;
    return peer_reason_ ? *peer_reason_ : kNone;
  }

  // Heap bytes its buffers hold (0 on an idle connection after a tick).
  std::size_t held_bytes() const {
    auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() : 0; };
    return in_.capacity() + heap(message_) + heap(out_) + heap(sending_);
  }

  // The keep-alive ping, the idle and close timeouts, and empty buffers given back. False once
  // the connection is over (the sweep forgets it).
  bool tick(Steady::time_point now) {
    if (shut_) return false;
    if (close_sent_) {
      if (now - close_sent_at_ >= limits_.close_timeout) {
        shut_down();
        report_closed();
        return false;
      }
    } else if (limits_.idle_timeout.count() > 0 && !accepting_) {
      const auto silent = now - last_rx_;
      if (silent >= limits_.idle_timeout) {
        shut_down();
        report(boost::beast::error::timeout);
        return false;
      }
      if (silent >= limits_.idle_timeout / 2 && !ping_sent_) {
        ping_sent_ = true;
        websocket::append_frame(out_, websocket::kPing, {});
        flush();
      }
    }
    if (!writing_ && out_.empty() && sent_ == sending_.size()) {
      std::string().swap(sending_);
      std::string().swap(out_);
      sent_ = 0;
    }
    in_.shrink(0);
    if (message_.empty()) std::string().swap(message_);
    return !shut_;
  }

 private:
  // -- reading ----------------------------------------------------------------------------
  enum class Step { kMore, kWait };

  // Handles the frames already read, as far as the owner asks; reads more when it needs to.
  // Re-entrant calls (the owner asks again from inside on_ws_message) only set want_: the
  // loop here picks them up, so the stack never grows with the frames of one read.
  void pump() {
    if (pumping_) return;
    pumping_ = true;
    while (!reported_ && !shut_ && step() == Step::kMore) {
    }
    pumping_ = false;
  }

  Step step() {
    const std::string_view bytes = in_.data();
    const auto header = websocket::parse_frame_header(bytes);
    if (!header) return need_bytes();
    const auto& h = *header;
    const bool control = (h.opcode & 0x8) != 0;
    if (h.rsv != 0) return fail(boost::beast::websocket::error::bad_reserved_bits);
    if (!h.masked) return fail(boost::beast::websocket::error::bad_unmasked_frame);
    if (control) {
      if (h.opcode > websocket::kPong) return fail(boost::beast::websocket::error::bad_opcode);
      if (!h.fin) return fail(boost::beast::websocket::error::bad_control_fragment);
      if (h.length > 125) return fail(boost::beast::websocket::error::bad_control_size);
    } else {
      if (h.opcode > websocket::kBinary) return fail(boost::beast::websocket::error::bad_opcode);
      if (h.opcode == websocket::kContinuation && fragmented_ == 0)
        return fail(boost::beast::websocket::error::bad_continuation);
      if (h.opcode != websocket::kContinuation && fragmented_ != 0)
        return fail(boost::beast::websocket::error::bad_data_frame);
      if (h.length > limits_.max_message - message_.size())
        return fail(boost::beast::websocket::error::message_too_big);
      // A message is handed over only when asked for (or, after our close, to be dropped).
      if (h.fin && !want_ && !close_sent_) return Step::kWait;
    }
    if (bytes.size() - h.header_bytes < h.length) return need_bytes();

    char* payload = in_.mutable_data() + h.header_bytes;
    const auto size = static_cast<std::size_t>(h.length);
    websocket::apply_mask(payload, size, h.mask);
    const std::string_view body(payload, size);
    const std::size_t frame_bytes = h.header_bytes + size;

    if (control) {
      handle_control(h.opcode, body);
      in_.consume(frame_bytes);
      return Step::kMore;
    }
    std::uint8_t opcode = h.opcode;
    std::string_view message = body;
    if (!h.fin || h.opcode == websocket::kContinuation) {
      if (h.opcode != websocket::kContinuation) fragmented_ = h.opcode;
      message_.append(body);
      in_.consume(frame_bytes);
      if (!h.fin) return Step::kMore;
      opcode = fragmented_;
      message = message_;
    }
    const bool text = opcode == websocket::kText;
    if (text && !websocket::valid_utf8(message)) {
      return fail(boost::beast::websocket::error::bad_frame_payload);
    }
    if (close_sent_) {
      owner_.on_ws_crossed(message, text);
    } else {
      want_ = false;
      owner_.on_ws_message(message, text);
    }
    if (fragmented_ != 0) {
      fragmented_ = 0;
      message_.clear();
    } else {
      in_.consume(frame_bytes);
    }
    return Step::kMore;
  }

  void handle_control(std::uint8_t opcode, std::string_view body) {
    switch (opcode) {
      case websocket::kPing:
        if (!close_sent_) {
          websocket::append_frame(out_, websocket::kPong, body);
          flush();
        }
        return;
      case websocket::kPong:
        return;  // its arrival counted as traffic already
      default:
        break;
    }
    const auto close = websocket::parse_close_payload(body);
    if (!close.valid) {
      fail(body.size() == 1 ? boost::beast::websocket::error::bad_close_size
                            : boost::beast::websocket::error::bad_close_code);
      return;
    }
    peer_code_ = close.code;
    peer_reason_ = std::make_unique<std::string>(close.reason);
    if (close_sent_) {
      // The answer to our close: the handshake is complete.
      end_after_flush_ = true;
      flush();
      report_closed();
      return;
    }
    // The peer closes: answer with its code (1000 when it gave none), then end.
    close_sent_ = true;
    close_sent_at_ = Steady::now();
    const std::uint16_t echo = close.code == websocket::kCloseNoStatus
                                   ? static_cast<std::uint16_t>(websocket::kCloseNormal)
                                   : close.code;
    websocket::append_frame(out_, websocket::kClose, websocket::close_payload(echo, {}));
    end_after_flush_ = true;
    flush();
    report(boost::beast::websocket::error::closed);
  }

  // The next frame is not complete: wait for the socket, if anyone waits for a frame.
  Step need_bytes() {
    if (want_ || close_sent_) wait_readable();
    return Step::kWait;
  }

  void wait_readable() {
    if (waiting_read_ || shut_) return;
    waiting_read_ = true;
    if (stream_.buffered()) {
      boost::asio::post(stream_.get_executor(),
                        [self = owner_.shared_from_this(), this] { on_readable({}); });
      return;
    }
    stream_.socket().async_wait(read_wait_, [self = owner_.shared_from_this(),
                                             this](const error_code& ec) { on_readable(ec); });
  }

  void on_readable(const error_code& ec) {
    waiting_read_ = false;
    read_wait_ = Stream::socket_type::wait_read;
    if (shut_) return;
    if (ec) return network_failed(ec);
    // Up to 64 KiB per readiness, in steps of at least 4 KiB (or what the frame still needs).
    for (int i = 0; i < 16; ++i) {
      auto [room, size] = in_.prepare(kReadStep);
      error_code rc;
      const std::size_t n = stream_.read_some(boost::asio::buffer(room, size), rc);
      if (rc == boost::asio::error::would_block) {
        read_wait_ = stream_.blocked_on(false);
        break;
      }
      if (rc) return network_failed(rc);
      if (n == 0) return network_failed(boost::asio::error::eof);
      in_.commit(n);
      last_rx_ = Steady::now();
      ping_sent_ = false;
      if (n < size) break;
    }
    pump();
  }

  // -- writing ----------------------------------------------------------------------------
  // Writes what is queued until the socket is full; then waits for it to drain.
  void flush() {
    if (writing_ || shut_) return;
    while (true) {
      if (sent_ == sending_.size()) {
        if (out_.empty()) return flushed();
        sending_.clear();
        sent_ = 0;
        sending_.swap(out_);
      }
      error_code ec;
      const std::size_t n = stream_.write_some(
          boost::asio::buffer(sending_.data() + sent_, sending_.size() - sent_), ec);
      if (ec == boost::asio::error::would_block) {
        writing_ = true;
        stream_.socket().async_wait(stream_.blocked_on(true), [self = owner_.shared_from_this(),
                                                               this](const error_code& wait_error) {
          writing_ = false;
          if (shut_) return;
          if (wait_error) return network_failed(wait_error);
          flush();
        });
        return;
      }
      if (ec) return network_failed(ec);
      sent_ += n;
    }
  }

  void flushed() {
    if (accepting_) {
      accepting_ = false;
      owner_.on_ws_accepted({});
      return;
    }
    if (end_after_flush_) shut_down();
  }

  // -- ending -----------------------------------------------------------------------------
  Step fail(boost::beast::websocket::error why) {
    std::uint16_t code = websocket::kCloseProtocolError;
    if (why == boost::beast::websocket::error::message_too_big) code = websocket::kCloseTooBig;
    if (why == boost::beast::websocket::error::bad_frame_payload)
      code = websocket::kCloseInvalidPayload;
    if (!close_sent_) {
      close_sent_ = true;
      close_sent_at_ = Steady::now();
      websocket::append_frame(
          out_, websocket::kClose,
          websocket::close_payload(code, boost::beast::websocket::make_error_code(why).message()));
    }
    end_after_flush_ = true;
    flush();
    report(why);
    return Step::kWait;
  }

  void network_failed(const error_code& ec) {
    shut_down();
    if (accepting_) {
      accepting_ = false;
      reported_ = true;
      owner_.on_ws_accepted(ec);
      return;
    }
    report(ec);
  }

  void shut_down() {
    if (shut_) return;
    shut_ = true;
    stream_.shutdown();
  }

  void report(const error_code& ec) {
    if (reported_) return;
    reported_ = true;
    owner_.on_ws_error(ec);
  }

  void report_closed() {
    if (reported_) return;
    reported_ = true;
    owner_.on_ws_closed();
  }

  static constexpr std::size_t kReadStep = 4096;

  Stream stream_;
  Owner& owner_;
  WebSocketLimits limits_;
  websocket::ReadBuffer in_;  // read, not yet handled
  std::string message_;       // a fragmented message so far
  std::string out_;           // frames queued behind the write in progress
  std::string sending_;       // the write in progress
  std::size_t sent_ = 0;      // of sending_
  Steady::time_point last_rx_;
  Steady::time_point close_sent_at_;
  std::unique_ptr<std::string> peer_reason_;  // from the peer's close frame
  std::uint16_t peer_code_ = websocket::kCloseNoStatus;
  std::uint8_t fragmented_ = 0;  // opcode of the fragmented message in progress; 0 none
  typename Stream::socket_type::wait_type read_wait_ = Stream::socket_type::wait_read;
  bool accepting_ = false;
  bool want_ = false;
  bool pumping_ = false;
  bool waiting_read_ = false;
  bool writing_ = false;
  bool ping_sent_ = false;
  bool close_sent_ = false;
  bool end_after_flush_ = false;
  bool shut_ = false;
  bool reported_ = false;
};

}  // namespace switchyard::gateway

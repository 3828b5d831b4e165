// The gateway's plain (ws://) stream: a non-blocking TCP socket with the same face as the TLS
// stream (tls_stream.h): asynchronous reads and writes for the upgrade's HTTP exchange, and the
// non-blocking ones the server WebSocket (server_websocket.h) drives by readiness. Nothing
// else: no timers and no buffers of its own (a connection's timeouts are the worker's sweep).
// Included by connections.cpp alone.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <utility>

namespace switchyard::gateway {

// A charger's TCP socket (plain or under TLS), bound to its worker's io_context. That executor is
// a pointer where Asio's default (any_io_executor) takes 48 bytes, in the socket and again in its
// pending readiness wait: about 80 bytes less per idle connection.
using ChargerSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using ChargerAcceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp,
                                                           boost::asio::io_context::executor_type>;

class PlainStream {
 public:
  using socket_type = ChargerSocket;
  using executor_type = socket_type::executor_type;

  explicit PlainStream(socket_type&& socket) : socket_(std::move(socket)) {
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
  }

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  socket_type& socket() noexcept { return socket_; }

  template <typename MutableBuffers, typename Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return socket_.async_read_some(buffers, std::forward<Handler>(handler));
  }

  template <typename ConstBuffers, typename Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return socket_.async_write_some(buffers, std::forward<Handler>(handler));
  }

  // Non-blocking: the bytes read (0 with eof at the end), or would_block.
  std::size_t read_some(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) {
    return socket_.read_some(buffer, ec);
  }

  // Non-blocking: the bytes written, or would_block.
  std::size_t write_some(boost::asio::const_buffer buffer, boost::system::error_code& ec) {
    return socket_.write_some(buffer, ec);
  }

  // What a would_block waits for.
  static socket_type::wait_type blocked_on(bool writing) {
    return writing ? socket_type::wait_write : socket_type::wait_read;
  }

  // Nothing is buffered above the socket.
  static bool buffered() { return false; }

  void shutdown() {
    boost::system::error_code ignored;
    socket_.shutdown(socket_type::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  socket_type socket_;
};

}  // namespace switchyard::gateway

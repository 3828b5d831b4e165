// The gateway's TLS stream: OpenSSL reads and writes the socket itself (SSL_set_fd), readiness
// comes from Asio. Besides the asynchronous reads and writes of the upgrade's HTTP exchange it
// has the non-blocking ones the server WebSocket (server_websocket.h) drives by readiness. Asio's
// ssl::stream keeps a memory BIO pair and two record buffers per connection (about 68 KB that are
// never released); here an idle connection holds only what OpenSSL keeps with
// SSL_MODE_RELEASE_BUFFERS. Server side only; one thread per connection (the worker's io_context),
// like every stream of the gateway. Included by connections.cpp alone.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <cerrno>
#include <cstring>
#include <memory>

#include "gateway/plain_stream.h"  // ChargerSocket

namespace switchyard::gateway {

class FdTlsStream {
 public:
  using socket_type = ChargerSocket;
  using executor_type = socket_type::executor_type;

  FdTlsStream(socket_type&& socket, boost::asio::ssl::context& context)
      : socket_(std::move(socket)), ssl_(SSL_new(context.native_handle())) {
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    if (ssl_) {
      SSL_set_fd(ssl_.get(), static_cast<int>(socket_.native_handle()));
      // The bytes of a retried SSL_write may sit in a different buffer than the first try.
      SSL_set_mode(ssl_.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
      SSL_set_accept_state(ssl_.get());
    }
  }
  FdTlsStream(FdTlsStream&&) noexcept = default;
  FdTlsStream& operator=(FdTlsStream&&) = delete;  // the TCP stream cannot be assigned

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  socket_type& socket() noexcept { return socket_; }
  SSL* native_handle() noexcept { return ssl_.get(); }

  // Non-blocking: the bytes read, or would_block while OpenSSL waits for the socket (which way:
  // blocked_on()).
  std::size_t read_some(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) {
    std::size_t n = 0;
    if (!ssl_) {
      ec = boost::asio::error::no_memory;
      return 0;
    }
    ERR_clear_error();
    const int result = SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &n);
    ec = result == 1 ? boost::system::error_code() : error_of(result);
    return n;
  }

  // Non-blocking, at most one record: the bytes written, or would_block as for read_some. A
  // retry must offer the same bytes (they may have moved).
  std::size_t write_some(boost::asio::const_buffer buffer, boost::system::error_code& ec) {
    std::size_t n = 0;
    if (!ssl_) {
      ec = boost::asio::error::no_memory;
      return 0;
    }
    ERR_clear_error();
    const int result =
        SSL_write_ex(ssl_.get(), buffer.data(), std::min(buffer.size(), kRecord), &n);
    ec = result == 1 ? boost::system::error_code() : error_of(result);
    return n;
  }

  // What the last would_block waits for: a read may need the socket writable and a write
  // readable (a TLS 1.2 renegotiation, a TLS 1.3 key update).
  socket_type::wait_type blocked_on(bool /*writing*/) const { return blocked_on_; }

  // Decrypted bytes (or a record) OpenSSL holds already: readable without the socket.
  bool buffered() const { return ssl_ && SSL_has_pending(ssl_.get()) == 1; }

  // close_notify if the socket takes it now, then the TCP connection is shut down and closed.
  void shutdown() {
    shutdown_quietly();
    boost::system::error_code ignored;
    socket_.shutdown(socket_type::shutdown_both, ignored);
    socket_.close(ignored);
  }

  template <typename Handler>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type, Handler&& handler) {
    auto attempt = [](SSL* ssl, std::size_t& n) {
      n = 0;
      return SSL_do_handshake(ssl);
    };
    return boost::asio::async_compose<Handler, void(boost::system::error_code)>(
        Op<decltype(attempt), false>{this, attempt}, handler, socket_);
  }

  template <typename MutableBuffers, typename Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (boost::asio::buffer_size(*it) > 0) {
        first = *it;
        break;
      }
    }
    auto attempt = [first](SSL* ssl, std::size_t& n) {
      if (first.size() == 0) {
        n = 0;
        return 1;
      }
      return SSL_read_ex(ssl, first.data(), first.size(), &n);
    };
    return boost::asio::async_compose<Handler, void(boost::system::error_code, std::size_t)>(
        Op<decltype(attempt), true>{this, attempt}, handler, socket_);
  }

  template <typename ConstBuffers, typename Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    // One TLS record for a WebSocket frame's header and payload, gathered into the thread's
    // scratch at every try: no allocation per write, and a retry offers the same bytes (the
    // caller's buffers stay valid until completion; SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets
    // them sit in the scratch of another moment).
    auto attempt = [buffers](SSL* ssl, std::size_t& n) {
      thread_local std::array<unsigned char, kRecord> scratch;
      std::size_t size = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers) && size < kRecord; ++it) {
        const boost::asio::const_buffer buffer = *it;  // some iterators have no operator->
        const std::size_t take = std::min(buffer.size(), kRecord - size);
        std::memcpy(scratch.data() + size, buffer.data(), take);
        size += take;
      }
      if (size == 0) {
        n = 0;
        return 1;
      }
      return SSL_write_ex(ssl, scratch.data(), size, &n);
    };
    return boost::asio::async_compose<Handler, void(boost::system::error_code, std::size_t)>(
        Op<decltype(attempt), true>{this, attempt}, handler, socket_);
  }

  // close_notify if the socket takes it now; never waits (the TCP teardown follows).
  void shutdown_quietly() {
    if (!ssl_ || !SSL_is_init_finished(ssl_.get())) return;
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }

 private:
  static constexpr std::size_t kRecord = std::size_t{16} * 1024;

  // The error of a failed SSL_read_ex / SSL_write_ex (`result` is its return value).
  boost::system::error_code error_of(int result) {
    switch (SSL_get_error(ssl_.get(), result)) {
      case SSL_ERROR_WANT_READ:
        blocked_on_ = socket_type::wait_read;
        return boost::asio::error::would_block;
      case SSL_ERROR_WANT_WRITE:
        blocked_on_ = socket_type::wait_write;
        return boost::asio::error::would_block;
      case SSL_ERROR_ZERO_RETURN:
        return boost::asio::error::eof;
      case SSL_ERROR_SYSCALL: {
        const int error = errno;
        if (ERR_peek_error() == 0) {
          return error == 0 ? boost::system::error_code(boost::asio::error::eof)
                            : boost::system::error_code(error, boost::system::system_category());
        }
        [[fallthrough]];
      }
      default: {
        const auto code = ERR_get_error();
        ERR_clear_error();
        return {static_cast<int>(code), boost::asio::error::get_ssl_category()};
      }
    }
  }

  struct SslFree {
    void operator()(SSL* ssl) const {
      // A connection that ends without close_notify (a charger that lost its network) would
      // otherwise take its session out of the pod's cache, the very reconnect resumption is
      // for. One ended by a fatal alert is removed by OpenSSL when it sends the alert.
      if (SSL_is_init_finished(ssl) == 1) {
        SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
      }
      SSL_free(ssl);
    }
  };

  // Tries `attempt` (an SSL call returning 1 on success), waits for the socket while OpenSSL
  // wants to read or write, and completes with the bytes moved. The first try runs from a post,
  // so a handler is never called from inside the initiating function. `Sized`: the completion
  // also carries the byte count (reads and writes; not the handshake).
  template <typename Attempt, bool Sized>
  struct Op {
    FdTlsStream* stream;
    Attempt attempt;
    bool started = false;

    template <typename Self>
    static void finish(Self& self, const boost::system::error_code& ec, std::size_t n) {
      if constexpr (Sized) {
        self.complete(ec, n);
      } else {
        self.complete(ec);
      }
    }

    template <typename Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (!started) {
        started = true;
        if (!stream->ssl_) return finish(self, boost::asio::error::no_memory, 0);
        return boost::asio::post(stream->socket_.get_executor(), std::move(self));
      }
      if (ec) return finish(self, ec, 0);
      SSL* ssl = stream->ssl_.get();
      ERR_clear_error();
      std::size_t n = 0;
      const int result = attempt(ssl, n);
      if (result == 1) return finish(self, ec, n);
      auto& socket = stream->socket_;
      const auto error = stream->error_of(result);
      if (error == boost::asio::error::would_block) {
        return socket.async_wait(stream->blocked_on_, std::move(self));
      }
      return finish(self, error, 0);
    }
  };

  socket_type socket_;
  std::unique_ptr<SSL, SslFree> ssl_;
  socket_type::wait_type blocked_on_ = socket_type::wait_read;
};

}  // namespace switchyard::gateway

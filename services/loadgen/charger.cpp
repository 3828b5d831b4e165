// A simulated charger: connection set-up (TCP, TLS, WebSocket upgrade), the OCPP conversation
// its profile asks for, and the answers to the server's CALLs. The WebSocket client is the lean
// one of runtime/websocket/protocol.h: a read buffer, a write buffer and a queue per connection.
#include "loadgen/charger.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

#include "common/runtime/core/base64.h"
#include "common/runtime/core/clock.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/openssl_error.h"
#include "common/runtime/websocket/protocol.h"
#include "loadgen/answer_log.h"

namespace switchyard::loadgen {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// One connection attempt and, once open, the connection. Pending operations hold it, so a
// dropped connection lives until its last handler has run (and found it is no longer current).
struct Charger::Connection {
  std::optional<tcp::socket> plain;
  std::optional<ssl::stream<tcp::socket>> tls;
  ws::ReadBuffer in;      // received, not yet parsed
  std::string out;        // bytes being written
  std::string pending;    // frames queued while a write is in flight (sent in one write)
  std::string fragments;  // a fragmented message being put together
  std::string key;        // Sec-WebSocket-Key, until the upgrade is answered
  std::uint32_t mask_state = 0x9E3779B9u;
  bool writing = false;
  bool close_sent = false;

  template <typename F>
  void with_stream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(*plain);
    }
  }
  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
  // Drops the TCP connection without a TLS close_notify, as a charger losing its network would,
  // but keeps its TLS session resumable: OpenSSL invalidates the session of an SSL freed
  // without a shutdown.
  void abort() {
    if (tls) {
      SSL_set_shutdown(tls->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    }
    boost::system::error_code ignored;
    socket().close(ignored);
  }
  std::uint32_t next_mask() {
    // xorshift32: masking keys need no cryptographic randomness in a load generator.
    mask_state ^= mask_state << 13;
    mask_state ^= mask_state >> 17;
    mask_state ^= mask_state << 5;
    return mask_state;
  }
};

namespace {

// QueuedCall::kind values.
enum StatusKind : std::uint8_t { kAvailable, kPreparing, kCharging, kFinishing };
enum EventKind : std::uint8_t { kStarted, kUpdated, kEnded };
enum MeterKind : std::uint8_t { kSessionPeriodic, kMainPeriodic, kClockAligned };

std::string_view status_text(ocpp::Version version, std::uint8_t kind) {
  if (version == ocpp::Version::k16) {
    switch (kind) {
      case kPreparing:
        return "Preparing";
      case kCharging:
        return "Charging";
      case kFinishing:
        return "Finishing";
      default:
        return "Available";
    }
  }
  return kind == kAvailable ? "Available" : "Occupied";
}

constexpr std::int64_t kChargingPowerW = 11'000;

template <typename Duration>
Steady::duration random_upto(std::mt19937_64& rng, Duration range) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(range).count();
  if (ns <= 0) return Steady::duration::zero();
  return std::chrono::nanoseconds(std::uniform_int_distribution<std::int64_t>(0, ns)(rng));
}

struct BootAnswer {
  std::string status;
  std::int64_t interval = 0;
};

std::optional<BootAnswer> read_boot_answer(std::string_view payload) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(payload, ec);
  if (ec || !value.is_object()) return std::nullopt;
  BootAnswer answer;
  const auto& object = value.get_object();
  if (const auto* status = object.if_contains("status"); status && status->is_string()) {
    answer.status = std::string(status->get_string());
  }
  if (const auto* interval = object.if_contains("interval"); interval && interval->is_int64()) {
    answer.interval = interval->get_int64();
  }
  return answer;
}

std::int64_t read_transaction_id(std::string_view payload) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(payload, ec);
  if (ec || !value.is_object()) return 0;
  const auto* id = value.get_object().if_contains("transactionId");
  return id && id->is_int64() ? id->get_int64() : 0;
}

bool is_refused(const boost::system::error_code& ec) {
  return ec == net::error::connection_refused;
}

}  // namespace

Charger::Charger(Worker& worker, std::uint64_t ordinal)
    : worker_(worker),
      ordinal_(ordinal),
      index_(ordinal + static_cast<std::uint64_t>(worker.config().first_index)),
      id_(charger_id(worker.config().id_prefix, index_, worker.config().id_width)),
      version_(version_for(ordinal, worker.config().ocpp16_share)),
      target_(static_cast<std::uint16_t>(spread(ordinal, worker.context().targets.size()))),
      source_(worker.context().sources.empty()
                  ? 0
                  : static_cast<std::uint16_t>(spread(ordinal, worker.context().sources.size()))),
      timer_(worker.ioc()) {}

int ssl_charger_index() {
  // Asio keeps its verify callback in the SSL's app data; the charger goes in its own slot.
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

Charger::~Charger() {
  if (tls_session_ != nullptr) SSL_SESSION_free(tls_session_);
}

void Charger::keep_tls_session(SSL_SESSION* session) {
  if (tls_session_ != nullptr) SSL_SESSION_free(tls_session_);
  tls_session_ = session;
}

// -- connection ---------------------------------------------------------------------------

void Charger::start() { connect(); }

void Charger::connect() {
  if (worker_.finishing()) return;
  ++gen_;
  state_ = State::kConnecting;
  timed_out_ = false;
  connect_start_ = Steady::now();
  const auto& context = worker_.context();
  const Target& target = context.targets[target_];
  auto c = std::make_shared<Connection>();
  c->mask_state ^= static_cast<std::uint32_t>(index_ * 2654435761u) | 1u;
  conn_ = c;
  if (target.url.tls) {
    c->tls.emplace(worker_.ioc(), *context.tls);
    SSL* ssl = c->tls->native_handle();
    SSL_set_ex_data(ssl, ssl_charger_index(), this);
    const std::string& name = worker_.config().tls_server_name.empty()
                                  ? target.url.host
                                  : worker_.config().tls_server_name;
    SSL_set_tlsext_host_name(ssl, name.c_str());
    if (!worker_.config().insecure) c->tls->set_verify_callback(ssl::host_name_verification(name));
    if (context.per_charger_cert) {
      if (credential_ == nullptr) {
        auto credential =
            worker_.credentials().get(expand_pattern(worker_.config().cert, id_, index_),
                                      expand_pattern(worker_.config().key, id_, index_));
        if (!credential) {
          log::error("cannot load client certificate",
                     {{"charger_id", id_}, {"error", credential.error().message}});
          fail_connect(&ErrorCounts::tls);
          return;
        }
        credential_ = std::move(*credential);
      }
      if (!credential_->use(ssl)) {
        log::error("client certificate and key do not go together",
                   {{"charger_id", id_}, {"error", openssl_error()}});
        fail_connect(&ErrorCounts::tls);
        return;
      }
    }
    if (worker_.config().tls_resume && tls_session_ != nullptr) {
      SSL_set_session(ssl, tls_session_);
    }
  } else {
    c->plain.emplace(worker_.ioc());
  }
  tcp::socket& socket = c->socket();
  boost::system::error_code ec;
  socket.open(target.endpoint.protocol(), ec);
  if (!ec && !context.sources.empty()) {
    // Let connect() pick the port, so one source address serves every target 4-tuple.
    const int one = 1;
    ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    socket.bind(tcp::endpoint(context.sources[source_], 0), ec);
  }
  if (ec) {
    log::warn("cannot open socket", {{"charger_id", id_}, {"error", ec.message()}});
    fail_connect(&ErrorCounts::connect_other);
    return;
  }
  const auto gen = gen_;
  timer_.expires_after(worker_.config().connect_timeout);
  timer_.async_wait([this, gen](boost::system::error_code wait_ec) {
    if (wait_ec || gen != gen_ || state_ != State::kConnecting) return;
    timed_out_ = true;
    boost::system::error_code ignored;
    conn_->socket().close(ignored);  // the operation in progress fails; it reports the timeout
  });
  socket.async_connect(target.endpoint,
                       [this, c](boost::system::error_code connect_ec) { on_tcp(c, connect_ec); });
}

void Charger::on_tcp(const ConnectionPtr& c, boost::system::error_code ec) {
  if (c != conn_) return;
  if (ec) {
    fail_connect(timed_out_       ? &ErrorCounts::connect_timeout
                 : is_refused(ec) ? &ErrorCounts::connect_refused
                                  : &ErrorCounts::connect_other);
    return;
  }
  c->socket().set_option(tcp::no_delay(true), ec);
  if (!c->tls) {
    upgrade(c);
    return;
  }
  tls_start_ = Steady::now();
  c->tls->async_handshake(ssl::stream_base::client, [this, c](boost::system::error_code tls_ec) {
    if (c != conn_) return;
    if (tls_ec) {
      log::debug("TLS handshake failed", {{"charger_id", id_}, {"error", tls_ec.message()}});
      fail_connect(timed_out_ ? &ErrorCounts::connect_timeout : &ErrorCounts::tls);
      return;
    }
    worker_.stats().tls.record(static_cast<std::uint64_t>((Steady::now() - tls_start_).count()));
    if (SSL_session_reused(c->tls->native_handle()) == 1) ++worker_.stats().tls_resumed;
    upgrade(c);
  });
}

void Charger::upgrade(const ConnectionPtr& c) {
  const LoadgenConfig& config = worker_.config();
  const Target& target = worker_.context().targets[target_];
  std::string authorization;
  if (!config.password.empty()) {
    authorization =
        "Basic " + base64_encode(id_ + ":" + expand_pattern(config.password, id_, index_));
  }
  c->key = ws::make_key(worker_.rng()());
  c->out = ws::upgrade_request(target.host_header, request_target(target.url, id_), c->key,
                               ocpp::subprotocol(version_), authorization);
  c->writing = true;
  c->with_stream([this, &c](auto& stream) {
    net::async_write(
        stream, net::buffer(c->out), [this, c](boost::system::error_code ec, std::size_t) {
          if (c != conn_) return;
          c->writing = false;
          c->out.clear();
          if (ec) {
            fail_connect(timed_out_ ? &ErrorCounts::connect_timeout : &ErrorCounts::connect_other);
            return;
          }
          read_upgrade(c);
        });
  });
}

void Charger::read_upgrade(const ConnectionPtr& c) {
  const auto [data, room] = c->in.prepare(1024);
  c->with_stream([this, &c, data = data, room = room](auto& stream) {
    stream.async_read_some(
        net::buffer(data, room), [this, c](boost::system::error_code ec, std::size_t n) {
          if (c != conn_) return;
          if (ec) {
            fail_connect(timed_out_ ? &ErrorCounts::connect_timeout : &ErrorCounts::connect_other);
            return;
          }
          c->in.commit(n);
          const auto response = ws::parse_upgrade_response(c->in.data());
          if (!response) {
            if (c->in.data().size() > std::size_t{16} * 1024) {
              fail_connect(&ErrorCounts::protocol);
            } else {
              read_upgrade(c);
            }
            return;
          }
          on_upgrade(c, *response);
        });
  });
}

void Charger::on_upgrade(const ConnectionPtr& c, const ws::UpgradeResponse& response) {
  if (response.status != 101) {
    if (response.status == 0) {
      fail_connect(&ErrorCounts::protocol);
      return;
    }
    ++worker_.stats().errors.http_status[response.status];
    ++worker_.interval().errors;
    if (response.status == 503 && can_fail_over()) {
      fail_connect(nullptr);  // to the next --url
      return;
    }
    if ((response.status == 503 || response.status == 429) && response.retry_after_s &&
        worker_.config().honor_retry_after) {
      // The server said when to come back (admission control, a lockout, a draining pod).
      ++worker_.stats().retry_after;
      worker_.stats().retry_after_s += static_cast<std::uint64_t>(*response.retry_after_s);
      if (in_storm_) {
        worker_.context().signals->storm_failures.fetch_add(1, std::memory_order_relaxed);
      }
      close_now();
      schedule_reconnect(std::chrono::seconds(*response.retry_after_s) +
                         random_upto(worker_.rng(), std::chrono::seconds(1)));
      return;
    }
    fail_connect(nullptr);
    return;
  }
  if (response.accept != ws::accept_key(c->key)) {
    log::warn("wrong Sec-WebSocket-Accept", {{"charger_id", id_}});
    fail_connect(&ErrorCounts::protocol);
    return;
  }
  if (!worker_.config().echo && response.protocol != ocpp::subprotocol(version_)) {
    log::warn("server did not agree on the OCPP subprotocol", {{"charger_id", id_}});
    fail_connect(&ErrorCounts::subprotocol);
    return;
  }
  c->in.consume(response.header_bytes);
  c->key.clear();
  c->key.shrink_to_fit();
  timer_.cancel();
  state_ = State::kOpen;
  ++worker_.stats().connects;
  worker_.context().signals->connected.fetch_add(1, std::memory_order_relaxed);
  worker_.stats().connect.record(
      static_cast<std::uint64_t>((Steady::now() - connect_start_).count()));
  send_call(Action::kBootNotification, 0, 0, Steady::now());
  if (c != conn_) return;
  // Frames that came with the upgrade answer, then the read loop.
  process_frames(c);
  if (c == conn_) read(c);
}

bool Charger::can_fail_over() const {
  return worker_.config().url_failover && worker_.context().targets.size() > 1;
}

void Charger::fail_over() {
  if (!can_fail_over()) return;
  target_ = static_cast<std::uint16_t>((target_ + 1) % worker_.context().targets.size());
}

void Charger::fail_connect(std::uint64_t ErrorCounts::*kind) {
  if (kind != nullptr) worker_.record_error(kind);
  fail_over();
  if (in_storm_) {
    worker_.context().signals->storm_failures.fetch_add(1, std::memory_order_relaxed);
  }
  close_now();
  const auto delay = worker_.config().reconnect_delay;
  schedule_reconnect(delay + random_upto(worker_.rng(), delay));
}

void Charger::lost(const ConnectionPtr& c, boost::system::error_code ec) {
  if (c != conn_) return;
  if (state_ == State::kClosing || state_ == State::kDone) {
    closed_for_good();
    return;
  }
  log::debug("connection lost", {{"charger_id", id_}, {"error", ec.message()}});
  worker_.record_error(&ErrorCounts::closed);
  worker_.stats().errors.unanswered_at_close += outstanding_.size();
  if (AnswerLog* log = worker_.context().answers; log != nullptr) {
    for (const Outstanding& call : outstanding_) {
      log->record(id_, std::to_string(call.seq), action_name(call.action),
                  Answer::kUnansweredAtClose);
    }
  }
  worker_.connection_closed(booted_);
  close_now();
  const auto delay = worker_.config().reconnect_delay;
  schedule_reconnect(delay + random_upto(worker_.rng(), delay));
}

void Charger::closed_for_good() {
  if (state_ == State::kClosing) worker_.connection_closed(booted_);
  booted_ = false;
  state_ = State::kDone;
  ++gen_;
  timer_.cancel();
  if (conn_) {
    conn_->abort();
    conn_.reset();
  }
}

void Charger::close_now() {
  ++gen_;
  timer_.cancel();
  if (conn_) {
    conn_->abort();
    conn_.reset();
  }
  state_ = State::kIdle;
  booted_ = false;
  outstanding_.clear();
  queue_.clear();
  statuses_pending_ = 0;
  session_ = Session::kNone;
  session_start_acked_ = false;
  next_heartbeat_ = next_meter_ = next_idle_meter_ = next_aligned_ = next_session_ = session_end_ =
      retry_boot_ = rate_next_ = Steady::time_point::max();
}

void Charger::schedule_reconnect(Steady::duration delay) {
  if (worker_.finishing()) {
    state_ = State::kDone;
    return;
  }
  const auto gen = gen_;
  timer_.expires_after(delay);
  timer_.async_wait([this, gen](boost::system::error_code ec) {
    if (ec || gen != gen_ || state_ != State::kIdle) return;
    connect();
  });
}

void Charger::drop() {
  if (state_ != State::kOpen) return;
  in_storm_ = true;
  worker_.context().signals->storm_dropped.fetch_add(1, std::memory_order_relaxed);
  worker_.connection_closed(booted_);
  close_now();
  const auto& config = worker_.config();
  schedule_reconnect(config.backoff_minimum +
                     random_upto(worker_.rng(), config.backoff_random_range));
}

void Charger::finish() {
  if (state_ != State::kOpen || !conn_) {
    state_ = State::kDone;
    ++gen_;
    timer_.cancel();
    if (conn_) {
      conn_->abort();
      conn_.reset();
    }
    return;
  }
  // A WebSocket close (1000); the server answers and closes, or the timer gives up.
  state_ = State::kClosing;
  ++gen_;
  send_control(ws::kClose, std::string_view("\x03\xE8", 2));
  const auto gen = gen_;
  timer_.expires_after(std::chrono::seconds(2));
  timer_.async_wait([this, gen](boost::system::error_code ec) {
    if (ec || gen != gen_ || state_ != State::kClosing) return;
    closed_for_good();
  });
}

void Charger::storm_progress() {
  if (!in_storm_ || !booted_ || statuses_pending_ != 0) return;
  in_storm_ = false;
  auto& signals = *worker_.context().signals;
  const std::int64_t now = Steady::now().time_since_epoch().count();
  std::int64_t last = signals.storm_last_recovery_ns.load(std::memory_order_relaxed);
  while (last < now && !signals.storm_last_recovery_ns.compare_exchange_weak(
                           last, now, std::memory_order_relaxed)) {
  }
  signals.storm_recovered.fetch_add(1, std::memory_order_relaxed);
}

// -- reading ------------------------------------------------------------------------------

void Charger::read(const ConnectionPtr& c) {
  const auto [data, room] = c->in.prepare(2048);
  c->with_stream([this, &c, data = data, room = room](auto& stream) {
    stream.async_read_some(net::buffer(data, room),
                           [this, c](boost::system::error_code ec, std::size_t n) {
                             if (c != conn_) return;
                             if (ec) {
                               lost(c, ec);
                               return;
                             }
                             c->in.commit(n);
                             process_frames(c);
                             if (c == conn_ && state_ != State::kDone) read(c);
                           });
  });
}

void Charger::process_frames(const ConnectionPtr& c) {
  constexpr std::uint64_t kMaxMessage = std::uint64_t{16} * 1024 * 1024;
  while (c == conn_) {
    const auto header = ws::parse_frame_header(c->in.data());
    if (!header) break;
    if (header->length > kMaxMessage || c->fragments.size() + header->length > kMaxMessage) {
      worker_.record_error(&ErrorCounts::protocol);
      lost(c, {});
      return;
    }
    if (c->in.data().size() - header->header_bytes < header->length) break;  // not all there yet
    char* payload = c->in.mutable_data() + header->header_bytes;
    const auto size = static_cast<std::size_t>(header->length);
    if (header->masked) ws::apply_mask(payload, size, header->mask);
    const std::string_view body(payload, size);
    switch (header->opcode) {
      case ws::kText:
      case ws::kBinary:
      case ws::kContinuation:
        if (header->fin && c->fragments.empty()) {
          on_frame(body);
        } else {
          c->fragments.append(body);
          if (header->fin) {
            on_frame(c->fragments);
            c->fragments.clear();
          }
        }
        break;
      case ws::kPing:
        send_control(ws::kPong, body);
        break;
      case ws::kClose:
        if (!c->close_sent)
          send_control(ws::kClose, body.substr(0, std::min<std::size_t>(2, size)));
        if (state_ == State::kClosing) {
          closed_for_good();
          return;
        }
        break;  // the server closes the TCP connection next; lost() counts it
      default:
        break;  // pong
    }
    c->in.consume(header->header_bytes + size);
  }
  if (c == conn_) c->in.shrink(std::size_t{16} * 1024);
}

void Charger::on_frame(std::string_view text) {
  const auto frame = split_frame(text);
  if (!frame) {
    worker_.record_error(&ErrorCounts::protocol);
    return;
  }
  std::optional<std::size_t> slot;
  if (frame->type != 2 || worker_.config().echo) {
    std::uint64_t seq = 0;
    const auto id = frame->message_id;
    const auto parsed = std::from_chars(id.data(), id.data() + id.size(), seq);
    if (parsed.ec == std::errc() && parsed.ptr == id.data() + id.size()) {
      for (std::size_t i = 0; i < outstanding_.size(); ++i) {
        if (outstanding_[i].seq == seq) {
          slot = i;
          break;
        }
      }
    }
  }
  switch (frame->type) {
    case 2:
      if (slot) {
        on_answer(*slot, *frame, false);  // our own CALL, echoed
      } else {
        on_server_call(*frame);
      }
      return;
    case 3:
    case 4:
      if (!slot) {
        // An answer to a CALL that already timed out, or to none at all.
        worker_.record_error(&ErrorCounts::protocol);
        return;
      }
      if (frame->type == 4) {
        ++worker_.stats().errors.call_errors[std::string(frame->error_code)];
        ++worker_.interval().errors;
      }
      on_answer(*slot, *frame, frame->type == 4);
      return;
    default:
      worker_.record_error(&ErrorCounts::protocol);
      return;
  }
}

void Charger::on_server_call(const FrameView& frame) {
  ++worker_.stats().server_calls;
  std::string& out = worker_.frame_scratch();
  out.clear();
  if (const std::string* payload = worker_.answer(version_, frame.action)) {
    append_result(out, frame.message_id, *payload);
  } else {
    append_error(out, frame.message_id, "NotImplemented", "not simulated by switchyard-loadgen");
  }
  send_text(out);
}

// What --answers-log keeps; also notes whether the session's start was acknowledged.
void Charger::log_answer(const Outstanding& call, const FrameView& frame, bool is_error) {
  const bool starts = call.action == Action::kStartTransaction ||
                      (call.action == Action::kTransactionEvent && call.kind == kStarted);
  const bool ends = call.action == Action::kStopTransaction ||
                    (call.action == Action::kTransactionEvent && call.kind == kEnded);
  AnswerLog* log = worker_.context().answers;
  if (log != nullptr) {
    std::optional<SessionEnd> end;
    std::string transaction;
    if (ends && !is_error && session_start_acked_) {
      transaction =
          version_ == ocpp::Version::k16 ? std::to_string(transaction_16_) : transaction_id_201();
      end = SessionEnd{transaction, meter_wh_ - session_start_wh_};
    }
    log->record(id_, frame.message_id, action_name(call.action),
                is_error ? Answer::kError : Answer::kResult, end);
  }
  if (starts) session_start_acked_ = !is_error;
  if (ends) session_start_acked_ = false;
}

void Charger::on_answer(std::size_t slot, const FrameView& frame, bool is_error) {
  const Outstanding call = outstanding_[slot];
  outstanding_.erase(outstanding_.begin() + static_cast<std::ptrdiff_t>(slot));
  const auto now = Steady::now();
  worker_.record_answer(call.action, now - call.start);
  const LoadgenConfig& config = worker_.config();
  const bool echo = config.echo && frame.type == 2;
  const Profile profile = worker_.context().profile;
  if (!echo) log_answer(call, frame, is_error);

  switch (call.action) {
    case Action::kBootNotification: {
      std::optional<BootAnswer> answer;
      if (!echo && !is_error) answer = read_boot_answer(frame.payload);
      if (echo || (answer && answer->status == "Accepted")) {
        if (config.heartbeat_interval.count() == 0 && answer && answer->interval > 0) {
          heartbeat_interval_ = std::chrono::seconds(answer->interval);
        }
        worker_.stats().boot.record(static_cast<std::uint64_t>((now - connect_start_).count()));
        on_booted();
        return;
      }
      if (answer && answer->status == "Rejected") {
        worker_.record_error(&ErrorCounts::boot_rejected);
      } else if (answer && answer->status == "Pending") {
        ++worker_.stats().errors.boot_pending;
      } else if (!is_error) {
        worker_.record_error(&ErrorCounts::protocol);
      }
      const auto retry = answer && answer->interval > 0 ? std::chrono::seconds(answer->interval)
                                                        : std::chrono::seconds(10);
      retry_boot_ = now + retry;
      arm_timer();
      return;
    }
    case Action::kStatusNotification:
      if (statuses_pending_ > 0 && profile != Profile::kSaturate && profile != Profile::kRate) {
        --statuses_pending_;
        storm_progress();
      }
      break;
    case Action::kAuthorize:
      if (session_ == Session::kAuthorizing) {
        session_ = Session::kStarting;
        if (version_ == ocpp::Version::k16) {
          enqueue(Action::kStatusNotification, session_connector_, kPreparing);
          enqueue(Action::kStartTransaction, session_connector_);
        } else {
          ++transactions_;
          seq_no_ = 0;
          enqueue(Action::kTransactionEvent, session_connector_, kStarted);
          enqueue(Action::kStatusNotification, session_connector_, kCharging);
        }
      }
      break;
    case Action::kStartTransaction:
      if (session_ == Session::kStarting) {
        transaction_16_ = echo || is_error ? 0 : read_transaction_id(frame.payload);
        session_ = Session::kCharging;
        enqueue(Action::kStatusNotification, session_connector_, kCharging);
        next_meter_ = now + config.meter_interval;
        session_end_ = now + config.session_duration;
        arm_timer();
      }
      break;
    case Action::kTransactionEvent:
      if (session_ == Session::kStarting) {
        session_ = Session::kCharging;
        next_meter_ = now + config.meter_interval;
        session_end_ = now + config.session_duration;
        arm_timer();
      }
      break;
    default:
      break;
  }
  pump();
  if (session_ == Session::kStopping && queue_.empty() && outstanding_.empty()) {
    session_ = Session::kNone;  // the last message of the session is answered
    arm_timer();
  }
}

// -- writing ------------------------------------------------------------------------------

void Charger::send_text(std::string_view text) {
  Connection& c = *conn_;
  ws::append_frame(c.writing ? c.pending : c.out, ws::kText, text, c.next_mask());
  if (!c.writing) write_next(conn_);
}

void Charger::send_control(std::uint8_t opcode, std::string_view payload) {
  Connection& c = *conn_;
  if (c.close_sent) return;
  if (opcode == ws::kClose) c.close_sent = true;
  ws::append_frame(c.writing ? c.pending : c.out, static_cast<ws::Opcode>(opcode), payload,
                   c.next_mask());
  if (!c.writing) write_next(conn_);
}

void Charger::write_next(const ConnectionPtr& c) {
  c->writing = true;
  c->with_stream([this, &c](auto& stream) {
    net::async_write(stream, net::buffer(c->out),
                     [this, c](boost::system::error_code ec, std::size_t) {
                       if (c != conn_) return;
                       c->writing = false;
                       c->out.clear();
                       if (ec) {
                         lost(c, ec);
                         return;
                       }
                       if (!c->pending.empty()) {
                         c->out.swap(c->pending);
                         write_next(c);
                         return;
                       }
                       if (worker_.context().profile == Profile::kRate) pump();
                     });
  });
}

void Charger::send_call(Action action, std::uint8_t connector, std::uint8_t kind,
                        Steady::time_point start) {
  // After the close handshake began (the server's close frame answered) no data frame may go
  // out: the CALL is not sent (and not counted unanswered), as a charger going offline.
  if (conn_ && conn_->close_sent) return;
  ++seq_;
  char id[24];
  const auto id_end = std::to_chars(id, id + sizeof id, seq_).ptr;
  const std::string_view message_id(id, static_cast<std::size_t>(id_end - id));
  const bool measured = booted_ && (worker_.context().profile == Profile::kSaturate ||
                                    worker_.context().profile == Profile::kRate);
  std::string& out = worker_.frame_scratch();
  out.clear();
  if (measured) {
    append_call(out, message_id, action_name(action), worker_.measured_payload(version_));
  } else {
    const std::string timestamp = format_rfc3339(std::chrono::system_clock::now());
    const std::string transaction = transaction_id_201();
    FrameParams params;
    params.timestamp = timestamp;
    params.connector = connector;
    params.meter_wh = meter_wh_;
    params.power_w = session_ == Session::kCharging ? kChargingPowerW : 0;
    params.transaction_id_16 = transaction_16_;
    params.transaction_id = transaction;
    switch (action) {
      case Action::kStatusNotification:
        params.status = status_text(version_, kind);
        break;
      case Action::kMeterValues:
        params.context = kind == kClockAligned ? "Sample.Clock" : "Sample.Periodic";
        if (kind != kSessionPeriodic) {
          params.transaction_id_16 = 0;
          params.connector = 0;
        }
        break;
      case Action::kTransactionEvent:
        params.seq_no = seq_no_++;
        params.event_type = kind == kStarted ? "Started" : kind == kEnded ? "Ended" : "Updated";
        params.trigger_reason = kind == kStarted ? "Authorized"
                                : kind == kEnded ? "StopAuthorized"
                                                 : "MeterValuePeriodic";
        params.context = kind == kStarted ? "Transaction.Begin"
                         : kind == kEnded ? "Transaction.End"
                                          : "Sample.Periodic";
        break;
      default:
        break;
    }
    std::string& payload = worker_.scratch();
    payload.clear();
    append_payload(payload, version_, action, params);
    append_call(out, message_id, action_name(action), payload);
  }
  if (action == Action::kStartTransaction ||
      (action == Action::kTransactionEvent && kind == kStarted)) {
    session_start_wh_ = meter_wh_;
    session_start_acked_ = false;
  }
  outstanding_.push_back(Outstanding{seq_, action, kind, start});
  ++worker_.stats().sent;
  send_text(out);
}

void Charger::enqueue(Action action, std::uint8_t connector, std::uint8_t kind) {
  queue_.push_back(QueuedCall{action, connector, kind});
}

void Charger::pump() {
  if (state_ != State::kOpen || worker_.finishing()) return;
  switch (worker_.context().profile) {
    case Profile::kSaturate:
      if (booted_ && worker_.window_open()) {
        const auto depth = static_cast<std::size_t>(worker_.config().pipeline);
        while (outstanding_.size() < depth && conn_) {
          send_call(worker_.context().action, 1, 0, Steady::now());
        }
      }
      return;
    case Profile::kRate:
      if (booted_ && worker_.window_open()) pump_rate(Steady::now());
      return;
    default:
      if (outstanding_.empty() && !queue_.empty()) {
        const QueuedCall next = queue_.front();
        queue_.erase(queue_.begin());
        send_call(next.action, next.connector, next.kind, Steady::now());
      }
      return;
  }
}

void Charger::pump_rate(Steady::time_point now) {
  const OpenLoopSchedule& schedule = *worker_.context().schedule;
  const auto t0 = worker_.window_start();
  const auto limit = static_cast<std::size_t>(worker_.config().max_outstanding);
  while (outstanding_.size() < limit) {
    const auto due = t0 + schedule.send_offset(ordinal_, rate_k_);
    if (due > now) break;
    ++rate_k_;
    send_call(worker_.context().action, 1, 0, due);
  }
  const auto next = t0 + schedule.send_offset(ordinal_, rate_k_);
  if (next != rate_next_) {
    rate_next_ = next;
    arm_timer();
  }
}

// -- profile behaviour --------------------------------------------------------------------

void Charger::on_booted() {
  booted_ = true;
  retry_boot_ = Steady::time_point::max();
  worker_.context().signals->booted.fetch_add(1, std::memory_order_relaxed);
  const auto now = Steady::now();
  const Profile profile = worker_.context().profile;
  if (profile == Profile::kSaturate) {
    pump();
    return;
  }
  if (profile == Profile::kRate) {
    if (worker_.window_open()) {
      rate_k_ = worker_.context().schedule->first_index_at(ordinal_, now - worker_.window_start());
      pump_rate(now);
    }
    return;
  }
  for (int connector = 1; connector <= worker_.config().connectors; ++connector) {
    enqueue(Action::kStatusNotification, static_cast<std::uint8_t>(connector), kAvailable);
  }
  statuses_pending_ = static_cast<std::uint8_t>(worker_.config().connectors);
  next_heartbeat_ = now + heartbeat_interval();
  if (profile == Profile::kFleet || profile == Profile::kCommands) plan_fleet(now);
  pump();
  arm_timer();
}

std::string Charger::transaction_id_201() const {
  return std::to_string(index_) + "-" + worker_.context().run_tag + "-" +
         std::to_string(transactions_);
}

Steady::duration Charger::heartbeat_interval() const {
  if (worker_.config().heartbeat_interval.count() > 0) return worker_.config().heartbeat_interval;
  return heartbeat_interval_;
}

void Charger::plan_fleet(Steady::time_point now) {
  const LoadgenConfig& config = worker_.config();
  auto& rng = worker_.rng();
  // Spread the fleet: each charger starts its cycles at a random point of each interval.
  next_session_ = now + random_upto(rng, config.session_interval);
  if (config.idle_meter_interval.count() > 0) {
    next_idle_meter_ = now + random_upto(rng, config.idle_meter_interval);
  }
  if (config.aligned_interval.count() > 0) {
    const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
    const auto period = config.aligned_interval.count();
    next_aligned_ = now + std::chrono::milliseconds(period - wall % period);
  }
}

void Charger::fleet_due(Steady::time_point now) {
  const LoadgenConfig& config = worker_.config();
  if (next_idle_meter_ <= now) {
    enqueue(Action::kMeterValues, 0, kMainPeriodic);
    next_idle_meter_ = std::max(next_idle_meter_ + config.idle_meter_interval, now);
  }
  if (next_aligned_ <= now) {
    enqueue(Action::kMeterValues, 0, kClockAligned);
    next_aligned_ = std::max(next_aligned_ + config.aligned_interval, now);
  }
  if (session_ == Session::kNone && next_session_ <= now) {
    session_ = Session::kAuthorizing;
    session_connector_ = static_cast<std::uint8_t>(1 + transactions_ % config.connectors);
    enqueue(Action::kAuthorize);
    next_session_ =
        std::max(next_session_ + config.session_interval, now + config.session_duration);
  }
  if (session_ == Session::kCharging) {
    if (session_end_ <= now) {
      session_ = Session::kStopping;
      next_meter_ = session_end_ = Steady::time_point::max();
      if (version_ == ocpp::Version::k16) {
        enqueue(Action::kStatusNotification, session_connector_, kFinishing);
        enqueue(Action::kStopTransaction, session_connector_);
      } else {
        enqueue(Action::kTransactionEvent, session_connector_, kEnded);
      }
      enqueue(Action::kStatusNotification, session_connector_, kAvailable);
    } else if (next_meter_ <= now) {
      const auto seconds = std::chrono::duration<double>(config.meter_interval).count();
      meter_wh_ += static_cast<std::int64_t>(kChargingPowerW * seconds / 3600.0);
      if (version_ == ocpp::Version::k16) {
        enqueue(Action::kMeterValues, session_connector_, kSessionPeriodic);
      } else {
        enqueue(Action::kTransactionEvent, session_connector_, kUpdated);
      }
      next_meter_ = std::max(next_meter_ + config.meter_interval, now);
    }
  }
  if (session_ == Session::kStopping && queue_.empty() && outstanding_.empty()) {
    session_ = Session::kNone;
  }
}

void Charger::arm_timer() {
  if (state_ != State::kOpen) return;
  Steady::time_point next = std::min({retry_boot_, next_heartbeat_, rate_next_});
  if (session_ == Session::kNone) {
    next = std::min({next, next_idle_meter_, next_aligned_, next_session_});
  } else {
    next = std::min({next, next_idle_meter_, next_aligned_, next_meter_, session_end_});
  }
  if (next == Steady::time_point::max()) return;
  const auto gen = gen_;
  timer_.expires_at(next);
  timer_.async_wait([this, gen](boost::system::error_code ec) {
    if (ec || gen != gen_ || state_ != State::kOpen) return;
    on_timer();
  });
}

void Charger::on_timer() {
  const auto now = Steady::now();
  if (retry_boot_ <= now) {
    retry_boot_ = Steady::time_point::max();
    send_call(Action::kBootNotification, 0, 0, now);
  }
  if (booted_) {
    if (next_heartbeat_ <= now) {
      enqueue(Action::kHeartbeat);
      next_heartbeat_ = std::max(next_heartbeat_ + heartbeat_interval(), now);
    }
    const Profile profile = worker_.context().profile;
    if (profile == Profile::kFleet || profile == Profile::kCommands) fleet_due(now);
    if (profile == Profile::kRate) {
      rate_next_ = Steady::time_point::max();
      pump_rate(now);
    } else {
      pump();
    }
  }
  arm_timer();
}

void Charger::go() { pump(); }

void Charger::sweep(Steady::time_point now) {
  if (state_ != State::kOpen || outstanding_.empty()) return;
  const auto deadline = now - worker_.config().call_timeout;
  const auto before = outstanding_.size();
  std::erase_if(outstanding_, [&](const Outstanding& call) { return call.start < deadline; });
  const auto expired = before - outstanding_.size();
  for (std::size_t i = 0; i < expired; ++i) worker_.record_error(&ErrorCounts::timeout);
  if (expired > 0) {
    if (!booted_ && retry_boot_ == Steady::time_point::max()) {
      retry_boot_ = now;  // the BootNotification went unanswered: send it again
      arm_timer();
    }
    pump();
  }
}

}  // namespace switchyard::loadgen

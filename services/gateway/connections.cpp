// The OCPP WebSocket front door: listeners, TLS, the upgrade handshake and one session per
// charger. Each I/O thread runs its own io_context; a connection lives on the thread that
// accepted it, so its state needs no lock.
#include "gateway/connections.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include "gateway/plain_stream.h"
#include "gateway/server_websocket.h"
#include "gateway/tls_stream.h"

#include <ctime>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "common/ocpp/decoder.h"
#include "common/ocpp/encoder.h"
#include "common/runtime/bus/arena_message.h"
#include "common/runtime/core/clock.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/thread_name.h"
#include "gateway/event_ids.h"
#include "gateway/event_wire.h"
#include "gateway/file_watch.h"
#include "gateway/inbound_calls.h"
#include "gateway/io_rounds.h"
#include "gateway/listen_sockets.h"
#include "gateway/normalize.h"
#include "gateway/tls_context.h"
#include "gateway/upgrade.h"
#include "switchyard/v1/events.pb.h"
#include "switchyard/v1/gateway_internal.pb.h"

namespace switchyard::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::system_clock;
using Steady = std::chrono::steady_clock;
using TlsStream = FdTlsStream;

namespace {

constexpr std::size_t kMaxWaitingCalls = 8;  // CALLs read while one is in progress

// -- per-thread state ---------------------------------------------------------------------

// An inbound call record is one page, page-aligned: after a wave (15,000 boots in flight at once,
// one record each) a freed record is a whole page, which the heap trim gives back. At 4.3 KB and
// unaligned, interleaved with what the connections keep, hardly a freed record held a whole
// page, and 1.8 KiB per idle charger stayed resident (15,000 idle chargers: 3.9-4.4 KiB each
// instead of 2.55).
inline constexpr std::size_t kInboundCallBytes = 4096;
// The event's arena block, inline: the rest of the page after the record's other fields (an
// event that needs more takes blocks from the heap).
inline constexpr std::size_t kInboundEventArenaBytes = 3584;

// One CALL from a charger until it is answered. Its event lives on an arena whose first block is
// inside the record: normalizing a typical event allocates nothing but its strings past the
// small-string size, and recycling the record frees the event in one step.
struct alignas(kInboundCallBytes) InboundCall {
  void clear() {
    event.reset();
    signing.reset();
    answer.clear();
    then = nullptr;
    acknowledged = nullptr;
  }

  std::string message_id;
  const ocpp::MessageInfo* message = nullptr;
  ocpp::MessageType type = ocpp::MessageType::kCall;
  Steady::time_point started;
  // While a decision is asked (ask()): which one, and since when, for decision_seconds.
  std::string_view decision;
  Steady::time_point asked;
  bus::ArenaMessage<v1::ChargerEvent, kInboundEventArenaBytes> event;
  std::optional<SigningRequest> signing;  // a SignCertificate's CSR
  // While its event is published (publish_then_answer()): the answer the charger gets once the
  // event is durable, what runs after it, and the session's continuation (holding the session).
  std::string answer;
  std::move_only_function<void()> then;
  std::move_only_function<void(std::unique_ptr<InboundCall>, Result<void>)> acknowledged;
};
static_assert(sizeof(InboundCall) == kInboundCallBytes,
              "an inbound call record is one page: its event arena takes what the fields leave");

// The publisher's verdicts on the events of one worker's CALLs, on their way to the worker's
// thread. The event log's writer acknowledges a whole commit at once and Kafka's delivery
// reports come in batches: one post per batch wakes the thread, instead of a post (an
// allocated handler and two locks of the io_context's queue) per event.
class Acknowledgements {
 public:
  explicit Acknowledgements(net::io_context& ioc) : ioc_(ioc) {}

  // Any thread: the verdict on the call's event; the call's `acknowledged` runs on the worker.
  void add(InboundCall* call, Result<void> verdict) {
    bool first = false;
    {
      std::lock_guard lock(mutex_);
      first = waiting_.empty();
      waiting_.push_back({std::unique_ptr<InboundCall>(call), std::move(verdict)});
    }
    if (first) net::post(ioc_, [this] { deliver(); });
  }

 private:
  struct Verdict {
    std::unique_ptr<InboundCall> call;
    Result<void> result;
  };

  void deliver() {
    {
      std::lock_guard lock(mutex_);
      delivering_.swap(waiting_);
    }
    for (Verdict& v : delivering_) {
      auto then = std::move(v.call->acknowledged);
      then(std::move(v.call), std::move(v.result));
    }
    delivering_.clear();
  }

  net::io_context& ioc_;
  std::mutex mutex_;
  std::vector<Verdict> waiting_;     // guarded by mutex_
  std::vector<Verdict> delivering_;  // the worker's thread only
};

// A connection the worker's sweep visits: its keep-alive ping and timeouts.
class Swept {
 public:
  virtual ~Swept() = default;
  // False once the connection is over: the sweep forgets it.
  virtual bool tick(Steady::time_point now) = 0;
};

// A worker's io_context that can be shut down (its pending handlers destroyed) before it is
// freed: a handler of one worker may hold a session of another, whose socket must not outlive
// its own worker's reactor.
class WorkerContext : public net::io_context {
 public:
  WorkerContext() : net::io_context(1) {}
  void shut_down() { shutdown(); }
};

struct Worker {
  WorkerContext ioc;
  Acknowledgements acknowledgements{ioc};  // destroyed before ioc: it may hold sessions
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  ocpp::Decoder decoder;
  ocpp::Encoder encoder;
  std::string scratch;  // event serialization; the publisher copies it
  std::mt19937_64 rng{std::random_device{}()};
  EventIds event_ids{std::random_device{}()};
  std::vector<std::unique_ptr<InboundCall>> pool;  // reused inbound call records (kMaxPooled)
  // Records the pool held all along since the last sweep: unused for a whole period, they go
  // back then (4 KiB each), so a pod at rest holds none.
  std::size_t pool_idle = 0;
  std::vector<std::unique_ptr<ChargerAcceptor>> acceptors;  // of every port
  std::thread thread;
  // This thread's rounds since the last sweep, which publishes them to `metrics`.
  IoTally io_tally;
  GatewayMetrics* metrics = nullptr;
  // One timer for all of the thread's connections instead of one each.
  std::vector<std::weak_ptr<Swept>> swept;
  net::steady_timer sweep_timer{ioc};

  void sweep_every(Steady::duration period) {
    sweep_timer.expires_after(period);
    sweep_timer.async_wait([this, period](const boost::system::error_code& ec) {
      if (ec) return;
      const auto now = Steady::now();
      // Backwards, so that forgetting one (the last moves into its place) skips nothing.
      for (std::size_t i = swept.size(); i-- > 0;) {
        auto connection = swept[i].lock();
        if (!connection || !connection->tick(now)) {
          swept[i] = std::move(swept.back());
          swept.pop_back();
        }
      }
      if (swept.capacity() > 64 && swept.size() < swept.capacity() / 4) swept.shrink_to_fit();
      pool.resize(pool.size() - std::min(pool_idle, pool.size()));
      pool_idle = pool.size();
      if (metrics) {
        metrics->io_rounds(io_tally.rounds_plain, io_tally.rounds_waited, io_tally.handlers);
        io_tally = {};
      }
      sweep_every(period);
    });
  }

  std::unique_ptr<InboundCall> acquire() {
    if (pool.empty()) return std::make_unique<InboundCall>();
    auto call = std::move(pool.back());
    pool.pop_back();
    pool_idle = std::min(pool_idle, pool.size());
    return call;
  }
  void release(std::unique_ptr<InboundCall> call) {
    // Enough for every charger of a busy thread to have a CALL in flight (4 KiB each).
    constexpr std::size_t kMaxPooled = 256;
    if (pool.size() >= kMaxPooled) return;
    call->clear();
    pool.push_back(std::move(call));
  }
};

v1::OcppVersion to_proto(ocpp::Version v) {
  switch (v) {
    case ocpp::Version::k16:
      return v1::OCPP_VERSION_1_6;
    case ocpp::Version::k201:
      return v1::OCPP_VERSION_2_0_1;
    case ocpp::Version::k21:
      return v1::OCPP_VERSION_2_1;
  }
  return v1::OCPP_VERSION_UNSPECIFIED;
}

// The MessageTypeId of a frame without parsing it: '[', whitespace, a digit. -1 if unclear.
int peek_message_type(std::string_view text) {
  std::size_t i = 0;
  auto skip = [&] {
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
      ++i;
  };
  skip();
  if (i >= text.size() || text[i] != '[') return -1;
  ++i;
  skip();
  if (i + 1 >= text.size() || text[i] < '0' || text[i] > '9' || text[i + 1] != ',') return -1;
  return text[i] - '0';
}

std::string_view close_reason_name(v1::CloseReason r) {
  switch (r) {
    case v1::CLOSE_REASON_CHARGER_CLOSED:
      return "charger_closed";
    case v1::CLOSE_REASON_PING_TIMEOUT:
      return "ping_timeout";
    case v1::CLOSE_REASON_PROTOCOL_ERROR:
      return "protocol_error";
    case v1::CLOSE_REASON_TAKEN_OVER:
      return "taken_over";
    case v1::CLOSE_REASON_DRAIN:
      return "drain";
    case v1::CLOSE_REASON_NO_COMMON_SUBPROTOCOL:
      return "no_common_subprotocol";
    case v1::CLOSE_REASON_NETWORK_ERROR:
      return "network_error";
    default:
      return "unspecified";
  }
}

// The "status" member of a typed answer (an enum or a string), or "".
std::string status_of(const ocpp::TypeInfo& type, const void* payload) {
  const int i = type.find("status");
  if (i < 0) return {};
  const ocpp::FieldInfo& f = type.fields[i];
  const void* slot = f.get(payload);
  if (slot == nullptr) return {};
  if (f.value.kind == ocpp::Kind::kEnum) {
    const auto v = *static_cast<const std::uint16_t*>(slot);
    return v < f.value.enumeration->count ? std::string(f.value.enumeration->values[v])
                                          : std::string();
  }
  if (f.value.kind == ocpp::Kind::kString) return static_cast<const ocpp::String*>(slot)->str();
  return {};
}

// The listening sockets of each OCPP port (listen_sockets.h), and whether their accept queues
// together hold --listen-backlog: said at start.
int plan_listen_sockets(int threads, int backlog) {
  const int cap = kernel_somaxconn();
  const int sockets = listen_sockets_per_port(threads, backlog, cap);
  const std::int64_t held = cap > 0 ? static_cast<std::int64_t>(cap) * sockets : backlog;
  if (held < backlog) {
    log::warn(
        "the kernel caps the accept queues below --listen-backlog even with the most listening "
        "sockets: a reconnect storm of more chargers at once loses the surplus SYNs, which they "
        "retry after 1, 3, 7 s; raise net.core.somaxconn (the chart: gateway.sysctls)",
        {{"somaxconn", static_cast<std::int64_t>(cap)},
         {"listen_backlog", static_cast<std::int64_t>(backlog)},
         {"sockets_per_port", static_cast<std::int64_t>(sockets)}});
  } else {
    log::info("each OCPP port listens on several sockets (SO_REUSEPORT)",
              {{"sockets_per_port", static_cast<std::int64_t>(sockets)},
               {"somaxconn", static_cast<std::int64_t>(cap)},
               {"accept_queue", std::min<std::int64_t>(held, backlog)}});
  }
  return sockets;
}

// One line per server certificate a TLS context serves: which file, key type, subject, expiry.
void log_certificates(const char* what, const ServerTls& tls) {
  for (const auto& c : tls.certificates) {
    log::info(what, {{"certificate", c.file},
                     {"key_type", c.key_type},
                     {"subject", c.subject},
                     {"not_after", format_rfc3339(std::chrono::system_clock::from_time_t(
                                       static_cast<std::time_t>(c.not_after)))}});
  }
}

// The peer's verified client certificate CN, if it presented one that verified.
[[maybe_unused]] std::optional<std::string> verified_client_cn(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  std::optional<std::string> cn;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    char buf[256];
    const int n =
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
    if (n > 0) cn = std::string(buf, static_cast<std::size_t>(n));
  }
  X509_free(cert);
  return cn;
}

}  // namespace

// -----------------------------------------------------------------------------------------

struct Connections::Impl {
  explicit Impl(GatewayContext& c) : ctx(c) {}

  GatewayContext& ctx;
  std::vector<std::unique_ptr<Worker>> workers;
  // The TLS context new connections get: replaced when the files change (an open connection's
  // SSL object holds its own reference to the context it started with).
  std::mutex tls_mutex;
  std::shared_ptr<ssl::context> tls;
  std::unique_ptr<FileWatch> tls_files;
  std::unique_ptr<net::steady_timer> tls_timer;  // on the first worker
  // The publisher's acknowledgements, run on the first worker (take_deliveries()). The
  // descriptor stays the publisher's: released, never closed, here.
  std::unique_ptr<net::posix::stream_descriptor> deliveries;
  void forget_deliveries() {
    if (deliveries) deliveries->release();
    deliveries.reset();
  }
  int ws_port = 0;
  int wss_port = 0;
  int listen_sockets = 1;  // per port (listen_sockets.h)
  std::atomic<bool> accepting{false};

  Result<void> listen(int port, bool tls_port, int& bound);
  void serve_deliveries();
  template <bool Tls>
  void accept(Worker& worker, ChargerAcceptor& acceptor);
  template <bool Tls>
  void start_handshake(Worker& worker, ChargerSocket socket);
  template <bool Tls>
  std::size_t take_queued(Worker& worker, ChargerAcceptor& acceptor);
  // Connections taken from the kernel's accept queue per readiness of a listener.
  static constexpr std::size_t kAcceptBurst = 256;

  std::shared_ptr<ssl::context> current_tls() {
    std::lock_guard lock(tls_mutex);
    return tls;
  }
  void use_tls(ServerTls loaded) {
    ctx.metrics.tls_certificate_expiry(loaded.earliest_expiry());
    std::shared_ptr<ssl::context> old;
    {
      std::lock_guard lock(tls_mutex);
      old = std::exchange(tls, std::move(loaded.context));
    }
    // The replaced context lives on with the connections that hold it: its cached sessions
    // would stay with it, never resumed (new connections start from the new context's cache).
    if (old != nullptr) SSL_CTX_flush_sessions(old->native_handle(), 0);
  }
  void watch_tls_files();
  void reload_tls();
};

namespace {

// -- the session --------------------------------------------------------------------------

WebSocketLimits websocket_limits(const GatewayConfig& config) {
  WebSocketLimits limits;
  limits.max_message = static_cast<std::size_t>(config.max_frame_bytes);
  limits.idle_timeout = config.idle_timeout;
  limits.close_timeout = config.handshake_timeout;
  return limits;
}

template <typename Stream>
class ChargerSession final : public Session,
                             public Swept,
                             public std::enable_shared_from_this<ChargerSession<Stream>> {
  friend class ServerWebSocket<Stream, ChargerSession>;

 public:
  ChargerSession(Stream&& stream, Worker& worker, GatewayContext& ctx, std::string charger_id,
                 ocpp::Version version, std::string_view protocol, int security_profile,
                 std::string remote)
      : Session(std::move(charger_id), version, security_profile),
        ws_(std::move(stream), *this, websocket_limits(ctx.config)),
        worker_(worker),
        ctx_(ctx),
        no_common_protocol_(protocol.empty()),
        remote_(std::move(remote)),
        lenient_(ctx.lenient_chargers.contains(charger_id_)),
        tokens_(ctx.config.rate_burst),
        refilled_(Steady::now()) {
    tag_ = static_cast<std::uint32_t>(worker_.rng());
  }

  // Completes the WebSocket upgrade with `response` (the 101 answer); `early` are bytes the
  // charger sent behind its request. No subprotocol in common: closed at once.
  void start(std::string response, std::string_view early) {
    worker_.swept.push_back(this->weak_from_this());
    ws_.accept(std::move(response), early);
  }

  bool tick(Steady::time_point now) override { return ws_.tick(now); }

  void send_command(std::string action, std::string payload_json, CommandCallback done) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), action = std::move(action),
                                   payload = std::move(payload_json), done = std::move(done),
                                   started = Steady::now()]() mutable {
      self->enqueue_command(std::move(action), std::move(payload), std::move(done), started);
    });
  }

  void close(SessionCloseReason reason) override {
    net::post(ws_.get_executor(),
              [self = this->shared_from_this(), reason] { self->begin_close(reason); });
  }

  std::string_view protocol() const { return ocpp::subprotocol(version_); }

  void claim_again() override {
    net::post(ws_.get_executor(), [self = this->shared_from_this()] {
      if (!self->finalized_ && self->epoch_ == 0) self->claim();
    });
  }

  void after_claim(std::move_only_function<void()> then) override {
    net::post(ws_.get_executor(),
              [self = this->shared_from_this(), then = std::move(then)]() mutable {
                if (self->claiming_) {
                  if (!self->claim_waiters_)
                    self->claim_waiters_ = std::make_unique<ClaimWaiters>();
                  return self->claim_waiters_->push_back(std::move(then));
                }
                then();
              });
  }

 private:
  struct Command {
    std::string id;
    const ocpp::MessageInfo* message = nullptr;
    std::string payload;
    CommandCallback done;
    Steady::time_point started;
  };

  // -- connection lifecycle (the WebSocket's calls) ---------------------------------------
  void on_ws_accepted(beast::error_code ec) {
    if (ec) {
      ctx_.metrics.handshake_refused("websocket");
      log::info("websocket upgrade failed", {{"charger_id", charger_id_}, {"error", ec.message()}});
      return;
    }
    if (no_common_protocol_) {
      // As the OCPP specifications say: complete the handshake without a subprotocol, then
      // close at once. Never pick a protocol the charger did not offer.
      ctx_.metrics.handshake_refused("no_common_subprotocol");
      log::warn("charger offered no OCPP version this pod speaks; closing",
                {{"charger_id", charger_id_}, {"remote", remote_}});
      closing_ = true;
      ws_.close(websocket::kCloseProtocolError, "no common OCPP subprotocol");
      return;
    }
    opened_ = true;
    ctx_.metrics.connection_opened(protocol(), security_profile_);
    log::info("charger connected", {{"charger_id", charger_id_},
                                    {"protocol", protocol()},
                                    {"security_profile", security_profile_},
                                    {"remote", remote_}});
    if (auto previous = ctx_.sessions.add(this->shared_from_this())) {
      previous->close(SessionCloseReason::kTakenOver);
    }
    // Frames are read once the claim is settled: ConnectionOpened (with the epoch) comes first
    // on the topic, and no command is routed to this connection before it has its epoch.
    claim();
  }

  void claim() {
    claiming_ = true;
    const registry::Owner me{ctx_.config.pod_id, 0, ctx_.config.advertise_address,
                             std::string(protocol())};
    std::weak_ptr<ChargerSession> weak = this->shared_from_this();
    ctx_.owners.claim(
        charger_id_, me, [weak, call = ctx_.outside_calls.enter()](Result<registry::Claim> claim) {
          auto self = weak.lock();
          if (!self) return;
          auto executor = self->ws_.get_executor();
          net::post(executor, [self = std::move(self), claim = std::move(claim)]() mutable {
            self->on_claim(std::move(claim));
          });
        });
  }

  // Commands routed by the claim meanwhile are checked against the epoch it settled on.
  void on_claim(Result<registry::Claim> claim) {
    apply_claim(std::move(claim));
    claim_settled();
  }

  void claim_settled() {
    claiming_ = false;
    if (auto waiters = std::move(claim_waiters_)) {
      for (auto& then : *waiters) then();
    }
  }

  void apply_claim(Result<registry::Claim> claim) {
    if (finalized_) {
      if (claim) ctx_.owners.release(charger_id_, claim->epoch, [](Result<bool>) {});
      return;
    }
    if (!claim) {
      // Chargers stay connected while the registry is down; the refresher claims again.
      ctx_.metrics.ownership("claim_failed");
      log::warn("owner claim failed",
                {{"charger_id", charger_id_}, {"error", claim.error().message}});
      if (!announced_) {
        publish_connection_opened();
        read();
      }
      return;
    }
    epoch_ = claim->epoch;
    ctx_.metrics.ownership("claimed");
    const auto& previous = claim->previous;
    if (previous && previous->pod != ctx_.config.pod_id && !previous->address.empty()) {
      // The charger was held by another pod: tell it to let go now, not at its next refresh.
      v1::EvictRequest evict;
      evict.set_charger_id(charger_id_);
      evict.set_epoch(claim->epoch);
      evict.set_new_pod(ctx_.config.pod_id);
      ctx_.peers.evict(previous->address, evict);
    }
    if (!announced_) {
      publish_connection_opened();
      read();
    }
  }

  void begin_close(SessionCloseReason reason) {
    if (closing_ || finalized_) return;
    closing_ = true;
    switch (reason) {
      case SessionCloseReason::kDrain:
        close_reason_ = v1::CLOSE_REASON_DRAIN;
        close_text_ = "pod draining, reconnect";
        ctx_.metrics.drain_closed();
        break;
      case SessionCloseReason::kFenced:
        // For the consumers as for a drain: the charger is about to reconnect to another pod.
        close_reason_ = v1::CLOSE_REASON_DRAIN;
        close_text_ = "pod cut off from kafka or redis, reconnect";
        ctx_.metrics.fencing("connection_closed");
        break;
      case SessionCloseReason::kTakenOver:
      case SessionCloseReason::kLostOwnership:
        close_reason_ = v1::CLOSE_REASON_TAKEN_OVER;
        close_text_ = "connected elsewhere";
        break;
    }
    close_code_ = reason == SessionCloseReason::kDrain || reason == SessionCloseReason::kFenced
                      ? websocket::kCloseGoingAway
                      : websocket::kCloseNormal;
    // Draining answers the CALL in progress first, and waits for a quiet moment: no charger is
    // left waiting, and the CALL a charger sends right after an answer does not cross our close.
    const auto quiet = ctx_.config.drain_quiet;
    if (reason == SessionCloseReason::kDrain && quiet.count() > 0) {
      quiet_close_ = std::make_unique<QuietClose>(net::steady_timer(ws_.get_executor()),
                                                  Steady::now() + kQuietCloseCap * quiet,
                                                  Steady::time_point{});
    }
    if (!inbound_busy_) close_when_quiet();
  }

  // While a drain waits for the charger to fall quiet, CALLs are read and answered; the close
  // frame goes out once nothing was read or answered for --drain-quiet, or at the deadline.
  void close_when_quiet() {
    if (inbound_busy_ || ws_.closing() || finalized_) return;
    if (!quiet_close_) return send_close();
    const auto now = Steady::now();
    const auto quiet_at =
        std::max(ws_.last_received(), quiet_close_->answered) + ctx_.config.drain_quiet;
    if (now >= quiet_at || now >= quiet_close_->deadline) return send_close();
    read();
    quiet_close_->timer.expires_at(std::min(quiet_at, quiet_close_->deadline));
    quiet_close_->timer.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->close_when_quiet();
    });
  }

  // Sends the close frame once nothing is in flight: no CALL that was read goes unanswered
  // (the frames queued before it go out first).
  void send_close() {
    if (ws_.closing() || inbound_busy_) return;  // finish_inbound() comes back here
    ws_.close(close_code_, close_text_);
  }

  void on_ws_closed() { finalize(); }

  void finalize() {
    if (finalized_) return;
    finalized_ = true;
    if (ctx_.heap_trim != nullptr) ctx_.heap_trim->note();
    closing_ = true;
    if (commands_) commands_->timer.cancel();
    if (throttle_timer_) throttle_timer_->cancel();
    if (quiet_close_) quiet_close_->timer.cancel();
    fail_commands(
        make_error(ErrorCode::kUnavailable, "connection to charger " + charger_id_ + " closed"));
    claim_settled();
    if (!opened_) return;
    ctx_.sessions.remove(charger_id_, this);
    if (epoch_ > 0) {
      GatewayMetrics& metrics = ctx_.metrics;
      ctx_.owners.release(charger_id_, epoch_, [&metrics](Result<bool> r) {
        if (r && *r) metrics.ownership("released");
      });
    }
    const auto reason = close_reason_name(close_reason_);
    ctx_.metrics.connection_closed(protocol(), security_profile_, reason);
    const auto duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - connected_at_);
    log::info("charger disconnected",
              {{"charger_id", charger_id_},
               {"reason", reason},
               {"detail", close_detail()},
               {"duration_ms", static_cast<std::int64_t>(duration.count())}});
    auto event = std::make_unique<v1::ChargerEvent>();
    fill_envelope(*event);
    auto* closed = event->mutable_connection_closed();
    closed->set_reason(close_reason_);
    closed->set_detail(close_detail());
    closed->set_duration_ms(duration.count());
    closed->set_owner_epoch(epoch_);
    publish_fire_and_forget(*event);
  }

  // -- reading ---------------------------------------------------------------------------
  void read() {
    if (finalized_ || reading_ || ws_.closing()) return;
    if (waiting_ && waiting_->calls.size() - waiting_->head >= kMaxWaitingCalls) {
      return;  // resumes in finish_inbound
    }
    if (!take_token()) return;
    reading_ = true;
    ws_.read();
  }

  // Token bucket: a charger over its rate is slowed down (reads wait), not disconnected.
  bool take_token() {
    const auto now = Steady::now();
    const double elapsed = std::chrono::duration<double>(now - refilled_).count();
    refilled_ = now;
    tokens_ =
        std::min<double>(ctx_.config.rate_burst, tokens_ + elapsed * ctx_.config.rate_per_second);
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return true;
    }
    ctx_.metrics.throttled();
    if (!throttle_timer_) throttle_timer_ = std::make_unique<net::steady_timer>(ws_.get_executor());
    const double wait_s = (1 - tokens_) / std::max(ctx_.config.rate_per_second, 0.001);
    throttle_timer_->expires_after(
        std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(wait_s)));
    throttle_timer_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->read();
    });
    return false;
  }

  void on_ws_message(std::string_view message, bool text) {
    reading_ = false;
    if (!text) {
      set_close_detail("binary frame");
      close_reason_ = v1::CLOSE_REASON_PROTOCOL_ERROR;
      closing_ = true;
      close_code_ = websocket::kCloseUnsupportedData;
      close_text_ = "OCPP-J frames are text";
      send_close();
      return;
    }
    on_frame(message);
    read();
  }

  // A frame that crossed our close frame can no longer be answered: dropped unprocessed, so
  // nothing is published that the charger did not see acknowledged (it resends elsewhere).
  void on_ws_crossed(std::string_view message, bool text) {
    if (text) note_crossed_close(message);
  }

  void on_ws_error(beast::error_code ec) {
    reading_ = false;
    on_read_error(ec);
  }

  // The charger sent this CALL before it saw our close frame (a drain or a takeover): counted
  // and logged.
  void note_crossed_close(std::string_view text) {
    ocpp::DecodeOptions options;
    options.lenient = lenient_;
    auto decoded = worker_.decoder.decode(version_, ocpp::Role::kCsms, text, nullptr, options);
    if (!decoded || decoded->type != ocpp::MessageType::kCall) return;
    ctx_.metrics.message(decoded->message->action, MessageDirection::kIn,
                         MessageOutcome::kCrossedClose);
    log::info("CALL crossed our close frame: dropped unanswered (the charger resends it)",
              {{"charger_id", charger_id_},
               {"message_id", decoded->message_id},
               {"action", decoded->message->action}});
  }

  void set_close_detail(std::string detail) {
    close_detail_ = std::make_unique<std::string>(std::move(detail));
  }
  const std::string& close_detail() const {
    static const std::string kNone;
    return close_detail_ ? *close_detail_ : kNone;
  }

  void on_read_error(beast::error_code ec) {
    if (close_reason_ == v1::CLOSE_REASON_UNSPECIFIED) {
      if (ec == beast::websocket::error::closed) {
        close_reason_ = v1::CLOSE_REASON_CHARGER_CLOSED;
        const auto& reason = ws_.peer_close_reason();
        set_close_detail("close code " + std::to_string(ws_.peer_close_code()) +
                         (reason.empty() ? "" : ": " + reason));
      } else if (ec == beast::error::timeout) {
        close_reason_ = v1::CLOSE_REASON_PING_TIMEOUT;
        set_close_detail("no frame or pong within the idle timeout");
      } else if (ec == beast::websocket::error::message_too_big) {
        close_reason_ = v1::CLOSE_REASON_PROTOCOL_ERROR;
        set_close_detail("frame larger than " + std::to_string(ctx_.config.max_frame_bytes) +
                         " bytes (closed with 1009)");
      } else if (ec.category() ==
                 beast::websocket::make_error_code(beast::websocket::error::closed).category()) {
        close_reason_ = v1::CLOSE_REASON_PROTOCOL_ERROR;
        set_close_detail(ec.message());
      } else {
        close_reason_ = v1::CLOSE_REASON_NETWORK_ERROR;
        set_close_detail(ec.message());
      }
    }
    finalize();
  }

  void on_frame(std::string_view text) {
    const int type = peek_message_type(text);
    if ((type == 2 || type == 6) && inbound_busy_) {
      // One CALL at a time per charger keeps its events in order; hold the next one.
      if (!waiting_) waiting_ = std::make_unique<Waiting>();
      waiting_->calls.emplace_back(text);
      return;
    }
    process(text);
  }

  void process(std::string_view text) {
    ocpp::PendingCall pending;
    const Command* out = outstanding();
    if (out) pending = {out->id, out->message};
    ocpp::DecodeOptions options;
    options.lenient = lenient_;
    auto decoded = worker_.decoder.decode(version_, ocpp::Role::kCsms, text,
                                          out ? &pending : nullptr, options);
    if (!decoded) return on_decode_error(decoded.error());
    if (decoded->quirks != 0) ctx_.metrics.quirks(decoded->quirks);
    switch (decoded->type) {
      case ocpp::MessageType::kCall:
      case ocpp::MessageType::kSend:
        return on_call(*decoded, text);
      case ocpp::MessageType::kCallResult:
      case ocpp::MessageType::kCallError:
        return on_result(*decoded, text);
      case ocpp::MessageType::kCallResultError:
        ctx_.metrics.message("CALLRESULTERROR", MessageDirection::kIn, MessageOutcome::kIgnored);
        log::warn("charger could not process our answer",
                  {{"charger_id", charger_id_},
                   {"message_id", decoded->message_id},
                   {"code", decoded->error_code},
                   {"description", decoded->error_description}});
        return;
    }
  }

  void on_decode_error(const ocpp::DecodeError& e) {
    const std::string_view code = ocpp::rpc_error_name(e.code, version_);
    const ocpp::MessageInfo* m =
        e.action.empty() ? nullptr : ocpp::find_message(version_, e.action);
    const std::string_view action = m ? m->action : std::string_view("unknown");
    log::info("bad frame from charger", {{"charger_id", charger_id_},
                                         {"message_id", e.message_id},
                                         {"code", code},
                                         {"description", e.description}});
    // An answer to our CALL that we cannot read fails that command.
    if (e.type == ocpp::MessageType::kCallResult && outstanding() &&
        e.message_id == outstanding()->id) {
      complete_command(make_error(ErrorCode::kInternal,
                                  "charger answered with an invalid payload: " + e.description));
    }
    switch (e.reply) {
      case ocpp::Reply::kCallError:
        ctx_.metrics.message(action, MessageDirection::kIn, MessageOutcome::kCallError);
        ctx_.metrics.rpc_error(code);
        send(worker_.encoder.error(version_, e.message_id, e.code, e.description));
        return;
      case ocpp::Reply::kCallResultError:
        ctx_.metrics.message(action, MessageDirection::kIn, MessageOutcome::kCallError);
        send(worker_.encoder.result_error(e.message_id, e.code, e.description));
        return;
      case ocpp::Reply::kNone:
        ctx_.metrics.message(action, MessageDirection::kIn, MessageOutcome::kIgnored);
        return;
    }
  }

  // -- inbound CALLs -----------------------------------------------------------------------
  void on_call(const ocpp::DecodedFrame& frame, std::string_view text) {
    const ocpp::MessageInfo& message = *frame.message;
    const InboundKind kind = classify_inbound(message);
    if (frame.type == ocpp::MessageType::kCall) {
      if (kind == InboundKind::kHeartbeat) {
        // Answered at once, without waiting for Kafka: a heartbeat proves liveness and asks for
        // the time. Its event (last seen) is published without waiting.
        answer(frame.message_id, heartbeat_answer(worker_.encoder, version_, Clock::now()));
        ctx_.metrics.message(message.action, MessageDirection::kIn, MessageOutcome::kOk);
        bus::ArenaMessage<v1::ChargerEvent, 1024> event;  // no heap for its sub-messages
        fill_envelope(*event);
        event->set_message_id(std::string(frame.message_id));
        event->set_action(std::string(message.action));
        event->mutable_heartbeat();
        publish_fire_and_forget(*event);
        return;
      }
      if (kind == InboundKind::kNotSupported) {
        reply_error(frame.message_id, message.action, ocpp::RpcErrorCode::kNotSupported,
                    std::string(message.action) + " is not handled by this CSMS");
        return;
      }
      if (version_ == ocpp::Version::k16 && boot_refused_ && kind != InboundKind::kBoot) {
        // 1.6: until the boot is accepted, only BootNotification is processed.
        reply_error(frame.message_id, message.action, ocpp::RpcErrorCode::kSecurityError,
                    "the boot of this charger is not accepted (send BootNotification first)");
        return;
      }
    }
    auto call = worker_.acquire();
    call->message_id = std::string(frame.message_id);
    call->message = &message;
    call->type = frame.type;
    call->started = Steady::now();
    if (kind == InboundKind::kAcknowledge && frame.type == ocpp::MessageType::kCall &&
        encode_directly(frame, text)) {
      // No decision reads this event: its bytes, in worker_.scratch, are all it needs.
      inbound_busy_ = true;
      std::string answer_json = acknowledge_answer(worker_.encoder, message);
      return publish_scratch_then_answer(std::move(call), std::move(answer_json));
    }
    v1::ChargerEvent& event = *call->event;
    fill_envelope(event);
    event.set_message_id(call->message_id);
    event.set_action(std::string(message.action));
    event.set_raw_frame(std::string(text));
    if (!normalize_inbound(version_, frame, event)) {
      event.mutable_other()->set_payload_json(
          std::string(worker_.encoder.payload(*frame.payload_type, frame.payload)));
    }
    ocpp::for_each_quirk(frame.quirks, [&event](ocpp::Quirk q) {
      event.add_quirks(std::string(ocpp::quirk_name(q)));
    });
    if (kind == InboundKind::kBoot && !lenient_ &&
        ctx_.lenient_vendors.contains(event.boot_notification().vendor())) {
      lenient_ = true;  // this vendor's chargers are decoded leniently from now on
    }
    if (frame.type == ocpp::MessageType::kSend) {
      // Never answered: publish and go on.
      ctx_.metrics.message(message.action, MessageDirection::kIn, MessageOutcome::kOk);
      publish_fire_and_forget(event);
      worker_.release(std::move(call));
      return;
    }
    if (kind == InboundKind::kSignCertificate) call->signing = signing_request(frame);
    inbound_busy_ = true;
    decide(kind, std::move(call));
  }

  template <typename Decision>
  using Then = void (ChargerSession::*)(std::unique_ptr<InboundCall>, Decision);

  // Asks DecisionService, continues on this session's thread. `decision` (a literal) names it in
  // switchyard_gateway_decision_seconds.
  template <typename Decision, typename Ask>
  void ask(std::unique_ptr<InboundCall> call, std::string_view decision, Ask&& ask_fn,
           Then<Decision> then) {
    auto self = this->shared_from_this();
    auto* raw = call.release();  // owned by the callback below
    raw->decision = decision;
    raw->asked = Steady::now();
    // The callback gives its hold on the session to the handler it posts (see OutsideCalls).
    ask_fn(*raw->event, [held = ctx_.outside_calls.hold(std::move(self)), raw,
                         then](Result<Decision> d) mutable {
      auto session = std::move(held.value);
      session->ctx_.metrics.decision(
          raw->decision, d.has_value(),
          std::chrono::duration<double>(Steady::now() - raw->asked).count());
      auto executor = session->ws_.get_executor();
      net::post(executor, [self = std::move(session), raw, then, d = std::move(d)]() mutable {
        std::unique_ptr<InboundCall> owned(raw);
        if (!d) return self->fail_call(std::move(owned), "decision failed: " + d.error().message);
        ((*self).*then)(std::move(owned), std::move(*d));
      });
    });
  }

  void decide(InboundKind kind, std::unique_ptr<InboundCall> call) {
    switch (kind) {
      case InboundKind::kBoot:
        return ask<BootDecision>(
            std::move(call), "boot",
            [this](const v1::ChargerEvent& e, auto cb) {
              ctx_.decisions.boot(charger_id_, e.boot_notification(), std::move(cb));
            },
            &ChargerSession::after_boot);
      case InboundKind::kAuthorize:
        return ask<TokenDecision>(
            std::move(call), "authorize",
            [this](const v1::ChargerEvent& e, auto cb) {
              ctx_.decisions.authorize(charger_id_, e.authorize().id_token(), std::move(cb));
            },
            &ChargerSession::after_authorize);
      case InboundKind::kTransaction:
        return ask<TransactionDecision>(
            std::move(call), "transaction",
            [this](const v1::ChargerEvent& e, auto cb) {
              ctx_.decisions.transaction(charger_id_, version_, e.transaction_event(),
                                         std::move(cb));
            },
            &ChargerSession::after_transaction);
      case InboundKind::kSignCertificate: {
        if (!call->signing) return fail_call(std::move(call), "SignCertificate without its CSR");
        if (security_profile_ < ctx_.config.certificate_signing_min_profile) {
          return after_sign_certificate(
              std::move(call),
              CertificateDecision{
                  .accepted = false,
                  .reason_code = "SecurityProfile",
                  .reason = "certificates are signed for chargers connected with security "
                            "profile " +
                            std::to_string(ctx_.config.certificate_signing_min_profile) +
                            " or higher; this connection has profile " +
                            std::to_string(security_profile_),
                  .certificate_chain = {}});
        }
        SigningRequest request = *call->signing;
        return ask<CertificateDecision>(
            std::move(call), "sign_certificate",
            [this, request = std::move(request)](const v1::ChargerEvent&, auto cb) {
              ctx_.decisions.sign_certificate(charger_id_, request, std::move(cb));
            },
            &ChargerSession::after_sign_certificate);
      }
      default: {
        std::string answer_json = acknowledge_answer(worker_.encoder, *call->message);
        return publish_then_answer(std::move(call), std::move(answer_json));
      }
    }
  }

  void after_boot(std::unique_ptr<InboundCall> call, BootDecision d) {
    record_decision(*call->event, d);
    boot_refused_ = d.status != "Accepted";
    std::string answer_json = boot_answer(worker_.encoder, version_, d, Clock::now());
    publish_then_answer(std::move(call), std::move(answer_json));
  }

  void after_authorize(std::unique_ptr<InboundCall> call, TokenDecision d) {
    record_decision(*call->event, d);
    std::string answer_json = authorize_answer(worker_.encoder, version_, d);
    publish_then_answer(std::move(call), std::move(answer_json));
  }

  void after_transaction(std::unique_ptr<InboundCall> call, TransactionDecision d) {
    record_decision(*call->event, d);
    auto answer_json = transaction_answer(worker_.encoder, version_, call->message->action, d);
    if (!answer_json) return fail_call(std::move(call), answer_json.error().message);
    publish_then_answer(std::move(call), std::move(*answer_json));
  }

  // Accepted: the CALLRESULT goes first, then the signed chain in a CertificateSigned (A02).
  void after_sign_certificate(std::unique_ptr<InboundCall> call, CertificateDecision d) {
    if (d.accepted && (closing_ || finalized_)) {
      // The chain could not follow: not Accepted for a certificate the charger never gets.
      d = CertificateDecision{
          .accepted = false,
          .reason_code = "TryAgain",
          .reason = "the connection is closing; send it again after reconnecting",
          .certificate_chain = {}};
    }
    ctx_.metrics.certificate("sign", d.accepted ? "accepted" : "rejected");
    if (d.accepted) {
      log::info("charger certificate signed; sending CertificateSigned",
                {{"charger_id", charger_id_}, {"message_id", call->message_id}});
    } else {
      log::warn(
          "SignCertificate rejected",
          {{"charger_id", charger_id_}, {"message_id", call->message_id}, {"reason", d.reason}});
    }
    std::string answer_json = sign_certificate_answer(worker_.encoder, version_, d);
    std::move_only_function<void()> then;
    if (d.accepted) {
      then = [this, request = *call->signing, chain = std::move(d.certificate_chain)] {
        deliver_certificate(request, chain);
      };
    }
    publish_then_answer(std::move(call), std::move(answer_json), std::move(then));
  }

  void deliver_certificate(const SigningRequest& request, const std::string& chain) {
    auto self = this->shared_from_this();
    enqueue_command(
        "CertificateSigned", certificate_signed_request(worker_.encoder, version_, request, chain),
        [self](Result<CommandReply> reply) {
          const std::string status =
              reply && reply->error_code.empty() ? reply->status : std::string("error");
          // The schema allows Accepted or Rejected only: a bounded label.
          self->ctx_.metrics.certificate("deliver", status);
          const std::string detail = !reply ? reply.error().message
                                     : !reply->error_code.empty()
                                         ? reply->error_code + ": " + reply->error_description
                                         : status;
          if (status == "Accepted") {
            log::info("CertificateSigned accepted by the charger",
                      {{"charger_id", self->charger_id_}});
          } else {
            log::warn("CertificateSigned not accepted by the charger",
                      {{"charger_id", self->charger_id_}, {"answer", detail}});
          }
        },
        Steady::now());
  }

  // The durability rule: the charger hears back only once its event is acknowledged. `then`
  // runs on this session's thread right after the answer is sent.
  void publish_then_answer(std::unique_ptr<InboundCall> call, std::string answer_json,
                           std::move_only_function<void()> then = {}) {
    call->event->SerializeToString(&worker_.scratch);
    ctx_.metrics.event_encoded(false);
    publish_scratch_then_answer(std::move(call), std::move(answer_json), std::move(then));
  }

  // The same for an event whose bytes are in worker_.scratch already.
  void publish_scratch_then_answer(std::unique_ptr<InboundCall> call, std::string answer_json,
                                   std::move_only_function<void()> then = {}) {
    const std::string& bytes = worker_.scratch;
    call->answer = std::move(answer_json);
    call->then = std::move(then);
    call->acknowledged = [self = this->shared_from_this()](std::unique_ptr<InboundCall> owned,
                                                           Result<void> r) {
      self->acknowledged(std::move(owned), std::move(r));
    };
    Worker* worker = &worker_;
    ctx_.publisher.publish(ctx_.config.events_topic, charger_id_, bytes,
                           [worker, raw = call.release()](Result<void> r) {
                             worker->acknowledgements.add(raw, std::move(r));
                           });
  }

  // On this session's thread: the publisher's verdict on the call's event.
  void acknowledged(std::unique_ptr<InboundCall> call, Result<void> r) {
    if (!r) return fail_call(std::move(call), "event not durable: " + r.error().message);
    answer(call->message_id, call->answer);
    if (call->then) call->then();
    ctx_.metrics.message(call->message->action, MessageDirection::kIn, MessageOutcome::kOk);
    ctx_.metrics.ack_latency(call->message->action,
                             std::chrono::duration<double>(Steady::now() - call->started).count());
    finish_inbound(std::move(call));
  }

  // The CSMS failed: never a false CALLRESULT, an InternalError the charger retries.
  void fail_call(std::unique_ptr<InboundCall> call, const std::string& why) {
    log::warn("answering InternalError", {{"charger_id", charger_id_},
                                          {"message_id", call->message_id},
                                          {"action", call->message->action},
                                          {"error", why}});
    ctx_.metrics.message(call->message->action, MessageDirection::kIn,
                         MessageOutcome::kInternalError);
    ctx_.metrics.rpc_error(ocpp::rpc_error_name(ocpp::RpcErrorCode::kInternalError, version_));
    send(
        worker_.encoder.error(version_, call->message_id, ocpp::RpcErrorCode::kInternalError, why));
    finish_inbound(std::move(call));
  }

  void finish_inbound(std::unique_ptr<InboundCall> call) {
    worker_.release(std::move(call));
    inbound_busy_ = false;
    if (finalized_) return;
    while (!inbound_busy_ && waiting_) {
      const std::string next = std::move(waiting_->calls[waiting_->head++]);
      if (waiting_->head == waiting_->calls.size()) waiting_.reset();
      process(next);
    }
    if (closing_ && !inbound_busy_) {
      if (quiet_close_) quiet_close_->answered = Steady::now();
      close_when_quiet();
      return;
    }
    read();  // resumes a read held back by a full queue
  }

  void answer(std::string_view message_id, std::string_view answer_json) {
    send(worker_.encoder.result_json(message_id, answer_json));
  }

  void reply_error(std::string_view message_id, std::string_view action, ocpp::RpcErrorCode code,
                   std::string_view description) {
    ctx_.metrics.message(action, MessageDirection::kIn, MessageOutcome::kCallError);
    ctx_.metrics.rpc_error(ocpp::rpc_error_name(code, version_));
    send(worker_.encoder.error(version_, message_id, code, description));
  }

  // -- commands (CSMS -> charger) ----------------------------------------------------------
  void enqueue_command(const std::string& action, std::string payload, CommandCallback done,
                       Steady::time_point started) {
    if (closing_ || finalized_) {
      return done(
          make_error(ErrorCode::kUnavailable, "charger " + charger_id_ + " is disconnecting"));
    }
    const ocpp::MessageInfo* m = ocpp::find_message(version_, action);
    if (m == nullptr) {
      return done(make_error(ErrorCode::kUnimplemented,
                             action + " does not exist in OCPP " +
                                 std::string(ocpp::version_label(version_)) +
                                 " (the charger speaks " + std::string(protocol()) + ")"));
    }
    if (m->direction == ocpp::Direction::kChargerToCsms || m->response == nullptr) {
      return done(make_error(ErrorCode::kInvalidArgument,
                             action + " is sent by charging stations, not by the CSMS"));
    }
    auto valid = worker_.decoder.decode_payload(version_, *m->request, payload);
    if (!valid) {
      return done(make_error(ErrorCode::kInvalidArgument,
                             action + " payload: " + valid.error().description));
    }
    if (!commands_) commands_ = std::make_unique<CommandQueue>(ws_.get_executor());
    commands_->queued.push_back(Command{{}, m, std::move(payload), std::move(done), started});
    send_next_command();
  }

  Command* outstanding() {
    return commands_ && commands_->outstanding ? &*commands_->outstanding : nullptr;
  }

  void send_next_command() {
    if (!commands_ || commands_->outstanding || commands_->head == commands_->queued.size() ||
        closing_ || finalized_) {
      return;
    }
    CommandQueue& q = *commands_;
    Command c = std::move(q.queued[q.head++]);
    if (q.head == q.queued.size()) {
      q.queued.clear();
      q.head = 0;
    }
    char id[32];
    std::snprintf(id, sizeof id, "%08x-%llu", static_cast<unsigned>(tag_),
                  static_cast<unsigned long long>(++q.seq));
    c.id = id;
    send(worker_.encoder.call_json(c.id, c.message->action, c.payload));
    ctx_.metrics.message(c.message->action, MessageDirection::kOut, MessageOutcome::kOk);
    q.outstanding = std::move(c);
    q.timer.expires_after(ctx_.config.call_timeout);
    q.timer.async_wait([self = this->shared_from_this(),
                        id = q.outstanding->id](beast::error_code ec) {
      const Command* out = self->outstanding();
      if (ec || out == nullptr || out->id != id) return;
      self->complete_command(make_error(
          ErrorCode::kDeadlineExceeded,
          "charger " + self->charger_id_ + " did not answer " + std::string(out->message->action) +
              " within " + std::to_string(self->ctx_.config.call_timeout.count()) + " ms"));
    });
  }

  void on_result(const ocpp::DecodedFrame& frame, std::string_view text) {
    const Command* out = outstanding();
    if (out == nullptr || frame.message_id != out->id) {
      // A CALLERROR for nothing we sent (or a late answer after a timeout): log and go on.
      ctx_.metrics.message("unknown", MessageDirection::kIn, MessageOutcome::kIgnored);
      log::info("answer for no pending command",
                {{"charger_id", charger_id_}, {"message_id", frame.message_id}});
      return;
    }
    CommandReply reply;
    reply.action = std::string(out->message->action);
    reply.version = version_;
    if (frame.type == ocpp::MessageType::kCallResult) {
      reply.payload_json = std::string(worker_.encoder.payload(*frame.payload_type, frame.payload));
    } else {
      reply.error_code = std::string(frame.error_code);
      reply.error_description = std::string(frame.error_description);
    }
    // The answer is an event too (status keeps configuration, firmware state, ...).
    auto event = std::make_unique<v1::ChargerEvent>();
    fill_envelope(*event);
    event->set_message_id(std::string(frame.message_id));
    event->set_action(reply.action);
    event->set_raw_frame(std::string(text));
    auto* result = event->mutable_command_result();
    if (frame.payload_type != nullptr) {
      reply.status = status_of(*frame.payload_type, frame.payload);
      result->set_status(reply.status);
    }
    result->set_payload_json(reply.payload_json);
    result->set_error_code(reply.error_code);
    result->set_error_description(reply.error_description);
    result->set_request_json(out->payload);
    publish_fire_and_forget(*event);
    complete_command(std::move(reply));
  }

  void complete_command(Result<CommandReply> reply) {
    if (outstanding() == nullptr) return;
    Command c = std::move(*commands_->outstanding);
    commands_->outstanding.reset();
    commands_->timer.cancel();
    const char* outcome =
        !reply ? (reply.error().code == ErrorCode::kDeadlineExceeded ? "timeout" : "error")
        : reply->error_code.empty() ? "ok"
                                    : "callerror";
    ctx_.metrics.command(c.message->action, outcome,
                         std::chrono::duration<double>(Steady::now() - c.started).count());
    c.done(std::move(reply));
    send_next_command();
  }

  void fail_commands(const Result<CommandReply>& error) {
    if (!commands_) return;
    CommandQueue& q = *commands_;
    if (q.outstanding) {
      Command c = std::move(*q.outstanding);
      q.outstanding.reset();
      c.done(std::unexpected(error.error()));
    }
    for (std::size_t i = q.head; i < q.queued.size(); ++i) {
      q.queued[i].done(std::unexpected(error.error()));
    }
    q.queued.clear();
    q.head = 0;
  }

  // -- writing ---------------------------------------------------------------------------
  // A write that fails ends the connection: the WebSocket reports it (on_ws_error).
  // `frame` may be the worker's encoder output: the WebSocket copies it into its queue at once.
  void send(std::string_view frame) {
    if (finalized_) return;
    ws_.send_text(frame);  // nothing once our close frame is queued
  }

  // -- events ----------------------------------------------------------------------------
  // A MeterValues CALL's event written straight into worker_.scratch (event_wire.h): the same
  // bytes as fill_envelope, normalize_inbound and the quirks make of the message, without the
  // message. False (nothing written) for any other action.
  bool encode_directly(const ocpp::DecodedFrame& frame, std::string_view text) {
    if (frame.message->action != "MeterValues") return false;
    std::string& bytes = worker_.scratch;
    bytes.clear();
    const Stamp stamp = stamp_now();
    EventEnvelope envelope;
    envelope.event_id = std::string_view(stamp.event_id.data(), stamp.event_id.size());
    envelope.charger_id = charger_id_;
    envelope.pod_id = ctx_.config.pod_id;
    envelope.received_seconds = stamp.seconds;
    envelope.received_nanos = stamp.nanos;
    envelope.protocol_version = to_proto(version_);
    envelope.message_id = frame.message_id;
    envelope.action = frame.message->action;
    envelope.raw_frame = text;
    append_envelope(envelope, bytes);
    if (!append_meter_values(version_, frame, bytes)) return false;
    append_quirks(frame.quirks, bytes);
    ctx_.metrics.event_encoded(true);
    return true;
  }

  // An event's id and received_at, from one reading of the clock (both envelope paths).
  struct Stamp {
    EventIds::Text event_id;
    std::int64_t seconds;
    std::int32_t nanos;
  };
  Stamp stamp_now() {
    const auto since_epoch = Clock::now().time_since_epoch();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count();
    return {worker_.event_ids.next(
                std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count()),
            ns / 1'000'000'000, static_cast<std::int32_t>(ns % 1'000'000'000)};
  }

  void fill_envelope(v1::ChargerEvent& event) {
    const Stamp stamp = stamp_now();
    event.set_event_id(stamp.event_id.data(), stamp.event_id.size());
    event.set_charger_id(charger_id_);
    event.set_pod_id(ctx_.config.pod_id);
    event.mutable_received_at()->set_seconds(stamp.seconds);
    event.mutable_received_at()->set_nanos(stamp.nanos);
    event.set_protocol_version(to_proto(version_));
  }

  void publish_connection_opened() {
    announced_ = true;
    v1::ChargerEvent event;
    fill_envelope(event);
    auto* opened = event.mutable_connection_opened();
    opened->set_security_profile(security_profile_);
    opened->set_remote_address(remote_);
    opened->set_owner_epoch(epoch_);
    publish_fire_and_forget(event);
  }

  // Connection events and command answers: published, failures logged, nobody waits.
  void publish_fire_and_forget(const v1::ChargerEvent& event) {
    std::string& bytes = worker_.scratch;
    event.SerializeToString(&bytes);
    ctx_.publisher.publish(
        ctx_.config.events_topic, charger_id_, bytes,
        [id = charger_id_, action = event.action()](Result<void> r) {
          if (!r) {
            log::warn("event not published",
                      {{"charger_id", id}, {"action", action}, {"error", r.error().message}});
          }
        });
  }

  ServerWebSocket<Stream, ChargerSession> ws_;
  Worker& worker_;
  GatewayContext& ctx_;
  // The negotiated subprotocol is that of version_ (protocol()); none in common: closed at once.
  bool no_common_protocol_;
  std::string remote_;
  std::uint32_t tag_;  // prefix of this connection's command message ids (hex)
  bool lenient_;

  bool opened_ = false;
  bool announced_ = false;  // ConnectionOpened published
  bool reading_ = false;
  bool closing_ = false;
  bool finalized_ = false;
  bool claiming_ = false;  // an owner claim is in flight
  using ClaimWaiters = std::vector<std::move_only_function<void()>>;
  std::unique_ptr<ClaimWaiters> claim_waiters_;  // after_claim() meanwhile (rare: kept apart)
  bool inbound_busy_ = false;
  bool boot_refused_ = false;
  v1::CloseReason close_reason_ = v1::CLOSE_REASON_UNSPECIFIED;
  std::uint16_t close_code_ = websocket::kCloseNormal;
  std::string_view close_text_;                // a literal
  std::unique_ptr<std::string> close_detail_;  // set at the close (close_detail())

  struct Waiting {  // CALLs read while another is in progress (rare: kept apart)
    std::vector<std::string> calls;
    std::size_t head = 0;
  };
  std::unique_ptr<Waiting> waiting_;

  // Commands (CSMS -> charger) are rare next to the charger's own traffic: their queue is
  // allocated at the first one, so an idle connection carries a pointer instead of ~170 bytes.
  struct CommandQueue {
    explicit CommandQueue(const net::any_io_executor& executor) : timer(executor) {}
    std::optional<Command> outstanding;
    std::vector<Command> queued;
    std::size_t head = 0;
    std::uint64_t seq = 0;
    net::steady_timer timer;
  };
  std::unique_ptr<CommandQueue> commands_;
  std::unique_ptr<net::steady_timer> throttle_timer_;
  static constexpr int kQuietCloseCap = 4;  // the wait is at most this many --drain-quiet
  struct QuietClose {                       // a drain waiting for the charger to fall quiet
    net::steady_timer timer;
    Steady::time_point deadline;
    Steady::time_point answered;  // the last CALL answered meanwhile
  };
  std::unique_ptr<QuietClose> quiet_close_;

  double tokens_;
  Steady::time_point refilled_;
};

// -- the upgrade handshake ----------------------------------------------------------------

template <typename Stream>
class Handshake final : public std::enable_shared_from_this<Handshake<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Handshake(Stream&& stream, Worker& worker, GatewayContext& ctx)
      : stream_(std::move(stream)), worker_(worker), ctx_(ctx), deadline_(stream_.get_executor()) {}

  Handshake(const Handshake&) = delete;
  Handshake& operator=(const Handshake&) = delete;

  // Timed out or broken after the TLS handshake: the session it cached goes too.
  ~Handshake() {
    if (!upgraded_) forget_tls_session();
  }

  void run() {
    if (ctx_.heap_trim != nullptr) ctx_.heap_trim->note();
    beast::error_code ignored;
    const auto endpoint = stream_.socket().remote_endpoint(ignored);
    // IPv4 as such (also when a dual-stack listener sees it v4-mapped), IPv6 in brackets, so the
    // address part of "address:port" is unambiguous (lockouts are per address).
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    }
    remote_ = (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
              std::to_string(endpoint.port());
    if constexpr (kTls) {
      // Over the pod's rate of new connections (or this address's share of it): closed before
      // the TLS handshake, the costly part; the charger backs off and comes again (plain ones
      // get 503 and Retry-After).
      if (ctx_.connection_admission != nullptr) {
        if (auto refused = ctx_.connection_admission->admit(address_of(remote_))) {
          if (refused->report) report_address_over_share(*refused);
          ctx_.metrics.handshake_refused(refused->address ? "overloaded_address" : "overloaded");
          beast::error_code closing;
          stream_.socket().close(closing);
          return;
        }
      }
    }
    // Slow-loris and never-finishing TLS handshakes are cut off here: the timer closes the
    // socket, which ends the read or handshake in progress.
    deadline_.expires_after(ctx_.config.handshake_timeout);
    deadline_.async_wait([weak = this->weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->timed_out_ = true;
      beast::error_code closing;
      self->stream_.socket().close(closing);
    });
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](
                                                            beast::error_code ec) {
        if (ec) {
          self->ctx_.metrics.handshake_refused("tls");
          log::info("tls handshake failed", {{"remote", self->remote_}, {"error", ec.message()}});
          return;
        }
        SSL* ssl = self->stream_.native_handle();
        self->tls_done_ = true;
        retire_resumed_session(ssl);
        self->ctx_.metrics.tls_handshake(SSL_session_reused(ssl) == 1,
                                         SSL_CTX_sess_number(SSL_get_SSL_CTX(ssl)));
        self->read_request();
      });
    } else {
      read_request();
    }
  }

 private:
  void read_request() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_request(ec);
                     });
  }

  void on_request(beast::error_code ec) {
    if (ec) {
      ctx_.metrics.handshake_refused(ec == beast::error::timeout || timed_out_ ? "timeout"
                                                                               : "http");
      return;
    }
    const auto& req = parser_->get();
    if (ctx_.draining)
      return refuse(http::status::service_unavailable, "draining",
                    "this pod is draining; reconnect");
    if (ctx_.fenced)
      return refuse(http::status::service_unavailable, "fenced",
                    "this pod is cut off from kafka or redis; reconnect");
    auto id = charger_id_from_target(std::string_view(req.target()), ctx_.config.path_prefix);
    if (!id) {
      return refuse(id.error().code == ErrorCode::kNotFound ? http::status::not_found
                                                            : http::status::bad_request,
                    "bad_path", id.error().message);
    }
    charger_id_ = *id;
    if (!beast::websocket::is_upgrade(req)) {
      return refuse(http::status::upgrade_required, "not_upgrade", "expected a WebSocket upgrade");
    }
    if (auto problem =
            check_websocket_request(std::string_view(req.method_string()), req.version(),
                                    std::string_view(req[http::field::sec_websocket_key]),
                                    std::string_view(req[http::field::sec_websocket_version]))) {
      websocket_version_required_ = problem->status == 426;
      return refuse(static_cast<http::status>(problem->status), problem->reason,
                    std::move(problem->detail));
    }
    // A locked charger id or address is refused before any password is hashed.
    if (ctx_.auth_throttle != nullptr && !verified_client_certificate()) {
      if (auto lock = ctx_.auth_throttle->locked(charger_id_, address_of(remote_))) {
        retry_after_ = lock->retry_after;
        return refuse(http::status::too_many_requests, "auth_throttled",
                      std::string("too many failed authentications from this ") +
                          (lock->key == ThrottleKey::kCharger ? "charger id" : "address") +
                          "; retry after " + std::to_string(lock->retry_after.count()) + " s");
      }
    }
    // Over the pod's rate of new connections (after the cheap checks, so a request that is no
    // upgrade or a locked-out guesser does not spend a charger's turn).
    if constexpr (!kTls) {
      if (ctx_.connection_admission != nullptr) {
        if (auto refused = ctx_.connection_admission->admit(address_of(remote_))) {
          if (refused->report) report_address_over_share(*refused);
          retry_after_ = refused->retry_after;
          return refuse(
              http::status::service_unavailable,
              refused->address ? "overloaded_address" : "overloaded",
              std::string(refused->address ? "this address is taking its share of the pod's new "
                                             "connections"
                                           : "this pod is taking new connections at its limit") +
                  "; retry after " + std::to_string(refused->retry_after.count()) + " s");
        }
      }
    }
    protocol_ = negotiate_subprotocol(std::string_view(req[http::field::sec_websocket_protocol]),
                                      ctx_.config.protocols)
                    .value_or("");
    // What the connection offers: a verified client certificate (profile 3), Basic auth over
    // TLS (2) or over plain ws (1), or nothing (0).
    auto basic = parse_basic_auth(std::string_view(req[http::field::authorization]));
    int offered = 0;
    if constexpr (kTls) {
      if (const auto cn = verified_client_cn(stream_.native_handle())) {
        if (*cn != charger_id_) {
          auth_failed();
          return refuse(http::status::unauthorized, "certificate_mismatch",
                        "the client certificate's CN is not the charger id");
        }
        offered = 3;
      } else if (basic) {
        offered = 2;
      }
    } else if (basic) {
      offered = 1;
    }
    if ((offered == 1 || offered == 2) && basic->user != charger_id_) {
      auth_failed();
      return refuse(http::status::unauthorized, "unauthorized",
                    "the Basic-auth user name must be the charger id");
    }
    auto self = this->shared_from_this();
    ctx_.credentials.admit(
        charger_id_, offered, basic ? basic->password : std::string(),
        [held = ctx_.outside_calls.hold(std::move(self)), offered](Admission a) mutable {
          auto session = std::move(held.value);
          auto executor = session->stream_.get_executor();
          net::post(executor,
                    [self = std::move(session), offered, a] { self->on_admission(offered, a); });
        });
  }

  void on_admission(int offered, const Admission& a) {
    switch (a.verdict) {
      case CredentialVerdict::kAccepted:
        profile_ = offered;
        // A charger proven by its certificate is never locked out (verified_client_certificate):
        // its own address need not be remembered, and 15,000 of them would keep ~1.3 MB for it.
        if (ctx_.auth_throttle != nullptr && offered != 3) {
          ctx_.auth_throttle->succeeded(charger_id_, address_of(remote_));
        }
        return accept();
      case CredentialVerdict::kUnknownCharger:
        auth_failed();
        return refuse(http::status::not_found, "unknown_charger", "unknown charger " + charger_id_);
      case CredentialVerdict::kWrongPassword:
        auth_failed();
        return refuse(http::status::unauthorized, "unauthorized", "wrong credentials");
      case CredentialVerdict::kUnavailable:
        return refuse(http::status::service_unavailable, "credentials_unavailable",
                      "charger credentials cannot be checked now; retry later");
      case CredentialVerdict::kWrongSecurityProfile: {
        auth_failed();
        static constexpr const char* kHow[] = {"no authentication", "HTTP Basic over ws",
                                               "TLS and HTTP Basic",
                                               "TLS with a client certificate"};
        const int p = a.required_profile;
        return refuse(http::status::unauthorized, "wrong_security_profile",
                      "charger " + charger_id_ + " uses security profile " + std::to_string(p) +
                          (p >= 0 && p <= 3 ? std::string(" (") + kHow[p] + ")" : std::string()));
      }
    }
  }

  void accept() {
    const auto version = ocpp::version_from_subprotocol(protocol_).value_or(ocpp::Version::k16);
    deadline_.cancel();  // the sweep's timeouts take over
    const auto& req = parser_->get();
    auto response =
        switching_protocols(std::string_view(req[http::field::sec_websocket_key]), protocol_);
    const auto early = buffer_.cdata();
    upgraded_ = true;
    auto session = std::make_shared<ChargerSession<Stream>>(
        std::move(stream_), worker_, ctx_, charger_id_, version, protocol_, profile_, remote_);
    session->start(std::move(response),
                   std::string_view(static_cast<const char*>(early.data()), early.size()));
  }

  // A TLS client certificate that verified (profile 3) proves the charger without a password:
  // lockouts, made against password guessing, do not apply to it.
  bool verified_client_certificate() {
    if constexpr (kTls) {
      return verified_client_cn(stream_.native_handle()).has_value();
    } else {
      return false;
    }
  }

  // Counts a failed authentication; logs and counts the lockout it may start.
  void auth_failed() {
    if (ctx_.auth_throttle == nullptr) return;
    const auto address = address_of(remote_);
    auto lock = ctx_.auth_throttle->failed(charger_id_, address);
    if (!lock) return;
    const std::string_view key = lock->key == ThrottleKey::kCharger ? "charger" : "address";
    ctx_.metrics.auth_lockout(key);
    log::warn("authentication locked out after repeated failures",
              {{"key", key},
               {"charger_id", charger_id_},
               {"remote_address", address},
               {"failures", lock->failures},
               {"lockout_s", static_cast<std::int64_t>(lock->retry_after.count())}});
  }

  // A source address past its share of the pod's new connections: a flood, or many chargers
  // behind one NAT (then the share is too small). Once a minute per address; the metric counts
  // every refusal.
  void report_address_over_share(const AdmissionRefusal& refused) {
    log::warn("a source address is over its share of new connections; refusing its surplus",
              {{"remote_address", address_of(remote_)},
               {"retry_after_s", static_cast<std::int64_t>(refused.retry_after.count())},
               {"share", ctx_.config.admission_address_share}});
  }

  // The session of a connection that is not let in leaves the cache: at once when it is refused,
  // before the refusal is written (a charger that reconnects the moment it reads the answer
  // must not find it), else when the handshake ends.
  void forget_tls_session() {
    if constexpr (kTls) {
      if (tls_done_ && !session_forgotten_) {
        session_forgotten_ = true;
        if (const long left = forget_session(stream_.native_handle()); left >= 0) {  // NOLINT
          ctx_.metrics.tls_cached_sessions(left);
        }
      }
    }
  }

  void refuse(http::status status, std::string_view reason, std::string body) {
    forget_tls_session();
    ctx_.metrics.handshake_refused(reason);
    // A storm (or flood) refused for overload would write a line per charger: the metric
    // counts those.
    log::write(reason.starts_with("overloaded") ? log::Level::kDebug : log::Level::kInfo,
               "upgrade refused",
               {{"charger_id", charger_id_},
                {"remote", remote_},
                {"status", static_cast<int>(status)},
                {"reason", reason},
                {"detail", body}});
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "switchyard");
    res->set(http::field::content_type, "text/plain; charset=utf-8");
    if (status == http::status::unauthorized)
      res->set(http::field::www_authenticate, "Basic realm=\"switchyard\"");
    if (status == http::status::service_unavailable) res->set(http::field::retry_after, "5");
    if (retry_after_) res->set(http::field::retry_after, std::to_string(retry_after_->count()));
    if (websocket_version_required_) res->set(http::field::sec_websocket_version, "13");
    res->body() = std::move(body) + "\n";
    res->keep_alive(false);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code, std::size_t) {
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
                      });
  }

  std::optional<std::chrono::seconds> retry_after_;  // of a lockout or overload refusal
  bool websocket_version_required_ = false;          // a 426 names the version we speak
  Stream stream_;
  Worker& worker_;
  GatewayContext& ctx_;
  net::steady_timer deadline_;  // the handshake's (see run())
  bool timed_out_ = false;
  bool tls_done_ = false;           // the TLS handshake completed
  bool upgraded_ = false;           // the stream went on to a ChargerSession
  bool session_forgotten_ = false;  // its TLS session left the cache
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::string remote_;
  std::string charger_id_;
  std::string protocol_;
  int profile_ = 0;
};

}  // namespace

// -- listeners ----------------------------------------------------------------------------

Result<void> Connections::Impl::listen(int port, bool tls_port, int& bound) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(ctx.config.listen_address, ec);
  if (ec)
    return make_error(ErrorCode::kInvalidArgument,
                      "bad listen address " + ctx.config.listen_address);
  for (int i = 0; i < listen_sockets; ++i) {
    // SO_REUSEPORT: several acceptors on the same port (listen_sockets.h), spread over the
    // threads; the kernel spreads the connections over them.
    Worker* worker = workers[static_cast<std::size_t>(i) % workers.size()].get();
    auto acceptor = std::make_unique<ChargerAcceptor>(worker->ioc);
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(bound != 0 ? bound : port));
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) {
      using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
      acceptor->set_option(reuse_port(true), ec);
    }
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(ctx.config.listen_backlog, ec);
    if (!ec) acceptor->non_blocking(true, ec);  // accept() drains the queue (see accept<>)
    if (ec) {
      return make_error(
          ec == net::error::address_in_use ? ErrorCode::kAlreadyExists : ErrorCode::kUnavailable,
          std::string(tls_port ? "wss" : "ws") + " port " + ctx.config.listen_address + ":" +
              std::to_string(endpoint.port()) + ": " + ec.message());
    }
    bound = acceptor->local_endpoint().port();
    if (tls_port) {
      accept<true>(*worker, *acceptor);
    } else {
      accept<false>(*worker, *acceptor);
    }
    worker->acceptors.push_back(std::move(acceptor));
  }
  return {};
}

template <bool Tls>
void Connections::Impl::accept(Worker& worker, ChargerAcceptor& acceptor) {
  acceptor.async_accept(worker.ioc,
                        [this, &worker, &acceptor](beast::error_code ec, ChargerSocket socket) {
                          if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
                          if (ec) {
                            log::warn("accept failed", {{"error", ec.message()}});
                          } else {
                            start_handshake<Tls>(worker, std::move(socket));
                            ctx.metrics.accept_burst(1 + take_queued<Tls>(worker, acceptor));
                          }
                          if (accepting) accept<Tls>(worker, acceptor);
                        });
}

// One accept per turn of the loop lets a storm overflow the accept queue while the turns are
// long (TLS handshakes, boots), and the kernel drops what overflows: those chargers' SYNs are
// retried only after 1, 3, 7, 15 s. So a wakeup also takes what else is queued, up to a bound;
// the acceptor is non-blocking, would_block ends it (any other error, the async accept reports).
template <bool Tls>
std::size_t Connections::Impl::take_queued(Worker& worker, ChargerAcceptor& acceptor) {
  std::size_t taken = 0;
  while (taken + 1 < kAcceptBurst && accepting) {
    ChargerSocket next(worker.ioc);
    beast::error_code ec;
    acceptor.accept(next, ec);
    if (ec) break;
    start_handshake<Tls>(worker, std::move(next));
    ++taken;
  }
  return taken;
}

template <bool Tls>
void Connections::Impl::start_handshake(Worker& worker, ChargerSocket socket) {
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if constexpr (Tls) {
    std::make_shared<Handshake<TlsStream>>(TlsStream(std::move(socket), *current_tls()), worker,
                                           ctx)
        ->run();
  } else {
    std::make_shared<Handshake<PlainStream>>(PlainStream(std::move(socket)), worker, ctx)->run();
  }
}

void Connections::Impl::watch_tls_files() {
  tls_timer->expires_after(ctx.config.tls_reload_interval);
  tls_timer->async_wait([this](beast::error_code ec) {
    if (ec) return;
    if (tls_files->changed()) reload_tls();
    watch_tls_files();
  });
}

void Connections::Impl::reload_tls() {
  auto fresh = make_server_tls(ctx.config);
  if (!fresh) {
    // A half-written set (the certificate before its key) fails too: the next change retries.
    ctx.metrics.tls_loaded("failed");
    log::error("tls files changed but cannot be loaded; the current ones stay in use",
               {{"error", fresh.error().message}});
    return;
  }
  log_certificates("tls files reloaded; new connections use them", *fresh);
  if (!ctx.config.tls_client_ca.empty()) {
    log::info("tls client CA reloaded", {{"client_ca", ctx.config.tls_client_ca}});
  }
  use_tls(std::move(*fresh));
  ctx.metrics.tls_loaded("ok");
}

Connections::Connections(GatewayContext& context) : impl_(std::make_unique<Impl>(context)) {}

Connections::~Connections() { stop(); }

Result<void> Connections::start() {
  const GatewayConfig& c = impl_->ctx.config;
  const int threads = c.threads > 0
                          ? c.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) impl_->workers.push_back(std::make_unique<Worker>());
  impl_->accepting = true;
  if (c.ws_port > 0 || c.wss_port > 0) {
    impl_->listen_sockets = plan_listen_sockets(threads, c.listen_backlog);
  }
  if (c.ws_port > 0) {
    if (auto r = impl_->listen(c.ws_port, false, impl_->ws_port); !r) return r;
  }
  if (c.wss_port > 0 && !(c.tls_certificate.empty() && c.tls_second_certificate.empty())) {
    auto tls = make_server_tls(c);
    if (!tls) return std::unexpected(tls.error());
    log_certificates("tls listener's certificates", *tls);
    if (const std::string missing = tls->missing_key_type(); !missing.empty()) {
      log::warn("no " + missing +
                    " server certificate: the OCPP suites that need one cannot be negotiated "
                    "(give it with --tls-second-certificate; the chart: gateway.tls.second)",
                {{"missing", missing}});
    }
    impl_->use_tls(std::move(*tls));
    impl_->ctx.metrics.tls_loaded("ok");
    if (auto r = impl_->listen(c.wss_port, true, impl_->wss_port); !r) return r;
    if (c.tls_reload_interval.count() > 0) {
      impl_->tls_files = std::make_unique<FileWatch>(server_tls_files(c));
      impl_->tls_timer = std::make_unique<net::steady_timer>(impl_->workers.front()->ioc);
      impl_->watch_tls_files();
    }
  }
  // Often enough for the idle timeout's ping at half and for the close timeout.
  const auto sweep = std::clamp<Steady::duration>(
      std::min<Steady::duration>(c.idle_timeout.count() > 0
                                     ? c.idle_timeout / 8
                                     : Steady::duration(std::chrono::seconds(1)),
                                 c.handshake_timeout / 4),
      std::chrono::milliseconds(50), std::chrono::seconds(1));
  // Kafka's delivery reports on the first I/O thread instead of a thread of their own: an
  // acknowledgement then wakes one thread fewer, and its answer is posted within the thread
  // (to its own sessions).
  if (auto fd = impl_->ctx.publisher.take_deliveries()) {
    impl_->deliveries =
        std::make_unique<net::posix::stream_descriptor>(impl_->workers.front()->ioc, *fd);
    impl_->serve_deliveries();
  }
  for (std::size_t i = 0; i < impl_->workers.size(); ++i) {
    Worker* worker = impl_->workers[i].get();
    worker->metrics = &impl_->ctx.metrics;
    worker->sweep_every(sweep);
    worker->work.emplace(worker->ioc.get_executor());
    // The connections the thread's sweep visits: those it serves (gone ones leave at the
    // next sweep).
    Coalescing coalescing(c.io_coalesce, static_cast<std::size_t>(c.io_coalesce_from_connections),
                          [worker] { return worker->swept.size(); });
    worker->thread = std::thread([worker, i, coalescing = std::move(coalescing)] {
      name_this_thread("io-" + std::to_string(i));
      run_in_rounds(worker->ioc, coalescing,
                    [worker](const IoRound& round) { worker->io_tally.add(round); });
    });
  }
  return {};
}

void Connections::Impl::serve_deliveries() {
  deliveries->async_wait(net::posix::stream_descriptor::wait_read,
                         [this](const boost::system::error_code& ec) {
                           if (ec) return;  // stopped
                           ctx.publisher.serve_deliveries();
                           serve_deliveries();
                         });
}

void Connections::stop_accepting() {
  impl_->accepting = false;
  for (auto& worker : impl_->workers) {
    net::post(worker->ioc, [w = worker.get()] {
      for (auto& a : w->acceptors) {
        beast::error_code ec;
        a->close(ec);
      }
    });
  }
}

void Connections::stop() {
  // Workers that a late callback may still reach stay allocated, never freed under it.
  const auto keep_workers_allocated = [this] {
    for (auto& worker : impl_->workers) static_cast<void>(worker.release());
    impl_->workers.clear();
  };
  for (auto& worker : impl_->workers) {
    worker->work.reset();
    worker->ioc.stop();
  }
  for (auto& worker : impl_->workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  // Every event published gets its callback, which goes to its worker's Acknowledgements: the
  // drain waited for them, but a publisher that still holds some (Kafka unreachable past the
  // drain) would call into a freed worker. Wait for them here (flush() also runs waiting
  // delivery reports on this thread); a worker whose callbacks never came is kept, not freed.
  if (impl_->ctx.publisher.in_flight() > 0 &&
      !impl_->ctx.publisher.flush(std::chrono::seconds(30))) {
    log::error("events still in flight when the gateway stops: its workers stay allocated",
               {{"in_flight", static_cast<std::int64_t>(impl_->ctx.publisher.in_flight())}});
    keep_workers_allocated();
  }
  // Likewise the callbacks of calls to Redis and the gRPC services: each holds a session and
  // posts to its io_context. They come within the services' timeouts.
  if (const std::size_t calls = impl_->ctx.outside_calls.in_flight();
      calls > 0 && !impl_->workers.empty()) {
    log::info("waiting for the answers of redis and grpc calls before stopping",
              {{"calls", static_cast<std::int64_t>(calls)}});
    if (!impl_->ctx.outside_calls.wait_idle(std::chrono::seconds(30))) {
      log::error(
          "redis or grpc calls still unanswered when the gateway stops: its workers stay "
          "allocated",
          {{"calls", static_cast<std::int64_t>(impl_->ctx.outside_calls.in_flight())}});
      keep_workers_allocated();
    }
  }
  impl_->forget_deliveries();  // on the first worker's io_context
  impl_->tls_timer.reset();    // on it too: it must go before the io_context does
  // The sessions still registered (a charger that connected during the drain) go while every
  // worker is there; then every worker's pending handlers, before any worker is freed:
  // destroying one may drop the last hold on a session of another worker, whose socket then
  // deregisters from that worker's reactor.
  if (!impl_->workers.empty()) impl_->ctx.sessions.take_all().clear();
  for (auto& worker : impl_->workers) worker->ioc.shut_down();
  impl_->workers.clear();
}

int Connections::ws_port() const { return impl_->ws_port; }
int Connections::wss_port() const { return impl_->wss_port; }

}  // namespace switchyard::gateway

// One simulated charger: its WebSocket connection (ws or wss), the OCPP CALLs it sends as its
// profile says, the answers it gives to the server's CALLs, and its timers. It lives on its
// worker's thread for the whole run; every asynchronous handler checks the connection
// generation it was started for, so a handler of a closed connection does nothing.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/ocpp/types.h"
#include "common/runtime/websocket/protocol.h"
#include "loadgen/frames.h"
#include "loadgen/worker.h"

namespace switchyard::loadgen {

namespace ws = ::switchyard::websocket;

// The SSL ex_data slot that points from a connection's SSL object to its charger.
int ssl_charger_index();

class Charger {
 public:
  Charger(Worker& worker, std::uint64_t ordinal);
  ~Charger();
  Charger(const Charger&) = delete;
  Charger& operator=(const Charger&) = delete;

  void start();                        // first connection
  void go();                           // saturate / rate: the measured phase begins
  void drop();                         // storm: lose the connection, reconnect with back-off
  void finish();                       // close the connection for good
  void sweep(Steady::time_point now);  // CALLs past --call-timeout

  const std::string& id() const { return id_; }
  // Called by the TLS new-session callback (resumption).
  void keep_tls_session(SSL_SESSION* session);

 private:
  enum class State : std::uint8_t { kIdle, kConnecting, kOpen, kClosing, kDone };

  struct Outstanding {
    std::uint64_t seq;
    Action action;
    std::uint8_t kind;         // as QueuedCall's
    Steady::time_point start;  // send time, or the intended send time (rate)
  };
  // A CALL waiting for the previous one to be answered (one CALL in flight, as OCPP wants).
  struct QueuedCall {
    Action action;
    std::uint8_t connector;
    std::uint8_t kind;  // a status, a TransactionEvent type or a meter value context (see .cpp)
  };

  struct Connection;
  using ConnectionPtr = std::shared_ptr<Connection>;

  void connect();
  void on_tcp(const ConnectionPtr& c, boost::system::error_code ec);
  void upgrade(const ConnectionPtr& c);
  void read_upgrade(const ConnectionPtr& c);
  void on_upgrade(const ConnectionPtr& c, const ws::UpgradeResponse& response);
  // With --url-failover (and more than one --url), the next reconnect goes to the next --url.
  bool can_fail_over() const;
  void fail_over();
  void fail_connect(std::uint64_t ErrorCounts::*kind);
  void lost(const ConnectionPtr& c, boost::system::error_code ec);
  void close_now();
  void closed_for_good();
  void schedule_reconnect(Steady::duration delay);
  void storm_progress();

  void read(const ConnectionPtr& c);
  void process_frames(const ConnectionPtr& c);
  void on_frame(std::string_view text);
  void on_answer(std::size_t slot, const FrameView& frame, bool is_error);
  void on_server_call(const FrameView& frame);
  void on_booted();
  void log_answer(const Outstanding& call, const FrameView& frame, bool is_error);

  void send_text(std::string_view text);
  void send_control(std::uint8_t opcode, std::string_view payload);
  void write_next(const ConnectionPtr& c);
  void send_call(Action action, std::uint8_t connector, std::uint8_t kind,
                 Steady::time_point start);
  void enqueue(Action action, std::uint8_t connector = 0, std::uint8_t kind = 0);
  void pump();  // sends what is due: the next queued CALL, saturate's next, rate's schedule
  void pump_rate(Steady::time_point now);
  void arm_timer();
  void on_timer();
  void plan_fleet(Steady::time_point now);
  Steady::duration heartbeat_interval() const;
  std::string transaction_id_201() const;  // this session's 2.0.1 transactionId
  void fleet_due(Steady::time_point now);

  Worker& worker_;
  std::uint64_t ordinal_;  // 0..chargers-1 in this run
  std::uint64_t index_;    // ordinal + --first-index: the id's number
  std::string id_;
  ocpp::Version version_;
  std::uint16_t target_;
  std::uint16_t source_;
  State state_ = State::kIdle;
  std::uint32_t gen_ = 0;
  bool booted_ = false;
  bool timed_out_ = false;
  bool in_storm_ = false;              // dropped by the storm, not recovered yet
  std::uint8_t statuses_pending_ = 0;  // StatusNotifications after boot not yet answered
  // The open (or opening) connection; its pending operations hold it too, so it outlives a
  // drop until they have completed.
  ConnectionPtr conn_;
  SSL_SESSION* tls_session_ = nullptr;
  std::shared_ptr<const ClientCredential> credential_;  // per-charger certificate, once read
  std::vector<Outstanding> outstanding_;
  std::vector<QueuedCall> queue_;
  boost::asio::steady_timer timer_;
  Steady::time_point connect_start_;
  Steady::time_point tls_start_;
  std::uint64_t seq_ = 0;

  // Activity (fleet, idle, rate).
  Steady::time_point next_heartbeat_ = Steady::time_point::max();
  Steady::time_point next_meter_ = Steady::time_point::max();
  Steady::time_point next_idle_meter_ = Steady::time_point::max();
  Steady::time_point next_aligned_ = Steady::time_point::max();
  Steady::time_point next_session_ = Steady::time_point::max();
  Steady::time_point session_end_ = Steady::time_point::max();
  Steady::time_point retry_boot_ = Steady::time_point::max();
  Steady::time_point rate_next_ = Steady::time_point::max();
  enum class Session : std::uint8_t { kNone, kAuthorizing, kStarting, kCharging, kStopping };
  Session session_ = Session::kNone;
  std::uint8_t session_connector_ = 1;
  std::int64_t meter_wh_ = 0;
  std::int64_t session_start_wh_ = 0;  // the meter when the session's start was sent
  bool session_start_acked_ = false;   // its start got a CALLRESULT
  std::int64_t transaction_16_ = 0;
  std::uint32_t transactions_ = 0;
  std::int64_t seq_no_ = 0;
  std::uint64_t rate_k_ = 0;
  Steady::duration heartbeat_interval_ = std::chrono::seconds(300);  // from the boot answer
};

}  // namespace switchyard::loadgen

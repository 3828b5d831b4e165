// Keeps gRPC's callback-API pollers polling while a process is idle.
//
// gRPC 1.51 on Linux has no background poller: callbacks (server reactors, callback-stub
// completions) are run by two "nexting" threads that wait for a completion for one second and,
// when none came, sleep 100 ms without polling. A request or an answer that arrives during that
// sleep waits for its end: up to 100 ms added to the first RPC after a second of quiet (seen as a
// 40-90 ms stall of the first command through an idle gateway pod). One cheap in-process call
// every `period` (< 1 s) hands one of them a completion before its wait runs out, so at least
// one of the two is always polling (each may still sleep, never both at once).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

namespace grpc {
class Server;
}

namespace switchyard {

class CallbackPolling {
 public:
  // `server` must have the default health check service (grpc::EnableDefaultHealthCheckService)
  // and outlive this object; destroy this before shutting the server down.
  explicit CallbackPolling(grpc::Server& server,
                           std::chrono::milliseconds period = std::chrono::milliseconds(250));
  ~CallbackPolling();
  CallbackPolling(const CallbackPolling&) = delete;
  CallbackPolling& operator=(const CallbackPolling&) = delete;

  // Keep-awake calls answered so far, and those of them the health service answered OK (a
  // server without it answers UNIMPLEMENTED: still a completion, but a setup mistake).
  std::uint64_t calls() const { return calls_.load(); }
  std::uint64_t calls_ok() const { return calls_ok_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> calls_ok_{0};
  std::jthread thread_;
};

}  // namespace switchyard

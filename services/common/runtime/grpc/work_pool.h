// Blocking work for gRPC callback handlers: a database-backed RPC hands its body to this pool
// and finishes its reactor from there, so gRPC's own threads never wait on SQL. The queue is
// bounded: past it a call fails at once with RESOURCE_EXHAUSTED instead of piling up.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace switchyard {

class WorkPool {
 public:
  explicit WorkPool(int threads, std::size_t max_queue = 10000);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // False when the queue is full or the pool is closed (the task is not run).
  bool post(std::move_only_function<void()> task);
  // Takes no more tasks and returns once those queued and running are done: before what the
  // tasks use goes away (the destructor also runs what is queued).
  void close_and_drain();

 private:
  std::size_t max_queue_;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  std::condition_variable_any idle_;
  bool closed_ = false;
  int running_ = 0;
  std::deque<std::move_only_function<void()>> tasks_;
  std::vector<std::jthread> threads_;
};

// Runs `body` (returning grpc::Status) on the pool and finishes the call with its status.
template <typename Body>
grpc::ServerUnaryReactor* run_blocking(grpc::CallbackServerContext* context, WorkPool& pool,
                                       Body body) {
  auto* reactor = context->DefaultReactor();
  if (!pool.post([reactor, body = std::move(body)]() mutable { reactor->Finish(body()); })) {
    reactor->Finish({grpc::StatusCode::RESOURCE_EXHAUSTED, "server busy: too many calls queued"});
  }
  return reactor;
}

}  // namespace switchyard

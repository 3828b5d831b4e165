// One in-process health check per period on gRPC's callback API (see callback_polling.h).
#include "common/runtime/grpc/callback_polling.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "common/runtime/core/thread_name.h"

namespace switchyard {

struct CallbackPolling::Impl {
  std::shared_ptr<grpc::Channel> channel;
  grpc::GenericStub stub;
  std::mutex mutex;
  std::condition_variable_any wake;

  explicit Impl(grpc::Server& server)
      : channel(server.InProcessChannel(grpc::ChannelArguments())), stub(channel) {}

  // One call; returns once it completed (its deadline bounds the wait).
  void call() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::Slice empty("");  // HealthCheckRequest{service: ""}: the server as a whole
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    std::promise<void> done;
    auto finished = done.get_future();
    stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                   &response, [&done](const grpc::Status&) { done.set_value(); });
    finished.wait();
  }
};

CallbackPolling::CallbackPolling(grpc::Server& server, std::chrono::milliseconds period)
    : impl_(std::make_unique<Impl>(server)) {
  thread_ = std::jthread([this, period](const std::stop_token& stop) {
    name_this_thread("grpc-keepawake");
    while (!stop.stop_requested()) {
      impl_->call();
      ++calls_;
      std::unique_lock lock(impl_->mutex);
      impl_->wake.wait_for(lock, stop, period, [] { return false; });
    }
  });
}

CallbackPolling::~CallbackPolling() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace switchyard

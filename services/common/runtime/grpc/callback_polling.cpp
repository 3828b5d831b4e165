// One in-process health check per period on gRPC's callback API (see callback_polling.h).
#include "common/runtime/grpc/callback_polling.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>

#include "common/runtime/core/log.h"
#include "common/runtime/core/thread_name.h"

namespace switchyard {

struct CallbackPolling::Impl {
  std::shared_ptr<grpc::Channel> channel;
  grpc::GenericStub stub;
  std::mutex mutex;
  std::condition_variable_any wake;

  explicit Impl(grpc::Server& server)
      : channel(server.InProcessChannel(grpc::ChannelArguments())), stub(channel) {}

  // One call: its status once it completed, or nullopt when it did not complete within its
  // deadline and a second more (the callback then only drops its share of the state).
  std::optional<grpc::Status> call() {
    struct Call {
      grpc::ClientContext context;
      grpc::ByteBuffer request;
      grpc::ByteBuffer response;
      std::promise<grpc::Status> done;
    };
    auto state = std::make_shared<Call>();
    state->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::Slice empty("");  // HealthCheckRequest{service: ""}: the server as a whole
    state->request = grpc::ByteBuffer(&empty, 1);
    auto finished = state->done.get_future();
    stub.UnaryCall(&state->context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                   &state->request, &state->response,
                   [state](const grpc::Status& status) { state->done.set_value(status); });
    if (finished.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
      return std::nullopt;
    }
    return finished.get();
  }
};

CallbackPolling::CallbackPolling(grpc::Server& server, std::chrono::milliseconds period)
    : impl_(std::make_unique<Impl>(server)) {
  thread_ = std::jthread([this, period](const std::stop_token& stop) {
    name_this_thread("grpc-keepawake");
    bool warned = false;
    while (!stop.stop_requested()) {
      const auto status = impl_->call();
      if (status) {
        ++calls_;
        if (status->ok()) ++calls_ok_;
      }
      if (!warned && (!status || !status->ok())) {
        warned = true;  // once: it repeats every period
        log::warn("gRPC keep-awake health check failed; the callback pollers may idle",
                  {{"error", status ? status->error_message() : "no answer within 2 s"}});
      }
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

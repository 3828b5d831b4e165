// ChargerControl RPCs on gRPC's callback API; each call owns its context and messages until
// its callback has run.
#include "loadgen/commands.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>

#include "common/runtime/core/log.h"
#include "common/runtime/grpc/status.h"
#include "loadgen/assignment.h"
#include "switchyard/v1/charger_control.grpc.pb.h"

namespace switchyard::loadgen {
namespace {

using Steady = std::chrono::steady_clock;

// How long the driver waits for its channel before the run (a wrong --grpc-target shows as
// UNAVAILABLE answers after this, not as a stalled start).
constexpr std::chrono::seconds kConnectWait{5};

}  // namespace

void CommandResults::record(std::uint64_t latency_ns, double sent_at_s,
                            const std::string& outcome) {
  latency.record(latency_ns);
  ++outcomes[outcome];
  if (latency_ns > slowest_ns) {
    slowest_ns = latency_ns;
    slowest_sent_at_s = sent_at_s;
  }
}

struct CommandDriver::Impl {
  const LoadgenConfig& config;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::ChargerControl::Stub> stub;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::mutex mutex;  // guards results and in_flight (callbacks run on gRPC's threads)
  std::condition_variable idle;
  std::int64_t in_flight = 0;
  CommandResults results;
  Steady::time_point first_due;  // when the first RPC is due; set before the loop starts

  explicit Impl(const LoadgenConfig& c)
      : config(c),
        channel(grpc::CreateChannel(c.grpc_target, grpc::InsecureChannelCredentials())),
        stub(v1::ChargerControl::NewStub(channel)) {
    const auto asked = Steady::now();
    results.channel_ready =
        channel->WaitForConnected(std::chrono::system_clock::now() + kConnectWait);
    results.channel_connect_ms =
        std::chrono::duration<double, std::milli>(Steady::now() - asked).count();
    if (!results.channel_ready) {
      log::warn("gRPC channel not connected; the first RPCs wait for it",
                {{"target", c.grpc_target},
                 {"waited_ms", static_cast<std::int64_t>(results.channel_connect_ms)}});
    }
  }

  template <typename Request, typename Response, typename Invoke>
  void call(Request request, Invoke invoke) {
    struct Call {
      grpc::ClientContext context;
      Request request;
      Response response;
      Steady::time_point start;
    };
    auto owned = std::make_unique<Call>();
    owned->request = std::move(request);
    owned->start = Steady::now();
    owned->context.set_deadline(std::chrono::system_clock::now() + config.call_timeout);
    {
      std::lock_guard lock(mutex);
      ++in_flight;
      ++results.sent;
    }
    // The callback owns the call from here on; it may run on a gRPC thread before invoke returns.
    Call* raw = owned.release();
    std::function<void(grpc::Status)> done = [this, raw](const grpc::Status& status) {
      const std::unique_ptr<Call> finished(raw);
      const auto ns = (Steady::now() - finished->start).count();
      const double sent_at = std::chrono::duration<double>(finished->start - first_due).count();
      std::lock_guard lock(mutex);
      results.record(static_cast<std::uint64_t>(ns), sent_at,
                     std::string(grpc_code_name(status.error_code())));
      if (--in_flight == 0) idle.notify_all();
    };
    invoke(*stub->async(), &raw->context, &raw->request, &raw->response, std::move(done));
  }

  void send(std::uint64_t k) {
    const std::uint64_t ordinal = k % static_cast<std::uint64_t>(config.chargers);
    const std::string id =
        charger_id(config.id_prefix, ordinal + static_cast<std::uint64_t>(config.first_index),
                   config.id_width);
    if (config.command == "TriggerMessage") {
      v1::TriggerMessageRequest r;
      r.set_charger_id(id);
      r.set_requested_message("Heartbeat");
      call<v1::TriggerMessageRequest, v1::TriggerMessageResponse>(
          std::move(r), [](auto& api, auto* ctx, auto* req, auto* resp, auto cb) {
            api.TriggerMessage(ctx, req, resp, std::move(cb));
          });
    } else if (config.command == "DataTransfer") {
      v1::DataTransferRequest r;
      r.set_charger_id(id);
      r.set_vendor_id("switchyard.loadgen");
      r.set_message_id("ping");
      call<v1::DataTransferRequest, v1::DataTransferResponse>(
          std::move(r), [](auto& api, auto* ctx, auto* req, auto* resp, auto cb) {
            api.DataTransfer(ctx, req, resp, std::move(cb));
          });
    } else if (config.command == "ChangeAvailability") {
      v1::ChangeAvailabilityRequest r;
      r.set_charger_id(id);
      r.set_operative(true);
      call<v1::ChangeAvailabilityRequest, v1::ChangeAvailabilityResponse>(
          std::move(r), [](auto& api, auto* ctx, auto* req, auto* resp, auto cb) {
            api.ChangeAvailability(ctx, req, resp, std::move(cb));
          });
    } else if (config.command == "Reset") {
      v1::ResetRequest r;
      r.set_charger_id(id);
      call<v1::ResetRequest, v1::ResetResponse>(
          std::move(r), [](auto& api, auto* ctx, auto* req, auto* resp, auto cb) {
            api.Reset(ctx, req, resp, std::move(cb));
          });
    } else {
      v1::GetConnectionRequest r;
      r.set_charger_id(id);
      call<v1::GetConnectionRequest, v1::GetConnectionResponse>(
          std::move(r), [](auto& api, auto* ctx, auto* req, auto* resp, auto cb) {
            api.GetConnection(ctx, req, resp, std::move(cb));
          });
    }
  }

  void loop() {
    const double period_ns = 1e9 / config.command_rate;
    for (std::uint64_t k = 0; !stopping.load(); ++k) {
      const auto due =
          first_due +
          std::chrono::nanoseconds(static_cast<std::int64_t>(period_ns * static_cast<double>(k)));
      std::this_thread::sleep_until(due);
      if (stopping.load()) break;
      send(k);
    }
  }
};

CommandDriver::CommandDriver(const LoadgenConfig& config) : impl_(std::make_unique<Impl>(config)) {}

CommandDriver::~CommandDriver() { stop(); }

void CommandDriver::start() {
  impl_->first_due = Steady::now();  // before the thread: the callbacks read it unlocked
  impl_->thread = std::thread([this] { impl_->loop(); });
}

void CommandDriver::stop() {
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  std::unique_lock lock(impl_->mutex);
  impl_->idle.wait_for(lock, impl_->config.call_timeout + std::chrono::seconds(1),
                       [this] { return impl_->in_flight == 0; });
}

CommandResults CommandDriver::results() {
  std::lock_guard lock(impl_->mutex);
  return impl_->results;
}

}  // namespace switchyard::loadgen

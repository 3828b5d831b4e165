// CallbackPolling: in-process health checks on the callback API until it is destroyed.
#include "common/runtime/grpc/callback_polling.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace switchyard {
namespace {

// A callback service (as every service here has) and the health service; no port: reached
// through its in-process channel only.
struct InProcessServer {
  InProcessServer() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.RegisterCallbackGenericService(&generic);
    server = builder.BuildAndStart();
  }
  ~InProcessServer() {
    if (server) server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  grpc::CallbackGenericService generic;  // answers UNIMPLEMENTED to anything else
  std::unique_ptr<grpc::Server> server;
};

TEST(CallbackPolling, CallsTheServerEveryPeriodUntilDestroyed) {
  InProcessServer in_process;
  ASSERT_NE(in_process.server, nullptr);
  grpc::Server& server = *in_process.server;
  std::uint64_t answered = 0;
  std::uint64_t healthy = 0;
  {
    CallbackPolling polling(server, std::chrono::milliseconds(5));
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (polling.calls() < 3 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    answered = polling.calls();
    healthy = polling.calls_ok();
  }  // joins its thread: nothing runs after this
  EXPECT_GE(answered, 3u);
  EXPECT_EQ(healthy, answered);  // the health service answered each: the method and body are right
}

TEST(CallbackPolling, StopsWithoutWaitingOutItsPeriod) {
  InProcessServer in_process;
  ASSERT_NE(in_process.server, nullptr);
  grpc::Server& server = *in_process.server;
  auto polling = std::make_unique<CallbackPolling>(server, std::chrono::hours(1));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (polling->calls() < 1 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(polling->calls(), 1u);
  const auto asked = std::chrono::steady_clock::now();
  polling.reset();  // an hour's wait is cut short by the stop request
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(5));
}

}  // namespace
}  // namespace switchyard

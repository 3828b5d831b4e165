// Signals, HTTP side port and gRPC server of a Switchyard binary.
#include "common/runtime/process/process.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/impl/server_initializer.h>
#include <prometheus/registry.h>

#include <csignal>

#include "common/runtime/grpc/callback_polling.h"

namespace switchyard {

struct Process::Impl {
  sigset_t signals{};
  prometheus::Registry registry;
  http::Health health;
  std::unique_ptr<http::Server> http;
  std::unique_ptr<grpc::Server> grpc;
  std::unique_ptr<CallbackPolling> polling;  // after grpc: destroyed first
};

Process::Process() : impl_(std::make_unique<Impl>()) {
  // A peer gone while we write (a TLS 1.3 session ticket to a client that closed right after
  // its handshake) is EPIPE on that socket, not SIGPIPE's default: ending the process.
  std::signal(SIGPIPE, SIG_IGN);
  // Every thread created after this inherits the mask; wait_for_signal() takes them.
  sigemptyset(&impl_->signals);
  sigaddset(&impl_->signals, SIGTERM);
  sigaddset(&impl_->signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &impl_->signals, nullptr);
}

Process::~Process() {
  impl_->polling.reset();  // before the server shuts down (callback_polling.h)
  if (impl_->grpc) impl_->grpc->Shutdown(std::chrono::system_clock::now());
  if (impl_->http) impl_->http->stop();
}

prometheus::Registry& Process::metrics() { return impl_->registry; }
http::Health& Process::health() { return impl_->health; }

http::Server& Process::http(const std::string& address, int port) {
  if (!impl_->http) {
    http::ServerConfig config;
    config.address = address;
    config.port = port;
    config.threads = 2;
    impl_->http = std::make_unique<http::Server>(config);
    http::add_observability_routes(*impl_->http, impl_->registry, impl_->health);
  }
  return *impl_->http;
}

Result<void> Process::start_http() {
  if (!impl_->http) return make_error(ErrorCode::kFailedPrecondition, "http() not configured");
  return impl_->http->start();
}

namespace {

// Collects the names of the services registered on a server as it is built.
class ServiceNames final : public grpc::ServerBuilderPlugin {
 public:
  explicit ServiceNames(std::shared_ptr<std::vector<std::string>> out) : out_(std::move(out)) {}
  std::string name() override { return "switchyard_service_names"; }
  void InitServer(grpc::ServerInitializer* si) override {
    if (const auto* list = si->GetServiceList()) *out_ = *list;
  }
  void Finish(grpc::ServerInitializer* /*si*/) override {}
  void ChangeArguments(const std::string& /*name*/, void* /*value*/) override {}

 private:
  std::shared_ptr<std::vector<std::string>> out_;
};

class ServiceNamesOption final : public grpc::ServerBuilderOption {
 public:
  explicit ServiceNamesOption(std::shared_ptr<std::vector<std::string>> out)
      : out_(std::move(out)) {}
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->push_back(std::make_unique<ServiceNames>(out_));
  }

 private:
  std::shared_ptr<std::vector<std::string>> out_;
};

}  // namespace

void ServiceHealth::attach(grpc::ServerBuilder& builder) {
  builder.SetOption(std::make_unique<ServiceNamesOption>(names_));
}

void ServiceHealth::serving(grpc::Server& server) const {
  auto* health = server.GetHealthCheckService();
  if (health == nullptr) return;
  for (const auto& name : *names_) health->SetServingStatus(name, true);
}

Result<int> Process::start_grpc(const std::string& address, int port,
                                const std::vector<grpc::Service*>& services) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(address + ":" + std::to_string(port), grpc::InsecureServerCredentials(),
                           &bound);
  for (auto* s : services) builder.RegisterService(s);
  ServiceHealth health;
  health.attach(builder);
  impl_->grpc = builder.BuildAndStart();
  if (!impl_->grpc || bound == 0) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot listen for gRPC on " + address + ":" + std::to_string(port));
  }
  health.serving(*impl_->grpc);
  impl_->polling = std::make_unique<CallbackPolling>(*impl_->grpc);
  return bound;
}

grpc::Server* Process::grpc_server() { return impl_->grpc.get(); }

int Process::wait_for_signal() {
  int signal = 0;
  sigwait(&impl_->signals, &signal);
  return signal;
}

void Process::shutdown_grpc(std::chrono::milliseconds grace) {
  impl_->health.set_draining(true);
  impl_->polling.reset();
  if (impl_->grpc) impl_->grpc->Shutdown(std::chrono::system_clock::now() + grace);
}

void Process::stop_http() {
  if (impl_->http) impl_->http->stop();
}

std::pair<std::string, int> split_host_port(const std::string& address, int default_port) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return {address, default_port};
  return {address.substr(0, colon), std::stoi(address.substr(colon + 1))};
}

}  // namespace switchyard

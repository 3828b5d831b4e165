// gRPC calls of switchyardctl: generic unary calls by method name and the transaction stream.
#include "cli/ctl_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <future>

#include "common/runtime/grpc/status.h"
#include "switchyard/v1/transactions.grpc.pb.h"

namespace switchyard::ctl {
namespace {

using MessageStub =
    grpc::TemplatedGenericStub<google::protobuf::Message, google::protobuf::Message>;

// UNAVAILABLE before any answer: refused, unresolvable or unreachable address. A service that
// could not reach a third party (roaming: "GET https://emsp.example/versions: connect: Connection
// refused") answered, so its message, which names the call it made, is not ours to reword.
bool is_connection_failure(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  const std::string& message = status.error_message();
  for (std::string_view method : {"GET ", "POST ", "PUT ", "PATCH ", "DELETE "}) {
    if (message.starts_with(method)) return false;
  }
  return message.find("failed to connect") != std::string::npos ||
         message.find("Connection refused") != std::string::npos ||
         message.find("DNS resolution failed") != std::string::npos ||
         message.find("Socket closed") != std::string::npos ||
         message.find("Connection reset") != std::string::npos;
}

ErrorCode to_error_code(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return ErrorCode::kInvalidArgument;
    case grpc::StatusCode::NOT_FOUND:
      return ErrorCode::kNotFound;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return ErrorCode::kDeadlineExceeded;
    case grpc::StatusCode::UNAVAILABLE:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

std::string method_path(Api api, std::string_view method) {
  return "/switchyard.v1." + std::string(service_name(api)) + "/" + std::string(method);
}

}  // namespace

std::string_view service_name(Api api) {
  switch (api) {
    case Api::kAuthorization:
      return "Authorization";
    case Api::kTransactions:
      return "Transactions";
    case Api::kChargers:
      return "Chargers";
    case Api::kChargerControl:
      return "ChargerControl";
    case Api::kSmartCharging:
      return "SmartCharging";
    case Api::kRoaming:
      return "Roaming";
  }
  return "?";
}

std::string_view server_flag(Api api) {
  switch (api) {
    case Api::kAuthorization:
      return "auth-server";
    case Api::kTransactions:
      return "transactions-server";
    case Api::kChargers:
      return "status-server";
    case Api::kChargerControl:
      return "gateway-server";
    case Api::kSmartCharging:
      return "smart-charging-server";
    case Api::kRoaming:
      return "roaming-server";
  }
  return "server";
}

const std::string& Endpoints::address(Api api) const {
  switch (api) {
    case Api::kAuthorization:
      return authorization;
    case Api::kTransactions:
      return transactions;
    case Api::kChargers:
      return chargers;
    case Api::kChargerControl:
      return charger_control;
    case Api::kSmartCharging:
      return smart_charging;
    case Api::kRoaming:
      return roaming;
  }
  return authorization;
}

std::string describe_rpc_failure(Api api, std::string_view method, const grpc::Status& status,
                                 std::string_view address) {
  std::string text = std::string(service_name(api)) + "." + std::string(method) + ": " +
                     std::string(grpc_code_name(status.error_code())) + ": ";
  if (is_connection_failure(status)) {
    text += "cannot reach the " + std::string(service_name(api)) + " service at " +
            std::string(address) + " (set --" + std::string(server_flag(api)) + " or --server): ";
  }
  return text + status.error_message();
}

ApiClient::ApiClient(Endpoints endpoints, std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), timeout_(timeout) {}

std::shared_ptr<grpc::Channel> ApiClient::channel(Api api) {
  const std::string& address = endpoints_.address(api);
  auto& channel = channels_[address];
  if (!channel) channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  return channel;
}

Result<void> ApiClient::call(Api api, std::string_view method,
                             const google::protobuf::Message& request,
                             google::protobuf::Message& response) {
  MessageStub stub(channel(api));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout_);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method_path(api, method), grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  if (status.ok()) return {};
  return make_error(to_error_code(status.error_code()),
                    describe_rpc_failure(api, method, status, endpoints_.address(api)));
}

Result<void> ApiClient::watch_transactions(
    const v1::StreamTransactionsRequest& request,
    const std::function<void(const v1::StreamTransactionsResponse&)>& on_update) {
  auto stub = v1::Transactions::NewStub(channel(Api::kTransactions));
  grpc::ClientContext context;
  auto reader = stub->StreamTransactions(&context, request);
  v1::StreamTransactionsResponse update;
  while (reader->Read(&update)) on_update(update);
  grpc::Status status = reader->Finish();
  if (status.ok()) return {};
  return make_error(to_error_code(status.error_code()),
                    describe_rpc_failure(Api::kTransactions, "StreamTransactions", status,
                                         endpoints_.address(Api::kTransactions)));
}

}  // namespace switchyard::ctl

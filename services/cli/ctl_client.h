// The gRPC side of switchyardctl: one channel per service address, unary calls by method name
// with a deadline (any request/response message, so ChargerControl can be called by
// reflection), the transaction stream, and error text naming the service, method and address.
#pragma once

#include <google/protobuf/message.h>
#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/runtime/core/error.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::ctl {

enum class Api {
  kAuthorization,
  kTransactions,
  kChargers,
  kChargerControl,
  kSmartCharging,
  kRoaming
};

// "Authorization", "Transactions", "Chargers", "ChargerControl", "SmartCharging", "Roaming".
std::string_view service_name(Api api);
// The flag that overrides its address: "auth-server", "transactions-server", ...
std::string_view server_flag(Api api);

// host:port of each service; the standalone binary serves all of them on one port.
struct Endpoints {
  std::string authorization;
  std::string transactions;
  std::string chargers;
  std::string charger_control;
  std::string smart_charging;
  std::string roaming;

  const std::string& address(Api api) const;
};

// "Chargers.ListChargers: UNAVAILABLE: cannot reach the Chargers service at 127.0.0.1:50051
// (--status-server): <detail>" for connection problems, else "<Service>.<Method>: <CODE>: <msg>".
std::string describe_rpc_failure(Api api, std::string_view method, const grpc::Status& status,
                                 std::string_view address);

class ApiClient {
 public:
  ApiClient(Endpoints endpoints, std::chrono::milliseconds timeout);

  // Calls "/switchyard.v1.<Service>/<method>" and waits for the answer (or the deadline).
  Result<void> call(Api api, std::string_view method, const google::protobuf::Message& request,
                    google::protobuf::Message& response);

  // Transactions.StreamTransactions without a deadline: `on_update` per message until the server
  // ends the stream (or the process is interrupted).
  Result<void> watch_transactions(
      const v1::StreamTransactionsRequest& request,
      const std::function<void(const v1::StreamTransactionsResponse&)>& on_update);

 private:
  std::shared_ptr<grpc::Channel> channel(Api api);

  Endpoints endpoints_;
  std::chrono::milliseconds timeout_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;  // by address
};

}  // namespace switchyard::ctl

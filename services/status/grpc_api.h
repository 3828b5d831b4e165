// The Chargers gRPC service: charger state, status history, error counts, configuration.
#pragma once

#include "common/runtime/grpc/work_pool.h"
#include "common/runtime/sql/database.h"
#include "switchyard/v1/chargers.grpc.pb.h"

namespace switchyard::status {

class ChargersApi final : public v1::Chargers::CallbackService {
 public:
  ChargersApi(sql::Database& db, WorkPool& pool) : db_(db), pool_(pool) {}

  using Context = grpc::CallbackServerContext;
  using Reactor = grpc::ServerUnaryReactor;
  Reactor* ListChargers(Context*, const v1::ListChargersRequest*,
                        v1::ListChargersResponse*) override;
  Reactor* GetCharger(Context*, const v1::GetChargerRequest*, v1::GetChargerResponse*) override;
  Reactor* GetStatusHistory(Context*, const v1::GetStatusHistoryRequest*,
                            v1::GetStatusHistoryResponse*) override;
  Reactor* ListSecurityEvents(Context*, const v1::ListSecurityEventsRequest*,
                              v1::ListSecurityEventsResponse*) override;
  Reactor* CountErrors(Context*, const v1::CountErrorsRequest*, v1::CountErrorsResponse*) override;
  Reactor* GetConfiguration(Context*, const v1::GetConfigurationSnapshotRequest*,
                            v1::GetConfigurationSnapshotResponse*) override;
  Reactor* DiffConfiguration(Context*, const v1::DiffConfigurationRequest*,
                             v1::DiffConfigurationResponse*) override;

 private:
  sql::Database& db_;
  WorkPool& pool_;
};

}  // namespace switchyard::status

// The Transactions gRPC service: decisions, transactions, CDRs, tariffs and the live stream.
// Database work runs on a WorkPool; StreamTransactions is fed by the TransactionHub.
#pragma once

#include "common/runtime/grpc/work_pool.h"
#include "common/runtime/sql/database.h"
#include "switchyard/v1/transactions.grpc.pb.h"
#include "transactions/decider.h"
#include "transactions/hub.h"

namespace switchyard::transactions {

class TransactionsApi final : public v1::Transactions::CallbackService {
 public:
  TransactionsApi(sql::Database& db, Decider& decider, TransactionHub& hub, WorkPool& pool)
      : db_(db), decider_(decider), hub_(hub), pool_(pool) {}

  using Context = grpc::CallbackServerContext;
  using Reactor = grpc::ServerUnaryReactor;
  Reactor* Decide(Context*, const v1::DecideRequest*, v1::DecideResponse*) override;
  Reactor* CountActive(Context*, const v1::CountActiveRequest*, v1::CountActiveResponse*) override;
  Reactor* GetTransaction(Context*, const v1::GetTransactionRequest*,
                          v1::GetTransactionResponse*) override;
  Reactor* ListTransactions(Context*, const v1::ListTransactionsRequest*,
                            v1::ListTransactionsResponse*) override;
  grpc::ServerWriteReactor<v1::StreamTransactionsResponse>* StreamTransactions(
      Context*, const v1::StreamTransactionsRequest*) override;
  Reactor* GetCdr(Context*, const v1::GetCdrRequest*, v1::GetCdrResponse*) override;
  Reactor* ListCdrs(Context*, const v1::ListCdrsRequest*, v1::ListCdrsResponse*) override;
  Reactor* PutTariff(Context*, const v1::PutTariffRequest*, v1::PutTariffResponse*) override;
  Reactor* ListTariffs(Context*, const v1::ListTariffsRequest*, v1::ListTariffsResponse*) override;

 private:
  sql::Database& db_;
  Decider& decider_;
  TransactionHub& hub_;
  WorkPool& pool_;
};

}  // namespace switchyard::transactions

// Transactions.Decide (see decider.h).
#include "transactions/decider.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "transactions/store.h"

namespace switchyard::transactions {

Decider::Decider(sql::Database& db, TokenAuthority authority, prometheus::Registry* metrics)
    : db_(db), authority_(std::move(authority)) {
  if (metrics == nullptr) return;
  decisions_ =
      &prometheus::BuildCounter()
           .Name("switchyard_transaction_decisions_total")
           .Help("Tokens decided for transaction messages, by status (ConcurrentTx included)")
           .Register(*metrics);
}

Result<v1::DecideResponse> Decider::decide(const v1::DecideRequest& request) {
  if (request.charger_id().empty())
    return make_error(ErrorCode::kInvalidArgument, "charger_id is required");
  if (!request.has_event()) return make_error(ErrorCode::kInvalidArgument, "event is required");
  const auto& event = request.event();
  v1::DecideResponse response;
  std::string transaction_id = event.transaction_id();
  if (request.ocpp_version() == v1::OCPP_VERSION_1_6 &&
      event.kind() == v1::TransactionEvent::KIND_STARTED) {
    auto id = allocate_transaction_id(db_);
    if (!id) return std::unexpected(id.error());
    transaction_id = std::to_string(*id);
    response.set_transaction_id(transaction_id);
  } else if (transaction_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "event.transaction_id is required");
  }
  if (event.id_token().id().empty()) return response;

  v1::AuthorizeRequest ask;
  *ask.mutable_id_token() = event.id_token();
  ask.set_charger_id(request.charger_id());
  ask.set_evse_id(event.location().evse_id());
  auto answer = authority_(ask);
  if (!answer) return std::unexpected(answer.error());
  *response.mutable_decision() = answer->decision();
  if (answer->decision().status() == "Accepted" && answer->refuse_concurrent() &&
      event.kind() != v1::TransactionEvent::KIND_ENDED) {
    auto running =
        transactions::count_active(db_, event.id_token().id(), answer->decision().group_id(),
                                   {request.charger_id(), transaction_id});
    if (!running) return std::unexpected(running.error());
    if (*running > 0) response.mutable_decision()->set_status("ConcurrentTx");
  }
  if (decisions_ != nullptr)
    decisions_->Add({{"status", response.decision().status()}}).Increment();
  return response;
}

Result<int> Decider::count_active(const v1::CountActiveRequest& request) {
  if (request.id_token().empty() && request.group_id().empty()) {
    return make_error(ErrorCode::kInvalidArgument, "id_token or group_id is required");
  }
  return transactions::count_active(db_, request.id_token(), request.group_id());
}

}  // namespace switchyard::transactions

// Online chargers and running sessions at start (see bootstrap.h).
#include "smart_charging/bootstrap.h"

#include <grpcpp/grpcpp.h>

#include "common/runtime/grpc/status.h"
#include "smart_charging/charger_events.h"
#include "switchyard/v1/chargers.grpc.pb.h"
#include "switchyard/v1/transactions.grpc.pb.h"

namespace switchyard::smart_charging {
namespace {

constexpr int kPage = 1000;

Error failed(std::string_view what, const grpc::Status& status) {
  return Error{from_grpc_code(status.error_code()),
               std::string(what) + ": " + status.error_message()};
}

}  // namespace

Result<BootstrapCounts> bootstrap_facts(const std::shared_ptr<grpc::Channel>& status,
                                        const std::shared_ptr<grpc::Channel>& transactions,
                                        SmartChargingService& service,
                                        std::chrono::milliseconds timeout) {
  BootstrapCounts counts;
  auto chargers = v1::Chargers::NewStub(status);
  v1::ListChargersRequest list;
  list.set_online_only(true);
  list.set_page_size(kPage);
  for (;;) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    v1::ListChargersResponse page;
    auto s = chargers->ListChargers(&context, list, &page);
    if (!s.ok()) return std::unexpected(failed("Chargers.ListChargers", s));
    for (const auto& c : page.chargers()) {
      if (!c.online()) continue;
      service.charger_connected(c.charger_id(), protocol_of(c.ocpp_version()));
      ++counts.chargers_online;
    }
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }

  auto tx = v1::Transactions::NewStub(transactions);
  v1::ListTransactionsRequest active;
  active.set_state(v1::TRANSACTION_STATE_ACTIVE);
  active.set_page_size(kPage);
  for (;;) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    v1::ListTransactionsResponse page;
    auto s = tx->ListTransactions(&context, active, &page);
    if (!s.ok()) return std::unexpected(failed("Transactions.ListTransactions", s));
    for (const auto& t : page.transactions()) {
      if (t.state() != v1::TRANSACTION_STATE_ACTIVE || t.location().evse_id() <= 0) continue;
      service.session_started({t.charger_id(), t.location().evse_id()}, t.transaction_id());
      ++counts.sessions;
    }
    if (page.next_page_token().empty()) break;
    active.set_page_token(page.next_page_token());
  }
  return counts;
}

}  // namespace switchyard::smart_charging

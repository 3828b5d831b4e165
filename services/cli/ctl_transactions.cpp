// `switchyardctl transactions ...`: charging sessions of the Transactions API, listed, fetched
// or watched live.
#include <google/protobuf/util/time_util.h>

#include "cli/ctl_command.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::ctl {
namespace {

std::vector<Column> transaction_columns() {
  return {field_column("CHARGER", "charger_id"),
          field_column("TRANSACTION", "transaction_id"),
          field_column("EVSE", "location.evse_id"),
          field_column("STATE", "state"),
          field_column("TOKEN", "id_token.id"),
          field_column("STARTED", "started_at"),
          field_column("ENDED", "ended_at"),
          field_column("ENERGY_WH", "energy_wh"),
          field_column("CDR", "cdr_id")};
}

Outcome list_transactions(Session& session, const VerbArgs& args) {
  v1::ListTransactionsRequest request;
  request.set_charger_id(args.value("charger").value_or(""));
  request.set_id_token(args.value("token").value_or(""));
  for (auto [flag, field] : {std::pair{"state", "state"}, std::pair{"since", "started_after"},
                             std::pair{"until", "started_before"}}) {
    if (auto copied = copy_flag(args, flag, request, field); !copied) return copied;
  }
  v1::ListTransactionsResponse response;
  return list_and_print(session, args, Api::kTransactions, "ListTransactions", request, response,
                        transaction_columns());
}

Outcome get_transaction(Session& session, const VerbArgs& args) {
  v1::GetTransactionRequest request;
  request.set_charger_id(args.positional(0));
  request.set_transaction_id(args.positional(1));
  v1::GetTransactionResponse response;
  return call_and_print(session, Api::kTransactions, "GetTransaction", request, response);
}

// "2024-05-01T12:00:00Z started charger=CP1 transaction=17 state=ACTIVE token=ABC energy_wh=0".
std::string update_line(const v1::StreamTransactionsResponse& update) {
  const v1::Transaction& tx = update.transaction();
  std::string line =
      tx.has_updated_at() ? google::protobuf::util::TimeUtil::ToString(tx.updated_at()) + " " : "";
  line += update.change() + " charger=" + tx.charger_id() + " transaction=" + tx.transaction_id() +
          " state=" + field_text(tx, "state") + " token=" + tx.id_token().id() +
          " energy_wh=" + std::to_string(tx.energy_wh());
  if (!tx.stopped_reason().empty()) line += " stopped_reason=" + tx.stopped_reason();
  if (!tx.cdr_id().empty()) line += " cdr=" + tx.cdr_id();
  return line;
}

Outcome watch_transactions(Session& session, const VerbArgs& args) {
  v1::StreamTransactionsRequest request;
  request.set_charger_id(args.value("charger").value_or(""));
  auto watched = session.client.watch_transactions(
      request, [&session](const v1::StreamTransactionsResponse& update) {
        bool json = session.format == OutputFormat::kJson;
        // Flushed per line so a pipe (| grep, | jq) sees updates as they come.
        session.out << (json ? to_json(update, false) : update_line(update)) << std::endl;
      });
  if (!watched) return failure(watched.error().message);
  return {};
}

}  // namespace

Noun transactions_noun() {
  return Noun{"transactions",
              "Charging sessions of the Transactions API.",
              {
                  {{"list",
                    {},
                    {{"charger", "ID", "one charger"},
                     {"token", "T", "one id token"},
                     {"state", "active|ended", ""},
                     {"since", "RFC3339", "started at or after"},
                     {"until", "RFC3339", "started before"},
                     limit_flag()},
                    "Transactions.ListTransactions"},
                   list_transactions},
                  {{"get", {"CHARGER_ID", "TRANSACTION_ID"}, {}, "Transactions.GetTransaction"},
                   get_transaction},
                  {{"watch",
                    {},
                    {{"charger", "ID", "one charger"}},
                    "Transactions.StreamTransactions: one line per update until Ctrl-C"},
                   watch_transactions},
              }};
}

}  // namespace switchyard::ctl

// `switchyardctl cdrs ...`: charge detail records of the Transactions API.
#include "cli/ctl_command.h"
#include "cli/ctl_money.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::ctl {
namespace {

std::string cdr_total(const google::protobuf::Message& row) {
  const auto* cdr = google::protobuf::DynamicCastToGenerated<v1::Cdr>(&row);
  if (cdr == nullptr || !cdr->has_price()) return "";
  return format_money(cdr->price().total_incl_vat_minor(), cdr->price().currency());
}

std::vector<Column> cdr_columns() {
  return {field_column("CDR", "cdr_id"),
          field_column("CHARGER", "charger_id"),
          field_column("TRANSACTION", "transaction_id"),
          field_column("TOKEN", "id_token.id"),
          field_column("ENDED", "ended_at"),
          field_column("ENERGY_WH", "energy_wh"),
          field_column("DURATION_S", "duration_s"),
          field_column("TARIFF", "tariff_id"),
          Column{"TOTAL", cdr_total}};
}

Outcome list_cdrs(Session& session, const VerbArgs& args) {
  v1::ListCdrsRequest request;
  request.set_charger_id(args.value("charger").value_or(""));
  request.set_id_token(args.value("token").value_or(""));
  for (auto [flag, field] :
       {std::pair{"since", "ended_after"}, std::pair{"until", "ended_before"}}) {
    if (auto copied = copy_flag(args, flag, request, field); !copied) return copied;
  }
  v1::ListCdrsResponse response;
  return list_and_print(session, args, Api::kTransactions, "ListCdrs", request, response,
                        cdr_columns());
}

Outcome get_cdr(Session& session, const VerbArgs& args) {
  v1::GetCdrRequest request;
  request.set_cdr_id(args.positional(0));
  v1::GetCdrResponse response;
  return call_and_print(session, Api::kTransactions, "GetCdr", request, response);
}

}  // namespace

Noun cdrs_noun() {
  return Noun{"cdrs",
              "Charge detail records of the Transactions API (money in the CDR's currency).",
              {
                  {{"list",
                    {},
                    {{"charger", "ID", "one charger"},
                     {"token", "T", "one id token"},
                     {"since", "RFC3339", "ended at or after"},
                     {"until", "RFC3339", "ended before"},
                     limit_flag()},
                    "Transactions.ListCdrs"},
                   list_cdrs},
                  {{"get", {"CDR_ID"}, {}, "Transactions.GetCdr"}, get_cdr},
              }};
}

}  // namespace switchyard::ctl

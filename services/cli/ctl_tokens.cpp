// `switchyardctl tokens ...`: id tokens of the Authorization API, including CSV import.

#include "cli/ctl_command.h"
#include "switchyard/v1/authorization.pb.h"

namespace switchyard::ctl {
namespace {

std::vector<Column> token_columns() {
  return {
      field_column("TOKEN", "id_token"),    field_column("TYPE", "type"),
      field_column("STATUS", "status"),     field_column("EXPIRES", "expires_at"),
      field_column("GROUP", "group_id"),    field_column("REFUSE_CONCURRENT", "refuse_concurrent"),
      field_column("UPDATED", "updated_at")};
}

Outcome list_tokens(Session& session, const VerbArgs& args) {
  v1::ListTokensRequest request;
  request.set_group_id(args.value("group").value_or(""));
  v1::ListTokensResponse response;
  return list_and_print(session, args, Api::kAuthorization, "ListTokens", request, response,
                        token_columns());
}

Outcome get_token(Session& session, const VerbArgs& args) {
  v1::GetTokenRequest request;
  request.set_id_token(args.positional(0));
  v1::GetTokenResponse response;
  return call_and_print(session, Api::kAuthorization, "GetToken", request, response);
}

Parsed<v1::Token> token_from_flags(const VerbArgs& args) {
  v1::Token token;
  token.set_id_token(args.positional(0));
  token.set_type(args.value("type").value_or(""));
  token.set_status(v1::TOKEN_STATUS_ACCEPTED);
  token.set_group_id(args.value("group").value_or(""));
  token.set_refuse_concurrent(args.has("refuse-concurrent"));
  if (auto copied = copy_flag(args, "status", token, "status"); !copied) {
    return std::unexpected(copied.error());
  }
  if (auto copied = copy_flag(args, "expires", token, "expires_at"); !copied) {
    return std::unexpected(copied.error());
  }
  return token;
}

Outcome add_token(Session& session, const VerbArgs& args) {
  auto token = token_from_flags(args);
  if (!token) return std::unexpected(token.error());
  v1::PutTokenRequest request;
  *request.mutable_token() = std::move(*token);
  v1::PutTokenResponse response;
  return call_and_print(session, Api::kAuthorization, "PutToken", request, response);
}

Outcome block_token(Session& session, const VerbArgs& args) {
  v1::BlockTokenRequest request;
  request.set_id_token(args.positional(0));
  v1::BlockTokenResponse response;
  return call_and_print(session, Api::kAuthorization, "BlockToken", request, response);
}

Outcome delete_token(Session& session, const VerbArgs& args) {
  v1::DeleteTokenRequest request;
  request.set_id_token(args.positional(0));
  v1::DeleteTokenResponse response;
  if (auto called = call(session, Api::kAuthorization, "DeleteToken", request, response); !called) {
    return called;
  }
  if (session.format == OutputFormat::kJson) {
    print_single(session.out, session.format, response);
  } else {
    session.out << "deleted " << args.positional(0) << "\n";
  }
  return {};
}

Outcome import_tokens(Session& session, const VerbArgs& args) {
  auto csv = read_file(args.positional(0));
  if (!csv) return std::unexpected(csv.error());
  v1::ImportTokensRequest request;
  request.set_csv(std::move(*csv));
  v1::ImportTokensResponse response;
  if (auto called = call(session, Api::kAuthorization, "ImportTokens", request, response);
      !called) {
    return called;
  }
  if (session.format == OutputFormat::kJson) {
    print_single(session.out, session.format, response);
  } else {
    session.out << "imported " << response.imported() << "\n";
    for (const auto& error : response.errors()) session.err << error << "\n";
  }
  if (response.errors_size() > 0) {
    return failure(std::to_string(response.errors_size()) + " line(s) of " + args.positional(0) +
                   " refused");
  }
  return {};
}

}  // namespace

Noun tokens_noun() {
  return Noun{
      "tokens",
      "Id tokens (RFID cards, eMAIDs, ...) of the Authorization API.",
      {
          {{"list",
            {},
            {{"group", "G", "only tokens of group G"}, limit_flag()},
            "Authorization.ListTokens"},
           list_tokens},
          {{"get", {"ID"}, {}, "Authorization.GetToken"}, get_token},
          {{"add",
            {"ID"},
            {{"type", "T", "ISO14443, ISO15693, eMAID, Central, KeyCode, Local, IdTag, ..."},
             {"status", "accepted|blocked|expired|invalid", "default accepted"},
             {"expires", "RFC3339", "default never"},
             {"group", "G", "group id"},
             {"refuse-concurrent", "", "refuse a second transaction while one runs"}},
            "Authorization.PutToken: create or replace a token"},
           add_token},
          {{"block", {"ID"}, {}, "Authorization.BlockToken"}, block_token},
          {{"delete", {"ID"}, {}, "Authorization.DeleteToken"}, delete_token},
          {{"import",
            {"FILE.csv"},
            {},
            "Authorization.ImportTokens; CSV lines: "
            "id_token,type,status,expires_at,group_id,refuse_concurrent"},
           import_tokens},
      }};
}

}  // namespace switchyard::ctl

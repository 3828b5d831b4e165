// `switchyardctl partners ...`: the OCPI 2.2.1 roaming partners (Roaming API): invite an eMSP,
// connect to one, list, get, update (token rotation), unregister them, and send one everything
// again (resend; "@hubject" is Hubject's OICP outbox when OICP is on).
#include <string>
#include <vector>

#include "cli/ctl_command.h"
#include "switchyard/v1/roaming.pb.h"

namespace switchyard::ctl {
namespace {

// "DE/ABC EMSP, NL/XYZ HUB": who the partner is in OCPI terms.
std::string roles_text(const google::protobuf::Message& row) {
  const auto* partner = dynamic_cast<const v1::Partner*>(&row);
  if (partner == nullptr) return "";
  std::string out;
  for (const auto& role : partner->roles()) {
    if (!out.empty()) out += ", ";
    out += role.country_code() + "/" + role.party_id();
    if (!role.role().empty()) out += " " + role.role();
  }
  return out;
}

std::vector<Column> partner_columns() {
  return {field_column("PARTNER", "id"),           field_column("NAME", "name"),
          field_column("STATE", "state"),          Column{"COUNTRY/PARTY", roles_text},
          field_column("VERSION", "version"),      field_column("OUTBOX", "outbox.pending"),
          field_column("LAST_ERROR", "last_error")};
}

Outcome invite(Session& session, const VerbArgs& args) {
  v1::CreateInviteRequest request;
  request.set_name(args.positional(0));
  v1::CreateInviteResponse response;
  if (auto called = call(session, Api::kRoaming, "CreateInvite", request, response); !called)
    return called;
  if (session.format == OutputFormat::kJson) {
    session.out << to_json(response, true) << "\n";
    return {};
  }
  const std::vector<Column> columns{field_column("PARTNER", "partner.id"),
                                    field_column("TOKEN_A", "token_a"),
                                    field_column("VERSIONS_URL", "versions_url")};
  const std::vector<const google::protobuf::Message*> rows{&response};
  session.out << render_table(columns, rows)
              << "Hand TOKEN_A and VERSIONS_URL to the partner; it registers with them once.\n";
  return {};
}

Outcome connect(Session& session, const VerbArgs& args) {
  v1::ConnectPartnerRequest request;
  request.set_versions_url(args.positional(0));
  request.set_token_a(args.positional(1));
  if (auto name = args.value("name")) request.set_name(*name);
  v1::ConnectPartnerResponse response;
  return call_and_print(session, Api::kRoaming, "ConnectPartner", request, response);
}

Outcome list_partners(Session& session, const VerbArgs&) {
  v1::ListPartnersRequest request;
  v1::ListPartnersResponse response;
  if (auto called = call(session, Api::kRoaming, "ListPartners", request, response); !called)
    return called;
  const auto columns = partner_columns();
  print_list(session.out, session.format, response, columns);
  return {};
}

Outcome get_partner(Session& session, const VerbArgs& args) {
  v1::GetPartnerRequest request;
  request.set_partner_id(args.positional(0));
  v1::GetPartnerResponse response;
  return call_and_print(session, Api::kRoaming, "GetPartner", request, response);
}

Outcome update_partner(Session& session, const VerbArgs& args) {
  v1::UpdatePartnerRequest request;
  request.set_partner_id(args.positional(0));
  v1::UpdatePartnerResponse response;
  return call_and_print(session, Api::kRoaming, "UpdatePartner", request, response);
}

Outcome unregister_partner(Session& session, const VerbArgs& args) {
  v1::UnregisterPartnerRequest request;
  request.set_partner_id(args.positional(0));
  v1::UnregisterPartnerResponse response;
  return call_and_print(session, Api::kRoaming, "UnregisterPartner", request, response);
}

Outcome resend(Session& session, const VerbArgs& args) {
  v1::ResendToPartnerRequest request;
  request.set_partner_id(args.positional(0));
  v1::ResendToPartnerResponse response;
  return call_and_print(session, Api::kRoaming, "ResendToPartner", request, response);
}

}  // namespace

Noun partners_noun() {
  return Noun{
      "partners",
      "OCPI 2.2.1 roaming partners (eMSPs, hubs) and their credentials handshake (Roaming API).",
      {
          {{"invite",
            {"NAME"},
            {},
            "Roaming.CreateInvite: a new partner and its token A; the partner registers with "
            "token A at our versions URL"},
           invite},
          {{"connect",
            {"VERSIONS_URL", "TOKEN_A"},
            {{"name", "NAME", "what to call the partner (default: its business name)"}},
            "Roaming.ConnectPartner: register with a partner that gave us its versions URL and "
            "token A"},
           connect},
          {{"list", {}, {}, "Roaming.ListPartners"}, list_partners},
          {{"get", {"ID"}, {}, "Roaming.GetPartner: state, roles, endpoints, last error"},
           get_partner},
          {{"update",
            {"ID"},
            {},
            "Roaming.UpdatePartner: re-read its endpoints and rotate both tokens (PUT "
            "credentials)"},
           update_partner},
          {{"unregister",
            {"ID"},
            {},
            "Roaming.UnregisterPartner: DELETE at the partner's credentials, then forget both "
            "tokens"},
           unregister_partner},
          {{"resend",
            {"ID"},
            {},
            "Roaming.ResendToPartner: every published location and tariff into the partner's "
            "outbox again, whatever waits tried now; @hubject: a fullLoad of EVSE data, "
            "statuses and pricing"},
           resend},
      }};
}

}  // namespace switchyard::ctl

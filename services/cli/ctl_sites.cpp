// `switchyardctl sites ...`: smart-charging sites, their plan and why an EVSE gets what it gets
// (SmartCharging API). Sites are given as the JSON of switchyard.v1.Site.
#include <google/protobuf/util/json_util.h>

#include <charconv>

#include "cli/ctl_command.h"
#include "cli/ctl_fields.h"
#include "switchyard/v1/smart_charging.pb.h"

namespace switchyard::ctl {
namespace {

Outcome list_sites(Session& session, const VerbArgs&) {
  v1::ListSitesRequest request;
  v1::ListSitesResponse response;
  if (auto called = call(session, Api::kSmartCharging, "ListSites", request, response); !called)
    return called;
  print_list(
      session.out, session.format, response,
      std::vector<Column>{field_column("SITE", "id"), field_column("NODES", "nodes"),
                          field_column("EVSES", "evses"), field_column("ONLINE", "chargers_online"),
                          field_column("SESSIONS", "sessions")});
  return {};
}

Outcome get_site(Session& session, const VerbArgs& args) {
  v1::GetSiteRequest request;
  request.set_site_id(args.positional(0));
  v1::GetSiteResponse response;
  if (auto called = call(session, Api::kSmartCharging, "GetSite", request, response); !called)
    return called;
  // A site is a tree: JSON says it best, whatever the output format.
  session.out << to_json(response, true) << "\n";
  return {};
}

Outcome put_site(Session& session, const VerbArgs& args) {
  auto json = read_file(args.positional(0));
  if (!json) return std::unexpected(json.error());
  v1::PutSiteRequest request;
  auto parsed = google::protobuf::util::JsonStringToMessage(*json, request.mutable_site());
  if (!parsed.ok())
    return usage_error(args.positional(0) + " is not a switchyard.v1.Site: " + parsed.ToString());
  v1::PutSiteResponse response;
  if (auto called = call(session, Api::kSmartCharging, "PutSite", request, response); !called)
    return called;
  session.out << "site " << request.site().id() << (response.created() ? " created" : " replaced")
              << "\n";
  return {};
}

Outcome delete_site(Session& session, const VerbArgs& args) {
  v1::DeleteSiteRequest request;
  request.set_site_id(args.positional(0));
  v1::DeleteSiteResponse response;
  if (auto called = call(session, Api::kSmartCharging, "DeleteSite", request, response); !called)
    return called;
  session.out << "site " << request.site_id() << " deleted\n";
  return {};
}

Outcome show_plan(Session& session, const VerbArgs& args) {
  v1::GetPlanRequest request;
  request.set_site_id(args.positional(0));
  v1::GetPlanResponse response;
  if (auto called = call(session, Api::kSmartCharging, "GetPlan", request, response); !called)
    return called;
  print_list(
      session.out, session.format, response,
      std::vector<Column>{field_column("CHARGER", "charger_id"), field_column("EVSE", "evse_id"),
                          field_column("AMPS", "current_a"), field_column("PHASES", "phases"),
                          field_column("REASON", "reason"), field_column("ONLINE", "online"),
                          field_column("SESSION", "session"), field_column("CHARGING", "charging"),
                          field_column("APPLIED", "applied_current_a"),
                          field_column("PENDING", "pending_profiles")});
  return {};
}

Outcome explain(Session& session, const VerbArgs& args) {
  auto evse = read_int_flag(args, "evse", 1);
  if (!evse) return std::unexpected(evse.error());
  v1::ExplainRequest request;
  request.set_site_id(args.positional(0));
  request.set_charger_id(args.positional(1));
  request.set_evse_id(*evse);
  v1::ExplainResponse response;
  return call_and_print(session, Api::kSmartCharging, "Explain", request, response);
}

// --flag as a number of 0 or more; nullopt when not given.
Parsed<std::optional<double>> read_amount(const VerbArgs& args, std::string_view flag,
                                          std::string_view what) {
  auto text = args.value(flag);
  if (!text) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || !(value >= 0))
    return usage_error("--" + std::string(flag) + ": not " + std::string(what) + ": " + *text);
  return value;
}

Outcome set_override(Session& session, const VerbArgs& args) {
  v1::SetNodeLimitsRequest request;
  request.set_site_id(args.positional(0));
  request.set_node_id(args.positional(1));
  request.set_set_override(true);
  if (!args.has("clear")) {
    auto amps = read_amount(args, "amps", "a current in A");
    if (!amps) return std::unexpected(amps.error());
    if (!*amps) return usage_error("sites override: give --amps A (or --clear)");
    const double value = **amps;
    auto* slot = request.mutable_override_slot();
    slot->mutable_current_a()->set_l1_a(value);
    slot->mutable_current_a()->set_l2_a(value);
    slot->mutable_current_a()->set_l3_a(value);
    const auto now = std::chrono::system_clock::now();
    slot->mutable_from()->set_seconds(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    auto until = args.value("until");
    if (!until) return usage_error("sites override: give --until RFC3339");
    auto parsed = parse_timestamp(*until);
    if (!parsed) return usage_error_for("until", parsed.error());
    *slot->mutable_until() = *parsed;
  }
  v1::SetNodeLimitsResponse response;
  if (auto called = call(session, Api::kSmartCharging, "SetNodeLimits", request, response); !called)
    return called;
  session.out << "override of " << request.node_id() << (args.has("clear") ? " cleared" : " set")
              << "\n";
  return {};
}

// A limit on one running session (as an eMSP sets one over OCPI), or --clear to take it off.
Outcome limit_session(Session& session, const VerbArgs& args) {
  if (args.has("clear")) {
    v1::ClearSessionLimitRequest request;
    request.set_charger_id(args.positional(0));
    request.set_transaction_id(args.positional(1));
    v1::ClearSessionLimitResponse response;
    return call_and_print(session, Api::kSmartCharging, "ClearSessionLimit", request, response);
  }
  auto amps = read_amount(args, "amps", "a current in A");
  if (!amps) return std::unexpected(amps.error());
  auto watts = read_amount(args, "watts", "a power in W");
  if (!watts) return std::unexpected(watts.error());
  if (amps->has_value() == watts->has_value())
    return usage_error("sites limit-session: give --amps A or --watts W (or --clear)");
  auto duration = read_int_flag(args, "for", 0);
  if (!duration) return std::unexpected(duration.error());
  if (*duration < 0) return usage_error("--for: not a number of seconds of 0 or more");
  v1::SetSessionLimitRequest request;
  request.set_charger_id(args.positional(0));
  request.set_transaction_id(args.positional(1));
  auto* limit = request.mutable_limit();
  limit->set_unit(*amps ? v1::CHARGING_RATE_UNIT_AMPERES : v1::CHARGING_RATE_UNIT_WATTS);
  limit->set_duration_s(*duration);
  limit->set_source("operator (switchyardctl)");
  auto* period = limit->add_periods();
  period->set_start_offset_s(0);
  period->set_limit(*amps ? **amps : **watts);
  v1::SetSessionLimitResponse response;
  return call_and_print(session, Api::kSmartCharging, "SetSessionLimit", request, response);
}

Outcome session_plan(Session& session, const VerbArgs& args) {
  v1::GetSessionPlanRequest request;
  request.set_charger_id(args.positional(0));
  request.set_transaction_id(args.positional(1));
  v1::GetSessionPlanResponse response;
  return call_and_print(session, Api::kSmartCharging, "GetSessionPlan", request, response);
}

}  // namespace

Noun sites_noun() {
  return Noun{
      "sites",
      "Smart-charging sites: grid connection, circuits, chargers, EVSEs with per-phase limits "
      "(SmartCharging API).",
      {
          {{"list", {}, {}, "SmartCharging.ListSites"}, list_sites},
          {{"get", {"SITE"}, {}, "SmartCharging.GetSite: the tree and its limits (JSON)"},
           get_site},
          {{"put",
            {"FILE.json"},
            {},
            "SmartCharging.PutSite: create or replace the site in FILE.json (a "
            "switchyard.v1.Site)"},
           put_site},
          {{"delete", {"SITE"}, {}, "SmartCharging.DeleteSite"}, delete_site},
          {{"plan", {"SITE"}, {}, "SmartCharging.GetPlan: each EVSE's limit and the reason"},
           show_plan},
          {{"explain",
            {"SITE", "CHARGER"},
            {{"evse", "N", "EVSE (1.6 connector) id, default 1"}},
            "SmartCharging.Explain: which node limits the EVSE, on which phase, and why"},
           explain},
          {{"override",
            {"SITE", "NODE"},
            {{"amps", "A", "per-phase cap from now on"},
             {"until", "RFC3339", "end of the override"},
             {"clear", "", "remove the override"}},
            "SmartCharging.SetNodeLimits: an operator override of a node's limit"},
           set_override},
          {{"limit-session",
            {"CHARGER", "TRANSACTION"},
            {{"amps", "A", "per-phase cap of the session"},
             {"watts", "W", "power cap of the session"},
             {"for", "SECONDS", "from now; 0 (default): until the session ends"},
             {"clear", "", "take the session's limit off"}},
            "SmartCharging.SetSessionLimit / ClearSessionLimit: a cap on one running session "
            "(kept across restarts, ends with the session)"},
           limit_session},
          {{"session",
            {"CHARGER", "TRANSACTION"},
            {},
            "SmartCharging.GetSessionPlan: a running session's limit and its cap, if any"},
           session_plan},
      }};
}

}  // namespace switchyard::ctl

// Roaming drivers' sessions and CDRs (see sessions.h).
#include "roaming/sessions.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/json.hpp>

#include "common/runtime/bus/arena_message.h"
#include "common/runtime/bus/parse_event.h"
#include "common/runtime/core/log.h"
#include "common/runtime/http/server.h"
#include "roaming/ocpi_envelope.h"
#include "roaming/ocpi_paging.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

// A real-time authorization counts for sessions starting within an hour of it.
constexpr std::int64_t kAuthorizationWindowMs = 3'600'000;

}  // namespace

SessionFeed::SessionFeed(SessionStore& sessions, TokenStore& tokens, Pusher* pusher,
                         const Clock& clock, prometheus::Registry* metrics)
    : sessions_(sessions), tokens_(tokens), pusher_(pusher), clock_(clock) {
  if (metrics == nullptr) return;
  recorded_ = &prometheus::BuildCounter()
                   .Name("switchyard_roaming_recorded_total")
                   .Help(
                       "Sessions and CDRs of other networks' drivers recorded for their eMSP, by "
                       "module (sessions: new sessions, cdrs: new CDRs)")
                   .Register(*metrics);
  for (const char* module : {"sessions", "cdrs"}) recorded_->Add({{"module", module}});
  malformed_ = &prometheus::BuildCounter()
                    .Name("switchyard_roaming_malformed_records_total")
                    .Help(
                        "Transaction updates and CDRs from the transactions service that could "
                        "not be parsed (skipped)")
                    .Register(*metrics)
                    .Add({});
}

Result<void> SessionFeed::handle_transaction(const bus::Event& event) {
  bus::ArenaMessage<v1::TransactionUpdated> parsed;
  if (!bus::parse_event(event, *parsed, malformed_)) return {};
  return apply(*parsed);
}

Result<void> SessionFeed::handle_cdr(const bus::Event& event) {
  bus::ArenaMessage<v1::Cdr> parsed;
  if (!bus::parse_event(event, *parsed, malformed_)) return {};
  return apply(*parsed);
}

Result<std::optional<SessionOwner>> SessionFeed::owner_of(const std::string& uid,
                                                          std::int64_t started_ms) {
  if (uid.empty()) return std::nullopt;
  auto found = tokens_.find(uid);
  if (!found) return std::unexpected(found.error());
  if (!*found) return std::nullopt;
  const OcpiToken& t = (*found)->token;
  SessionOwner owner;
  owner.partner_id = (*found)->partner_id;
  owner.token_json = json::serialize(json::object{{"country_code", t.country_code},
                                                  {"party_id", t.party_id},
                                                  {"uid", t.uid},
                                                  {"type", t.type},
                                                  {"contract_id", t.contract_id}});
  owner.auth_method = "WHITELIST";
  auto a = sessions_.authorization(uid, owner.partner_id);
  if (!a) return std::unexpected(a.error());
  if (*a && (*a)->at_ms >= started_ms - kAuthorizationWindowMs) {
    owner.auth_method = (*a)->auth_method;
    owner.authorization_reference = (*a)->authorization_reference;
  }
  return owner;
}

Result<void> SessionFeed::apply(const v1::TransactionUpdated& update) {
  const v1::Transaction& t = update.transaction();
  if (t.charger_id().empty() || t.transaction_id().empty()) return {};
  const std::string id = session_id_of(t.charger_id(), t.transaction_id());
  auto known = sessions_.session(id);
  if (!known) return std::unexpected(known.error());
  SessionOwner owner;
  if (*known) {
    owner = (*known)->owner;
  } else {
    const std::int64_t started = ms_of(t.has_started_at() ? t.started_at() : t.updated_at());
    auto found = owner_of(t.id_token().id(), started);
    if (!found) return std::unexpected(found.error());
    if (!*found) return {};  // not another network's driver
    owner = std::move(**found);
  }
  // Into the owner's outbox whatever its endpoints say now: the pusher drops it if the owner
  // has no sessions RECEIVER when it is sent (then the owner pulls).
  const bool push = pusher_ != nullptr;
  auto changed = sessions_.put_session(id, owner, t, push);
  if (!changed) return std::unexpected(changed.error());
  if (!*changed) return {};
  if (!*known) {
    if (recorded_ != nullptr) recorded_->Add({{"module", "sessions"}}).Increment();
    log::info("roaming session", {{"session_id", id},
                                  {"partner_id", owner.partner_id},
                                  {"charger_id", t.charger_id()},
                                  {"transaction_id", t.transaction_id()},
                                  {"auth_method", owner.auth_method}});
  }
  if (push) pusher_->wake();
  return {};
}

Result<void> SessionFeed::apply(const v1::Cdr& cdr) {
  if (cdr.cdr_id().empty() || cdr.charger_id().empty()) return {};
  const std::string session_id = session_id_of(cdr.charger_id(), cdr.transaction_id());
  auto session = sessions_.session(session_id);
  if (!session) return std::unexpected(session.error());
  SessionOwner owner;
  if (*session) {
    owner = (*session)->owner;
  } else {  // the session's updates may come later (another topic): the token decides
    auto found = owner_of(cdr.id_token().id(), ms_of(cdr.started_at()));
    if (!found) return std::unexpected(found.error());
    if (!*found) return {};
    owner = std::move(**found);
  }
  const bool push = pusher_ != nullptr;
  auto added = sessions_.put_cdr(session_id, owner, cdr, push);
  if (!added) return std::unexpected(added.error());
  if (!*added) return {};
  if (recorded_ != nullptr) recorded_->Add({{"module", "cdrs"}}).Increment();
  log::info("roaming CDR", {{"cdr_id", cdr.cdr_id()},
                            {"session_id", session_id},
                            {"partner_id", owner.partner_id},
                            {"energy_wh", cdr.energy_wh()}});
  if (push) pusher_->wake();
  return {};
}

void SessionFeed::authorized(const std::string& uid, const RoamingTokenDecision& decision) {
  if (!decision.known || decision.status != "Accepted") return;
  const std::int64_t now = unix_ms(clock_.now());
  const bool real_time = decision.real_time && !decision.authorization_reference.empty();
  if (!real_time) {
    // The charger asking about a driver the eMSP just started by command (START_SESSION) does
    // not make the session a whitelist one.
    auto before = sessions_.authorization(uid, decision.partner_id);
    if (before && *before && (*before)->auth_method == "COMMAND" &&
        (*before)->at_ms >= now - kAuthorizationWindowMs) {
      return;
    }
  }
  const TokenAuthorization a{real_time ? "AUTH_REQUEST" : "WHITELIST",
                             decision.authorization_reference, now};
  if (auto r = sessions_.record_authorization(uid, decision.partner_id, a); !r) {
    log::warn("authorization not recorded (its sessions will say WHITELIST)",
              {{"partner_id", decision.partner_id}, {"error", r.error().message}});
  }
}

Result<std::optional<PushRequest>> SessionPushSource::request(const PendingPush& push,
                                                              const std::string& url) {
  auto session = sessions_.session(push.object_id);
  if (!session) return std::unexpected(session.error());
  if (!*session) return std::nullopt;
  auto body = objects_.session(**session);
  if (!body) return std::unexpected(body.error());
  return PushRequest{"PUT",
                     url + "/" + url_segment(party_.country_code) + "/" +
                         url_segment(party_.party_id) + "/" + url_segment(push.object_id),
                     std::move(*body)};
}

Result<std::optional<PushRequest>> CdrPushSource::request(const PendingPush& push,
                                                          const std::string& url) {
  auto cdr = sessions_.cdr(push.object_id);
  if (!cdr) return std::unexpected(cdr.error());
  if (!*cdr || (*cdr)->delivered_ms != 0) return std::nullopt;  // accepted once: never again
  auto body = objects_.cdr(**cdr);
  if (!body) return std::unexpected(body.error());
  return PushRequest{"POST", url, std::move(*body)};
}

Result<void> CdrPushSource::delivered(const PendingPush& push, std::int64_t now_ms) {
  log::info("roaming CDR accepted", {{"cdr_id", push.object_id},
                                     {"partner_id", push.partner_id},
                                     {"attempts", push.attempts + 1}});
  return sessions_.cdr_delivered(push.object_id, now_ms);
}

http::Response OwnedListSender::handle(const Partner& partner, const http::Request& request,
                                       std::string_view rest) {
  const auto now = clock_.now();
  if (auto refused = refuse_all_but_the_list(request, rest, module_, now)) return *refused;
  // An object that cannot be built yet (its charger is in no location) is left out of the page
  // but counted, so the next link starts after it.
  auto add = [&](ListedPage& out, const Result<std::string>& object, const std::string& id) {
    ++out.covered;
    if (object) {
      out.objects.push_back(*object);
      return;
    }
    log::warn("roaming object not shown: it cannot be built yet",
              {{"module", module_}, {"id", id}, {"error", object.error().message}});
  };
  return list_response(
      request, module_, list_url_, now, kDefaultLimit, kMaxLimit,
      [&](const PageRequest& page) -> Result<ListedPage> {
        const OwnedQuery query{partner.id, page.from_ms, page.to_ms, page.offset, page.limit};
        ListedPage out;
        if (module_ == "sessions") {
          auto found = sessions_.sessions(query);
          if (!found) return std::unexpected(found.error());
          out.total = found->total;
          for (const auto& s : found->items) add(out, objects_.session(s), s.id);
        } else {
          auto found = sessions_.cdrs(query);
          if (!found) return std::unexpected(found.error());
          out.total = found->total;
          for (const auto& c : found->items) add(out, objects_.cdr(c), c.id);
        }
        return out;
      });
}

}  // namespace switchyard::roaming

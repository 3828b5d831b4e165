// OCPI sessions and cdrs, CPO side, for other networks' drivers at our chargers:
// * SessionFeed: csms.transactions.v1 and csms.cdrs.v1 (the transactions service's outbox) into
//   the session store, for transactions whose token an eMSP pushed to us (tokens.h); each change
//   into the token owner's push outbox (dropped when it is sent if the owner has no RECEIVER
//   endpoint of the module: then it pulls).
// * SessionPushSource / CdrPushSource (pusher.h): the session as it is now, PUT to the owner's
//   sessions RECEIVER (.../{cc}/{party}/{session_id}); each CDR POSTed to its cdrs RECEIVER,
//   retried with back-off until the owner accepts it (same id every time, so once in effect), and
//   never sent again once accepted.
// * OwnedListSender: the sessions and cdrs SENDER modules, a partner's own objects only (GET with
//   date_from / date_to / offset / limit).
#pragma once

#include <string>

#include "common/runtime/bus/event_consumer.h"
#include "common/runtime/core/clock.h"
#include "roaming/ocpi_module.h"
#include "roaming/pusher.h"
#include "roaming/session_objects.h"
#include "roaming/session_store.h"
#include "roaming/tokens.h"

namespace prometheus {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard::v1 {
class TransactionUpdated;
class Cdr;
}  // namespace switchyard::v1

namespace switchyard::roaming {

class SessionFeed {
 public:
  // `pusher` (may be null: nothing is pushed) is woken by changes.
  SessionFeed(SessionStore& sessions, TokenStore& tokens, Pusher* pusher, const Clock& clock,
              prometheus::Registry* metrics);

  // Bus handlers: an unparsable message is counted and skipped; a store error is returned, so
  // the consumer retries it.
  Result<void> handle_transaction(const bus::Event& event);
  Result<void> handle_cdr(const bus::Event& event);
  Result<void> apply(const v1::TransactionUpdated& update);
  Result<void> apply(const v1::Cdr& cdr);
  // The token owner accepted (or the whitelist let in) a driver: how the session it starts was
  // authorized (auth_method, authorization_reference).
  void authorized(const std::string& uid, const RoamingTokenDecision& decision);

 private:
  // The owner of a new session or CDR's token; nullopt when no eMSP pushed it (not roaming).
  Result<std::optional<SessionOwner>> owner_of(const std::string& uid, std::int64_t started_ms);

  SessionStore& sessions_;
  TokenStore& tokens_;
  Pusher* pusher_;
  const Clock& clock_;
  prometheus::Family<prometheus::Counter>* recorded_ = nullptr;
  prometheus::Counter* malformed_ = nullptr;
};

class SessionPushSource final : public PushSource {
 public:
  SessionPushSource(SessionStore& sessions, SessionObjects& objects, Party party)
      : sessions_(sessions), objects_(objects), party_(std::move(party)) {}
  std::string_view module() const override { return "sessions"; }
  Result<std::optional<PushRequest>> request(const PendingPush& push,
                                             const std::string& url) override;

 private:
  SessionStore& sessions_;
  SessionObjects& objects_;
  Party party_;
};

class CdrPushSource final : public PushSource {
 public:
  CdrPushSource(SessionStore& sessions, SessionObjects& objects)
      : sessions_(sessions), objects_(objects) {}
  std::string_view module() const override { return "cdrs"; }
  Result<std::optional<PushRequest>> request(const PendingPush& push,
                                             const std::string& url) override;
  Result<void> delivered(const PendingPush& push, std::int64_t now_ms) override;

 private:
  SessionStore& sessions_;
  SessionObjects& objects_;
};

// The sessions or cdrs module as SENDER: GET <base>/2.2.1/<module>?date_from&date_to&offset&limit,
// the calling partner's own sessions / CDRs.
class OwnedListSender final : public OcpiModule {
 public:
  // `module`: "sessions" or "cdrs"; `list_url` its public URL.
  OwnedListSender(std::string module, SessionStore& sessions, SessionObjects& objects,
                  std::string list_url, const Clock& clock)
      : module_(std::move(module)),
        sessions_(sessions),
        objects_(objects),
        list_url_(std::move(list_url)),
        clock_(clock) {}
  std::string_view identifier() const override { return module_; }
  std::string_view role() const override { return "SENDER"; }
  http::Response handle(const Partner& partner, const http::Request& request,
                        std::string_view rest) override;

  static constexpr int kDefaultLimit = 50;
  static constexpr int kMaxLimit = 100;

 private:
  std::string module_;
  SessionStore& sessions_;
  SessionObjects& objects_;
  std::string list_url_;
  const Clock& clock_;
};

}  // namespace switchyard::roaming

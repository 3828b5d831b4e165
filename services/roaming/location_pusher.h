// The locations module's pushes (a PushSource, pusher.h): the whole location (PUT) when the
// operator changed it, an EVSE's status (PATCH status + last_updated) when the charger did; an
// EVSE PATCH the partner refuses (typically 2003: it lacks the location) becomes a PUT of the
// whole location, as OCPI advises.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "roaming/location_store.h"
#include "roaming/ocpi_envelope.h"
#include "roaming/push_outbox.h"
#include "roaming/pusher.h"

namespace switchyard::roaming {

class LocationPushSource final : public PushSource {
 public:
  LocationPushSource(LocationStore& locations, PushOutbox& outbox, Party party)
      : locations_(locations), outbox_(outbox), party_(std::move(party)) {}

  std::string_view module() const override { return "locations"; }
  void begin_pass() override { cache_.clear(); }
  Result<std::optional<PushRequest>> request(const PendingPush& push,
                                             const std::string& url) override;
  Result<bool> refused(const PendingPush& push, const Error& error, std::int64_t now_ms) override;

 private:
  LocationStore& locations_;
  PushOutbox& outbox_;
  Party party_;
  std::map<std::string, std::optional<v1::RoamingLocation>> cache_;  // for one pass
};

}  // namespace switchyard::roaming

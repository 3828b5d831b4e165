// Location pushes to partners (see location_pusher.h).
#include "roaming/location_pusher.h"

#include <algorithm>
#include <boost/json.hpp>

#include "common/runtime/core/log.h"
#include "roaming/locations.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {
namespace {

std::string timestamp(const google::protobuf::Timestamp& t) {
  return ocpi_timestamp(std::chrono::system_clock::time_point(std::chrono::seconds(t.seconds())));
}

}  // namespace

Result<std::optional<PushRequest>> LocationPushSource::request(const PendingPush& push,
                                                               const std::string& url) {
  auto cached = cache_.find(push.object_id);
  if (cached == cache_.end()) {
    auto l = locations_.get(push.object_id);
    if (!l) return std::unexpected(l.error());
    cached = cache_.emplace(push.object_id, std::move(*l)).first;
  }
  const std::optional<v1::RoamingLocation>& location = cached->second;
  if (!location) return std::nullopt;
  std::string target = url + "/" + url_segment(party_.country_code) + "/" +
                       url_segment(party_.party_id) + "/" + url_segment(push.object_id);
  if (push.part.empty())
    return PushRequest{"PUT", std::move(target), location_json(*location, party_)};
  const auto evse = std::ranges::find(location->evses(), push.part, &v1::RoamingEvse::uid);
  if (evse == location->evses().end()) return std::nullopt;
  return PushRequest{
      "PATCH", target + "/" + url_segment(push.part),
      boost::json::serialize(boost::json::object{
          {"status", evse->status()}, {"last_updated", timestamp(evse->last_updated())}})};
}

Result<bool> LocationPushSource::refused(const PendingPush& push, const Error& error,
                                         std::int64_t now_ms) {
  if (push.part.empty()) return false;
  // OCPI's remedy for a PATCH the partner cannot apply is the whole object: the entry becomes a
  // PUT of the location, due at once.
  if (auto r = outbox_.replace(push, "", now_ms); !r) return std::unexpected(r.error());
  log::info("EVSE patch refused; the whole location is sent instead",
            {{"partner_id", push.partner_id},
             {"location_id", push.object_id},
             {"evse_uid", push.part},
             {"error", error.message}});
  return true;
}

}  // namespace switchyard::roaming

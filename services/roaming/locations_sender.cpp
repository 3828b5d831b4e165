// The locations SENDER module (see locations_sender.h).
#include "roaming/locations_sender.h"

#include <vector>

#include "common/runtime/core/log.h"
#include "common/runtime/http/server.h"
#include "roaming/ocpi_envelope.h"
#include "roaming/ocpi_paging.h"

namespace switchyard::roaming {
namespace {}  // namespace

http::Response LocationsSender::handle(const Partner& partner, const http::Request& request,
                                       std::string_view rest) {
  if (request.method != "GET") {
    return envelope_response(405, OcpiStatus::kClientError,
                             "method " + request.method +
                                 " not allowed on locations (we are "
                                 "its sender: GET only)",
                             {}, clock_.now());
  }
  (void)partner;  // every registered partner sees every published location
  return rest.empty() || rest == "/" ? list(request) : one(rest);
}

http::Response LocationsSender::list(const http::Request& request) {
  return list_response(
      request, "locations", list_url_, clock_.now(), kDefaultLimit, kMaxLimit,
      [this](const PageRequest& page) -> Result<ListedPage> {
        auto found = store_.query({page.from_ms, page.to_ms, page.offset, page.limit});
        if (!found) return std::unexpected(found.error());
        ListedPage out{{}, found->total, found->locations.size()};
        for (const auto& l : found->locations) {
          out.objects.push_back(location_json(l, party_));
        }
        return out;
      });
}

http::Response LocationsSender::one(std::string_view rest) {
  const auto now = clock_.now();
  const auto parts = path_segments(rest);
  auto unknown = [&](const std::string& what) {
    return envelope_response(404, OcpiStatus::kUnknownLocation, what, {}, now);
  };
  if (parts.empty() || parts.size() > 3) {
    return envelope_response(400, OcpiStatus::kInvalidParameters,
                             "locations/{location_id}[/{evse_uid}[/{connector_id}]] expected", {},
                             now);
  }
  for (const auto& p : parts) {
    if (p.size() > 36) {
      return envelope_response(400, OcpiStatus::kInvalidParameters,
                               "'" + p.substr(0, 40) + "...' is longer than 36 characters", {},
                               now);
    }
  }
  auto found = store_.get(parts[0]);
  if (!found) {
    log::error("location read failed", {{"error", found.error().message}});
    return envelope_response(500, OcpiStatus::kServerError, "locations unavailable", {}, now);
  }
  if (!*found || !(*found)->publish()) return unknown("unknown location " + parts[0]);
  const v1::RoamingLocation& location = **found;
  if (parts.size() == 1) {
    return envelope_response(200, OcpiStatus::kSuccess, "", location_json(location, party_), now);
  }
  const auto evse = std::ranges::find(location.evses(), parts[1], &v1::RoamingEvse::uid);
  if (evse == location.evses().end()) {
    return unknown("unknown EVSE " + parts[1] + " in location " + parts[0]);
  }
  if (parts.size() == 2) {
    return envelope_response(200, OcpiStatus::kSuccess, "", evse_json(*evse), now);
  }
  const auto connector = std::ranges::find(evse->connectors(), parts[2], &v1::RoamingConnector::id);
  if (connector == evse->connectors().end()) {
    return unknown("unknown connector " + parts[2] + " of EVSE " + parts[1] + " in location " +
                   parts[0]);
  }
  return envelope_response(200, OcpiStatus::kSuccess, "",
                           connector_json(*connector, evse->last_updated()), now);
}

}  // namespace switchyard::roaming

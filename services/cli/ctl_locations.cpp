// `switchyardctl locations ...`: the locations published to roaming partners (Roaming API):
// put one from the JSON of switchyard.v1.RoamingLocation, get one with its EVSEs' live status,
// list them.
#include <google/protobuf/util/json_util.h>

#include <string>
#include <vector>

#include "cli/ctl_command.h"
#include "switchyard/v1/roaming.pb.h"

namespace switchyard::ctl {
namespace {

// "2 (1 AVAILABLE, 1 CHARGING)": how many EVSEs and in which status.
std::string evses_text(const google::protobuf::Message& row) {
  const auto* location = dynamic_cast<const v1::RoamingLocation*>(&row);
  if (location == nullptr) return "";
  std::vector<std::pair<std::string, int>> counts;
  for (const auto& evse : location->evses()) {
    auto it = std::ranges::find(counts, evse.status(), &std::pair<std::string, int>::first);
    if (it == counts.end()) {
      counts.emplace_back(evse.status(), 1);
    } else {
      ++it->second;
    }
  }
  std::string out = std::to_string(location->evses_size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    out += (i == 0 ? " (" : ", ") + std::to_string(counts[i].second) + " " + counts[i].first;
  }
  return counts.empty() ? out : out + ")";
}

Outcome put_location(Session& session, const VerbArgs& args) {
  auto json = read_file(args.positional(0));
  if (!json) return std::unexpected(json.error());
  v1::PutLocationRequest request;
  auto parsed = google::protobuf::util::JsonStringToMessage(*json, request.mutable_location());
  if (!parsed.ok()) {
    return usage_error(args.positional(0) +
                       " is not a switchyard.v1.RoamingLocation: " + parsed.ToString());
  }
  v1::PutLocationResponse response;
  if (auto called = call(session, Api::kRoaming, "PutLocation", request, response); !called)
    return called;
  if (session.format == OutputFormat::kJson) {
    session.out << to_json(response, true) << "\n";
    return {};
  }
  session.out << "location " << response.location().id()
              << " stored: " << evses_text(response.location()) << " EVSEs"
              << (response.location().publish() ? "" : ", not published") << "\n";
  return {};
}

Outcome get_location(Session& session, const VerbArgs& args) {
  v1::GetLocationRequest request;
  request.set_location_id(args.positional(0));
  v1::GetLocationResponse response;
  if (auto called = call(session, Api::kRoaming, "GetLocation", request, response); !called)
    return called;
  // A location is a tree: JSON says it best, whatever the output format.
  session.out << to_json(response, true) << "\n";
  return {};
}

Outcome list_locations(Session& session, const VerbArgs& args) {
  v1::ListLocationsRequest request;
  v1::ListLocationsResponse response;
  const std::vector<Column> columns{
      field_column("LOCATION", "id"), field_column("NAME", "name"),
      field_column("CITY", "city"),   field_column("PUBLISH", "publish"),
      Column{"EVSES", evses_text},    field_column("LAST_UPDATED", "last_updated")};
  return list_and_print(session, args, Api::kRoaming, "ListLocations", request, response, columns);
}

}  // namespace

Noun locations_noun() {
  return Noun{
      "locations",
      "Locations published to roaming partners (OCPI locations module) and their EVSEs' live "
      "status (Roaming API).",
      {
          {{"put",
            {"FILE"},
            {},
            "Roaming.PutLocation: create or replace a location from the JSON of "
            "switchyard.v1.RoamingLocation (EVSEs left out become REMOVED)"},
           put_location},
          {{"get", {"ID"}, {}, "Roaming.GetLocation: the location with each EVSE's status"},
           get_location},
          {{"list", {}, {{"limit", "N", "at most N locations"}}, "Roaming.ListLocations"},
           list_locations},
      }};
}

}  // namespace switchyard::ctl

// The OCPI locations module, SENDER side: registered partners pull our published locations
// (GET locations with date_from / date_to / offset / limit, and one location, EVSE or
// connector). Unpublished locations do not exist for them (2003 unknown location).
#pragma once

#include <string>

#include "common/runtime/core/clock.h"
#include "roaming/location_store.h"
#include "roaming/locations.h"
#include "roaming/ocpi_module.h"

namespace switchyard::roaming {

class LocationsSender final : public OcpiModule {
 public:
  // `list_url`: the public URL of our locations list (<base>/2.2.1/locations).
  LocationsSender(LocationStore& store, Party party, std::string list_url, const Clock& clock)
      : store_(store), party_(std::move(party)), list_url_(std::move(list_url)), clock_(clock) {}

  std::string_view identifier() const override { return "locations"; }
  std::string_view role() const override { return "SENDER"; }
  http::Response handle(const Partner& partner, const http::Request& request,
                        std::string_view rest) override;

  static constexpr int kDefaultLimit = 50;
  static constexpr int kMaxLimit = 100;

 private:
  http::Response list(const http::Request& request);
  http::Response one(std::string_view rest);

  LocationStore& store_;
  Party party_;
  std::string list_url_;
  const Clock& clock_;
};

}  // namespace switchyard::roaming

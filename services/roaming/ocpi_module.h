// An OCPI module a registered partner may call under <base>/2.2.1/<identifier>: the registration
// authenticates the caller (credentials token C, or B when we initiated), lists the module in our
// version details, and hands it the request. Locations (SENDER) is the first; sessions, CDRs,
// tariffs, tokens and commands follow the same way.
#pragma once

#include <string_view>

#include "common/runtime/http/server.h"
#include "roaming/partners.h"

namespace switchyard::roaming {

class OcpiModule {
 public:
  virtual ~OcpiModule() = default;
  // "locations": the path segment and the endpoint identifier.
  virtual std::string_view identifier() const = 0;
  // Our role in it: "SENDER" or "RECEIVER".
  virtual std::string_view role() const = 0;
  // `rest` is the path after the identifier: "" or "/LOC1/EVSE1/1". The answer is the OCPI
  // envelope; the caller adds X-Request-ID and X-Correlation-ID.
  virtual http::Response handle(const Partner& partner, const http::Request& request,
                                std::string_view rest) = 0;
};

}  // namespace switchyard::roaming

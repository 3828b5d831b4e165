// The OCPI 2.2.1 configuration objects (Version, VersionDetails, Credentials) and the response
// envelope as the other party sends it, with their JSON codecs. Boost.JSON stays in the .cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/error.h"
#include "roaming/partners.h"

namespace switchyard::roaming {

inline constexpr std::string_view kOcpiVersion = "2.2.1";

struct VersionInfo {
  std::string version;  // "2.2.1"
  std::string url;      // its version details
};

struct VersionDetails {
  std::string version;
  std::vector<PartnerEndpoint> endpoints;
};

// The Credentials object: the token the receiver of it must use towards its sender, the
// sender's versions URL and its roles (business_details.name as PartnerRole::business_name).
struct Credentials {
  std::string token;
  std::string url;
  std::vector<PartnerRole> roles;
};

// Whether `text` is JSON at all (a body that is not: HTTP 400).
bool is_json(std::string_view text);

// A Credentials object with every field checked; kInvalidArgument "<field>: <problem>", e.g.
// "roles[0].business_details.name: missing".
Result<Credentials> credentials_from_json(std::string_view json);
std::string credentials_json(const Credentials& credentials);

// `data` of a versions answer / a version details answer; kInvalidArgument naming the field.
Result<std::vector<VersionInfo>> versions_from_json(std::string_view json);
Result<VersionDetails> version_details_from_json(std::string_view json);
std::string versions_json(const std::vector<VersionInfo>& versions);
std::string version_details_json(const VersionDetails& details);

// A response envelope as received.
struct ReceivedEnvelope {
  int status_code = 0;
  std::string status_message;
  std::string data_json;  // `data` serialised again; empty when absent or null
};
// kInvalidArgument when `body` is not an envelope (not JSON, no numeric status_code).
Result<ReceivedEnvelope> envelope_from_json(std::string_view body);

}  // namespace switchyard::roaming

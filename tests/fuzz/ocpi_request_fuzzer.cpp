// libFuzzer target: what an OCPI partner sends us, parsed. Byte 0 picks the parser, the rest is
// its input (for the token patch: the token, a NUL byte, the patch). Properties, beyond "no
// crash, no leak, no sanitizer report":
//  * Credentials, versions and version details that parse serialize to JSON that parses again
//    to the same values;
//  * a token patch that applies gives a token whose stored JSON parses as a token again, with
//    the same identity (country, party, uid, type: a patch cannot change them);
//  * a paging query either fails naming a parameter or gives 0 <= offset, 1 <= limit <= max;
//  * an Authorization header never yields an empty token;
//  * Hubject's answer (OICP eRoamingAcknowledgment) is a success only when it says Result true,
//    and a refusal's message names the operation.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/runtime/http/server.h"
#include "roaming/ocpi_envelope.h"
#include "roaming/ocpi_paging.h"
#include "roaming/ocpi_types.h"
#include "roaming/oicp_client.h"
#include "roaming/tokens.h"

using namespace switchyard;
using namespace switchyard::roaming;

namespace {

[[noreturn]] void fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "%s\ninput: %.*s\n", what, static_cast<int>(input.size()), input.data());
  std::abort();
}

bool same_roles(const std::vector<PartnerRole>& a, const std::vector<PartnerRole>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].role != b[i].role || a[i].country_code != b[i].country_code ||
        a[i].party_id != b[i].party_id || a[i].business_name != b[i].business_name) {
      return false;
    }
  }
  return true;
}

void credentials(std::string_view input) {
  auto c = credentials_from_json(input);
  if (!c) return;
  auto again = credentials_from_json(credentials_json(*c));
  if (!again || again->token != c->token || again->url != c->url ||
      !same_roles(again->roles, c->roles)) {
    fail("credentials do not survive a round trip", input);
  }
}

void versions(std::string_view input) {
  auto v = versions_from_json(input);
  if (!v) return;
  auto again = versions_from_json(versions_json(*v));
  if (!again || again->size() != v->size()) fail("versions do not survive a round trip", input);
  for (std::size_t i = 0; i < v->size(); ++i) {
    if ((*again)[i].version != (*v)[i].version || (*again)[i].url != (*v)[i].url) {
      fail("versions do not survive a round trip", input);
    }
  }
}

void version_details(std::string_view input) {
  auto d = version_details_from_json(input);
  if (!d) return;
  auto again = version_details_from_json(version_details_json(*d));
  if (!again || again->version != d->version || again->endpoints.size() != d->endpoints.size()) {
    fail("version details do not survive a round trip", input);
  }
  for (std::size_t i = 0; i < d->endpoints.size(); ++i) {
    const auto& a = again->endpoints[i];
    const auto& b = d->endpoints[i];
    if (a.identifier != b.identifier || a.role != b.role || a.url != b.url) {
      fail("version details do not survive a round trip", input);
    }
  }
}

void token_and_patch(std::string_view input) {
  const auto nul = input.find('\0');
  const std::string_view body = input.substr(0, nul);
  auto token = token_from_json(body);
  if (!token || nul == std::string_view::npos) return;
  auto patched = patched_token(*token, input.substr(nul + 1));
  if (!patched) return;
  auto again = token_from_json(patched->json);
  if (!again || again->uid != token->uid || again->type != token->type ||
      again->country_code != token->country_code || again->party_id != token->party_id) {
    fail("a patched token does not parse again with the same identity", input);
  }
}

void paging(std::string_view input) {
  http::Request request;
  request.method = "GET";
  request.path = "/ocpi/cpo/2.2.1/locations";
  request.query = std::string(input);
  request.target = request.path + "?" + request.query;
  constexpr int kMax = 100;
  auto page = page_request(request, 50, kMax);
  if (!page) {
    if (page.error().message.find(':') == std::string::npos) {
      fail("a paging error that names no parameter", input);
    }
    return;
  }
  if (page->offset < 0 || page->limit < 1 || page->limit > kMax) {
    fail("a page outside its bounds", input);
  }
}

void headers_and_paths(std::string_view input) {
  for (const std::string& token : authorization_tokens(input)) {
    if (token.empty()) fail("an empty token from an Authorization header", input);
  }
  (void)path_segments(input);
  (void)http::url_decode(input);
  (void)redact_token_path(input);
}

void oicp_acknowledgement(std::string_view input) {
  auto read = read_acknowledgement("evse-data", 200, input);
  if (read && input.find("true") == std::string_view::npos) {
    fail("an acknowledgement without Result true is a success", input);
  }
  if (!read && !read.error().message.starts_with("evse-data: ")) {
    fail("a refused acknowledgement does not name the operation", input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 8) {
    case 0:
      credentials(input);
      break;
    case 1:
      versions(input);
      break;
    case 2:
      version_details(input);
      break;
    case 3:
      (void)envelope_from_json(input);
      break;
    case 4:
      token_and_patch(input);
      break;
    case 5:
      paging(input);
      break;
    case 7:
      oicp_acknowledgement(input);
      break;
    default:
      headers_and_paths(input);
      break;
  }
  return 0;
}

// OCPI 2.2.1 pagination of a sender's list (transport and format, 4.1.x): the date_from /
// date_to / offset / limit parameters, and the X-Total-Count, X-Limit and Link headers of the
// answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/runtime/core/error.h"
#include "common/runtime/http/server.h"

namespace switchyard::roaming {

struct PageRequest {
  int max_limit = 0;                    // the server's maximum page size: X-Limit
  std::optional<std::int64_t> from_ms;  // date_from, inclusive
  std::optional<std::int64_t> to_ms;    // date_to, exclusive
  int offset = 0;
  int limit = 0;  // what the server applies: min(asked, max), `default_limit` when not asked
};

// kInvalidArgument naming the parameter ("date_from: not an RFC 3339 time", "offset: not a
// non-negative integer", "date_to: not after date_from"). A limit over `max_limit` is lowered to
// it (OCPI: the server may return fewer than asked and says so in X-Limit).
Result<PageRequest> page_request(const http::Request& request, int default_limit, int max_limit);

// X-Total-Count and X-Limit (the server's maximum page size), and Link: <url?...&offset=next>;
// rel="next" when objects follow the `returned` ones. `list_url` is the public URL of the list (no
// query); the next link keeps the date window.
void set_page_headers(http::Response& response, const std::string& list_url,
                      const PageRequest& page, std::int64_t total, std::size_t returned);

}  // namespace switchyard::roaming

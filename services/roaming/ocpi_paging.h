// OCPI 2.2.1 pagination of a sender's list (transport and format, 4.1.x): the date_from /
// date_to / offset / limit parameters, and the X-Total-Count, X-Limit and Link headers of the
// answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// A SENDER module that serves only its list: 405 / 2000 for a method other than GET, 404 / 2000
// for a path below the list; nullopt when the request is a GET of the list.
std::optional<http::Response> refuse_all_but_the_list(const http::Request& request,
                                                      std::string_view rest,
                                                      std::string_view module,
                                                      std::chrono::system_clock::time_point now);

// One page of a SENDER's list: the objects' JSON texts, how many the window holds in all, and how
// many objects the page covered (the next link starts after them, shown or not).
struct ListedPage {
  std::vector<std::string> objects;
  std::int64_t total = 0;
  std::size_t covered = 0;
};

// GET <list_url>: the paging parameters checked (400 / 2001 naming one), `fetch` asked for the
// page, answered as the envelope with the paging headers. `fetch` failing is 503 / 3000 "<module>
// unavailable" when the error is kUnavailable (a service it depends on), 500 / 3000 otherwise;
// logged either way.
http::Response list_response(const http::Request& request, std::string_view module,
                             const std::string& list_url, std::chrono::system_clock::time_point now,
                             int default_limit, int max_limit,
                             const std::function<Result<ListedPage>(const PageRequest&)>& fetch);

}  // namespace switchyard::roaming

// OCPI pagination (see ocpi_paging.h).
#include "roaming/ocpi_paging.h"

#include <charconv>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/log.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {
namespace {

// OCPI times are UTC; a time without a zone designator is UTC too.
std::optional<std::int64_t> parse_time(std::string text) {
  const bool has_zone =
      !text.empty() &&
      (text.back() == 'Z' || text.back() == 'z' ||
       (text.size() > 19 && (text[text.size() - 6] == '+' || text[text.size() - 6] == '-')));
  if (!has_zone) text += 'Z';
  auto t = parse_rfc3339(text);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

std::optional<int> parse_count(const std::string& text) {
  int v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || v < 0) return std::nullopt;
  return v;
}

Error invalid(const std::string& what) { return Error{ErrorCode::kInvalidArgument, what}; }

// Query values in a link: only what our own parameters can hold needs escaping.
std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '+' || c == ':' || c == '&' || c == '=' || c == ' ' || c == '%') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      out += kHex[static_cast<unsigned char>(c) & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Result<PageRequest> page_request(const http::Request& request, int default_limit, int max_limit) {
  PageRequest page;
  page.limit = default_limit;
  page.max_limit = max_limit;
  for (const char* name : {"date_from", "date_to"}) {
    auto value = request.query_param(name);
    if (!value || value->empty()) continue;
    auto ms = parse_time(*value);
    if (!ms)
      return std::unexpected(
          invalid(std::string(name) + ": '" + *value + "' is not an RFC 3339 time"));
    (std::string_view(name) == "date_from" ? page.from_ms : page.to_ms) = *ms;
  }
  if (page.from_ms && page.to_ms && *page.to_ms <= *page.from_ms) {
    return std::unexpected(invalid("date_to: not after date_from"));
  }
  if (auto value = request.query_param("offset"); value && !value->empty()) {
    auto n = parse_count(*value);
    if (!n) return std::unexpected(invalid("offset: '" + *value + "' is not a whole number >= 0"));
    page.offset = *n;
  }
  if (auto value = request.query_param("limit"); value && !value->empty()) {
    auto n = parse_count(*value);
    if (!n || *n == 0) {
      return std::unexpected(invalid("limit: '" + *value + "' is not a whole number >= 1"));
    }
    page.limit = std::min(*n, max_limit);
  }
  return page;
}

void set_page_headers(http::Response& response, const std::string& list_url,
                      const PageRequest& page, std::int64_t total, std::size_t returned) {
  response.headers.emplace_back("X-Total-Count", std::to_string(total));
  response.headers.emplace_back("X-Limit",
                                std::to_string(page.max_limit > 0 ? page.max_limit : page.limit));
  const std::int64_t next =
      static_cast<std::int64_t>(page.offset) + static_cast<std::int64_t>(returned);
  if (returned == 0 || next >= total) return;
  std::string url =
      list_url + "?offset=" + std::to_string(next) + "&limit=" + std::to_string(page.limit);
  auto when = [](std::int64_t ms) {
    return escape(
        format_rfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms))));
  };
  if (page.from_ms) url += "&date_from=" + when(*page.from_ms);
  if (page.to_ms) url += "&date_to=" + when(*page.to_ms);
  response.headers.emplace_back("Link", "<" + url + ">; rel=\"next\"");
}

std::optional<http::Response> refuse_all_but_the_list(const http::Request& request,
                                                      std::string_view rest,
                                                      std::string_view module,
                                                      std::chrono::system_clock::time_point now) {
  const std::string name(module);
  if (request.method != "GET") {
    return envelope_response(
        405, OcpiStatus::kClientError,
        "method " + request.method + " not allowed on " + name + " (we are its sender: GET only)",
        {}, now);
  }
  if (!rest.empty() && rest != "/") {
    return envelope_response(404, OcpiStatus::kClientError,
                             name + ": only the list is served (GET " + name + ")", {}, now);
  }
  return std::nullopt;
}

http::Response list_response(const http::Request& request, std::string_view module,
                             const std::string& list_url, std::chrono::system_clock::time_point now,
                             int default_limit, int max_limit,
                             const std::function<Result<ListedPage>(const PageRequest&)>& fetch) {
  auto page = page_request(request, default_limit, max_limit);
  if (!page) {
    return envelope_response(400, OcpiStatus::kInvalidParameters, page.error().message, {}, now);
  }
  auto found = fetch(*page);
  if (!found) {
    log::error("OCPI list unavailable", {{"module", module}, {"error", found.error().message}});
    return envelope_response(found.error().code == ErrorCode::kUnavailable ? 503 : 500,
                             OcpiStatus::kServerError, std::string(module) + " unavailable", {},
                             now);
  }
  std::string data = "[";
  for (const auto& object : found->objects) {
    if (data.size() > 1) data += ',';
    data += object;
  }
  data += ']';
  http::Response response = envelope_response(200, OcpiStatus::kSuccess, "", data, now);
  set_page_headers(response, list_url, *page, found->total, found->covered);
  return response;
}

}  // namespace switchyard::roaming

// Following next_page_token through a list RPC until the list is exhausted or a limit is reached,
// for any request with page_size/page_token and response with next_page_token (by reflection).
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <optional>

#include "common/runtime/core/error.h"

namespace switchyard::ctl {

// Fetches one page: `request` in, `page` out.
using PageFetch = std::function<Result<void>(const google::protobuf::Message& request,
                                             google::protobuf::Message& page)>;

// Fills `merged` with the elements of every page, in order (at most `limit` when given); its
// next_page_token is left empty. Requests without paging fields are fetched once. `request` gets
// its page_size (from the limit, at most 1000) and page_token set as it goes.
Result<void> fetch_all_pages(google::protobuf::Message& request, google::protobuf::Message& merged,
                             std::optional<int> limit, const PageFetch& fetch);

// Drops list elements past `limit` (of every repeated message field).
void truncate_lists(google::protobuf::Message& response, int limit);

}  // namespace switchyard::ctl

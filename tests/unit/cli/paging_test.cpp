// List verbs follow next_page_token until the list ends or --limit is reached.
#include "cli/ctl_paging.h"

#include <gtest/gtest.h>

#include "switchyard/v1/authorization.pb.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::ctl {
namespace {

// Three pages of two tokens each: "" -> "p2" -> "p3" -> end.
struct FakeTokenPages {
  std::vector<v1::ListTokensRequest> requests;

  Result<void> operator()(const google::protobuf::Message& request,
                          google::protobuf::Message& page) {
    v1::ListTokensRequest typed;
    typed.CopyFrom(request);
    requests.push_back(typed);
    int index = typed.page_token().empty() ? 0 : typed.page_token()[1] - '1';
    v1::ListTokensResponse response;
    for (int i = 0; i < 2; ++i)
      response.add_tokens()->set_id_token("T" + std::to_string(index * 2 + i));
    if (index < 2) response.set_next_page_token("p" + std::to_string(index + 2));
    page.CopyFrom(response);
    return {};
  }
};

TEST(CtlPaging, FollowsPageTokensUntilExhausted) {
  FakeTokenPages server;
  v1::ListTokensRequest request;
  v1::ListTokensResponse merged;
  ASSERT_TRUE(fetch_all_pages(request, merged, std::nullopt, std::ref(server)));
  ASSERT_EQ(merged.tokens_size(), 6);
  EXPECT_EQ(merged.tokens(5).id_token(), "T5");
  EXPECT_EQ(merged.next_page_token(), "");
  ASSERT_EQ(server.requests.size(), 3u);
  EXPECT_EQ(server.requests[1].page_token(), "p2");
  EXPECT_EQ(server.requests[2].page_token(), "p3");
}

TEST(CtlPaging, StopsAtLimitAndAsksForThatPageSize) {
  FakeTokenPages server;
  v1::ListTokensRequest request;
  v1::ListTokensResponse merged;
  ASSERT_TRUE(fetch_all_pages(request, merged, 3, std::ref(server)));
  EXPECT_EQ(merged.tokens_size(), 3);
  EXPECT_EQ(server.requests.size(), 2u);
  EXPECT_EQ(server.requests[0].page_size(), 3);
}

TEST(CtlPaging, FetchesUnpagedListsOnce) {
  int calls = 0;
  v1::ListTariffsRequest request;
  v1::ListTariffsResponse merged;
  auto fetch = [&](const google::protobuf::Message&,
                   google::protobuf::Message& page) -> Result<void> {
    ++calls;
    v1::ListTariffsResponse response;
    response.add_tariffs()->set_tariff_id("default");
    page.CopyFrom(response);
    return {};
  };
  ASSERT_TRUE(fetch_all_pages(request, merged, std::nullopt, fetch));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(merged.tariffs_size(), 1);
}

TEST(CtlPaging, FailsWhenServerRepeatsAPageToken) {
  v1::ListTokensRequest request;
  v1::ListTokensResponse merged;
  auto fetch = [](const google::protobuf::Message&,
                  google::protobuf::Message& page) -> Result<void> {
    v1::ListTokensResponse response;
    response.set_next_page_token("same");
    page.CopyFrom(response);
    return {};
  };
  EXPECT_FALSE(fetch_all_pages(request, merged, std::nullopt, fetch));
}

TEST(CtlPaging, PassesCallErrorsThrough) {
  v1::ListTokensRequest request;
  v1::ListTokensResponse merged;
  auto fetch = [](const google::protobuf::Message&, google::protobuf::Message&) -> Result<void> {
    return make_error(ErrorCode::kUnavailable, "down");
  };
  auto result = fetch_all_pages(request, merged, std::nullopt, fetch);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "down");
}

}  // namespace
}  // namespace switchyard::ctl

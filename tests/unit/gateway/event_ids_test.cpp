// Event ids are UUIDv7: as text they sort in the order one gateway thread made them, even
// within one millisecond, so a charger's events read back by (received_at, event id) stay in the
// order it sent them.
#include "gateway/event_ids.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace switchyard::gateway {
namespace {

// The id's text as a string, for comparing and matching.
std::string id_text(EventIds& ids, std::int64_t unix_ms) {
  const EventIds::Text text = ids.next(unix_ms);
  return {text.data(), text.size()};
}

const std::regex kUuid7("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

TEST(EventIdsTest, AreUuidVersion7WithTheTimeInFront) {
  EventIds ids(1);
  const std::int64_t ms = 1'764'900'000'123;  // 2025-12-05
  const std::string id = id_text(ids, ms);
  EXPECT_TRUE(std::regex_match(id, kUuid7)) << id;
  const std::string hex = id.substr(0, 8) + id.substr(9, 4);
  EXPECT_EQ(std::stoll(hex, nullptr, 16), ms);
}

TEST(EventIdsTest, SortInTheOrderMadeWithinOneMillisecondAndPastTheCounter) {
  EventIds ids(2);
  std::string last = id_text(ids, 1000);
  for (int i = 0; i < 10'000; ++i) {  // more than the 4,096 a millisecond's counter holds
    const std::string next = id_text(ids, 1000);
    ASSERT_LT(last, next) << "id " << i;
    ASSERT_TRUE(std::regex_match(next, kUuid7)) << next;
    last = next;
  }
  // The clock stepping back does not make an earlier id either.
  const std::string after_step = id_text(ids, 500);
  EXPECT_LT(last, after_step);
  // A later millisecond starts the counter again, still after everything before it.
  const std::string later = id_text(ids, 5000);
  EXPECT_LT(after_step, later);
  EXPECT_EQ(later.substr(15, 3), "000");
}

TEST(EventIdsTest, DifferInTheirRandomPart) {
  EventIds a(3);
  EventIds b(4);
  EXPECT_NE(id_text(a, 1000), id_text(b, 1000));
}

}  // namespace
}  // namespace switchyard::gateway

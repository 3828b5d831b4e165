// The SQLite event log's in-memory tail: one run of consecutive commits, started over at a gap,
// trimmed to its byte budget, and a position it can serve only when nothing after it is missing.
#include "common/runtime/bus/event_log_tail.h"

#include <gtest/gtest.h>

namespace switchyard::bus::event_log {
namespace {

// A commit of `count` events from `first`, each with a 100-byte value.
std::shared_ptr<const TailBatch> commit(std::int64_t first, int count) {
  auto batch = std::make_shared<TailBatch>();
  for (int i = 0; i < count; ++i) {
    batch->push_back(TailEvent{first + i, "t", "k", std::string(100, 'v')});
  }
  return batch;
}

std::vector<std::int64_t> seqs(const Tail::Snapshot& snapshot) {
  std::vector<std::int64_t> out;
  for (const auto& batch : snapshot.batches) {
    for (const auto& e : *batch) out.push_back(e.seq);
  }
  return out;
}

TEST(EventLogTail, ServesEveryPositionFromTheFileEndOn) {
  Tail tail(1 << 20);
  tail.reset(10);  // the file holds events up to 10
  EXPECT_EQ(tail.last(), 10);
  EXPECT_FALSE(tail.after(9));  // event 10 is only in the file
  auto empty = tail.after(10);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->batches.empty());
  EXPECT_EQ(empty->last, 10);

  tail.append(commit(11, 3));
  tail.append(commit(14, 2));
  auto all = tail.after(10);
  ASSERT_TRUE(all);
  EXPECT_EQ(seqs(*all), (std::vector<std::int64_t>{11, 12, 13, 14, 15}));
  EXPECT_EQ(all->last, 15);
  // Only the commits holding something after the position; the first may hold earlier events.
  auto later = tail.after(12);
  ASSERT_TRUE(later);
  EXPECT_EQ(seqs(*later), (std::vector<std::int64_t>{11, 12, 13, 14, 15}));
  auto newest = tail.after(13);
  ASSERT_TRUE(newest);
  EXPECT_EQ(seqs(*newest), (std::vector<std::int64_t>{14, 15}));
  auto nothing = tail.after(15);
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->batches.empty());
}

TEST(EventLogTail, AGapStartsItOver) {
  Tail tail(1 << 20);
  tail.reset(0);
  tail.append(commit(1, 3));
  tail.append(commit(7, 2));  // 4..6 were written by someone else
  EXPECT_FALSE(tail.after(3));
  EXPECT_FALSE(tail.after(5));
  auto from_gap = tail.after(6);
  ASSERT_TRUE(from_gap);
  EXPECT_EQ(seqs(*from_gap), (std::vector<std::int64_t>{7, 8}));
  EXPECT_EQ(tail.last(), 8);
}

TEST(EventLogTail, DropsTheOldestCommitsPastItsBudget) {
  const std::size_t one = [] {
    Tail probe(1 << 20);
    probe.append(commit(1, 1));
    return probe.bytes();
  }();
  Tail tail(3 * one);
  tail.reset(0);
  for (int i = 1; i <= 5; ++i) tail.append(commit(i, 1));
  EXPECT_LE(tail.bytes(), 3 * one);
  EXPECT_FALSE(tail.after(1));  // 2 is gone
  auto kept = tail.after(2);
  ASSERT_TRUE(kept);
  EXPECT_EQ(seqs(*kept), (std::vector<std::int64_t>{3, 4, 5}));
  // A commit larger than the whole budget is not kept, and nothing before it can be served.
  tail.append(commit(6, 10));
  EXPECT_EQ(tail.bytes(), 0U);
  EXPECT_FALSE(tail.after(5));
  ASSERT_TRUE(tail.after(15));
  EXPECT_EQ(tail.last(), 15);
}

TEST(EventLogTail, ForgetsTheCommitsTheRetentionDeletedFromTheFile) {
  Tail tail(1 << 20);
  tail.reset(0);
  tail.append(commit(1, 3));
  tail.append(commit(4, 3));
  tail.append(commit(7, 3));
  tail.forget_before(5);        // 1..4 deleted from the file: the commit 1..3 goes, 4..6 stays
  EXPECT_FALSE(tail.after(0));  // a new consumer reads the file, which starts at 5
  auto on = tail.after(3);
  ASSERT_TRUE(on);
  EXPECT_EQ(seqs(*on), (std::vector<std::int64_t>{4, 5, 6, 7, 8, 9}));
  tail.forget_before(20);  // past everything: nothing held, the newest number stays
  EXPECT_EQ(tail.bytes(), 0U);
  EXPECT_EQ(tail.last(), 9);
  ASSERT_TRUE(tail.after(9));
  EXPECT_FALSE(tail.after(8));
}

}  // namespace
}  // namespace switchyard::bus::event_log

// The loadgen's log-linear latency histogram: bucket layout, percentiles, merging.
#include "loadgen/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace switchyard::loadgen {
namespace {

TEST(HistogramTest, BucketsTileTheWholeRangeWithoutGapsOrOverlap) {
  EXPECT_EQ(Histogram::bucket_low(0), 0u);
  for (std::size_t b = 1; b < Histogram::kBuckets; ++b) {
    ASSERT_EQ(Histogram::bucket_low(b), Histogram::bucket_high(b - 1) + 1) << b;
  }
  EXPECT_EQ(Histogram::bucket_high(Histogram::kBuckets - 1), UINT64_MAX);
  EXPECT_EQ(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets - 1);
}

TEST(HistogramTest, EveryValueFallsInABucketNoWiderThanOneSixtyFourthOfIt) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t v = rng() >> (rng() % 64);
    const std::size_t b = Histogram::bucket_of(v);
    ASSERT_LE(Histogram::bucket_low(b), v);
    ASSERT_GE(Histogram::bucket_high(b), v);
    if (v >= Histogram::kExact) {
      ASSERT_LE(Histogram::bucket_high(b) - Histogram::bucket_low(b), v / 64) << v;
    } else {
      ASSERT_EQ(Histogram::bucket_low(b), v);  // exact below 128
    }
  }
}

TEST(HistogramTest, PercentilesOfAUniformSpreadAreWithinTheBucketPrecision) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100'000; ++v) h.record(v * 1000);  // 1 us .. 100 ms in ns
  EXPECT_EQ(h.count(), 100'000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100'000'000u);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = q * 100'000 * 1000;
    const auto got = static_cast<double>(h.percentile(q));
    EXPECT_GE(got, exact) << q;  // the bucket's high end: never optimistic
    EXPECT_LE(got, exact * (1 + 1.0 / 64) + 1000) << q;
  }
  EXPECT_EQ(h.percentile(1.0), h.max());
  EXPECT_EQ(h.percentile(0.0), h.min());
  EXPECT_NEAR(h.mean(), 50'000.5 * 1000, 1);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 0; v < 100; ++v) h.record(v);
  EXPECT_EQ(h.percentile(0.5), 49u);
  EXPECT_EQ(h.percentile(0.99), 98u);
}

TEST(HistogramTest, PercentileNeverExceedsTheLargestRecordedValue) {
  Histogram h;
  h.record(1'000'001);
  EXPECT_EQ(h.percentile(0.5), 1'000'001u);
  EXPECT_EQ(h.percentile(0.999), 1'000'001u);
}

TEST(HistogramTest, MergingEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(42);
  Histogram all;
  Histogram a;
  Histogram b;
  for (int i = 0; i < 50'000; ++i) {
    const std::uint64_t v = rng() % 10'000'000;
    all.record(v);
    (i % 3 == 0 ? a : b).record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double q : {0.1, 0.5, 0.9, 0.99, 0.999}) EXPECT_EQ(a.percentile(q), all.percentile(q));
}

TEST(HistogramTest, EmptyHistogramReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(0.99), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  Histogram other;
  other.record(5);
  other.reset();
  h.merge(other);
  EXPECT_EQ(h.count(), 0u);
}

TEST(HistogramTest, RecordsWithACount) {
  Histogram h;
  h.record(10, 99);
  h.record(1'000'000, 1);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.percentile(0.99), 10u);
  EXPECT_EQ(h.percentile(1.0), 1'000'000u);
}

}  // namespace
}  // namespace switchyard::loadgen

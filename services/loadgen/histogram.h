// A latency histogram with log-linear buckets (HDR-like): exact below 128 units, then 64 linear
// sub-buckets per power of two, so any recorded value is known to within 1/64 (1.6 %). Fixed
// size, no allocation after construction, mergeable (bucket-wise sum), so every thread records
// into its own and the totals are merged at the end.
#pragma once

#include <array>
#include <cstdint>

namespace switchyard::loadgen {

class Histogram {
 public:
  static constexpr int kSubBits = 7;  // 2^7 exact values, then 2^6 sub-buckets per octave
  static constexpr std::uint64_t kExact = std::uint64_t{1} << kSubBits;
  static constexpr std::uint64_t kHalf = kExact / 2;
  static constexpr std::size_t kBuckets = kExact + (64 - kSubBits) * kHalf;

  // Values are in whatever unit the caller chooses (the loadgen records nanoseconds).
  void record(std::uint64_t value, std::uint64_t count = 1);
  void merge(const Histogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }

  // The value at quantile q (0..1): the highest value of the bucket that holds the q-th
  // recorded value, clamped to the largest value recorded. 0 when empty.
  std::uint64_t percentile(double q) const;

  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t bucket_low(std::size_t bucket);
  static std::uint64_t bucket_high(std::size_t bucket);

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;  // wraps after ~584 years of nanoseconds: fine
};

}  // namespace switchyard::loadgen

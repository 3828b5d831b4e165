// Log-linear latency histogram: bucket arithmetic and percentiles.
#include "loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace switchyard::loadgen {

std::size_t Histogram::bucket_of(std::uint64_t value) {
  if (value < kExact) return static_cast<std::size_t>(value);
  const int shift = std::bit_width(value) - kSubBits;  // >= 1
  const std::uint64_t top = value >> shift;            // in [kHalf, kExact)
  return static_cast<std::size_t>(kExact + static_cast<std::uint64_t>(shift - 1) * kHalf +
                                  (top - kHalf));
}

std::uint64_t Histogram::bucket_low(std::size_t bucket) {
  if (bucket < kExact) return bucket;
  const std::size_t rest = bucket - kExact;
  const int shift = static_cast<int>(rest / kHalf) + 1;
  const std::uint64_t top = kHalf + rest % kHalf;
  return top << shift;
}

std::uint64_t Histogram::bucket_high(std::size_t bucket) {
  if (bucket < kExact) return bucket;
  const std::size_t rest = bucket - kExact;
  const int shift = static_cast<int>(rest / kHalf) + 1;
  const std::uint64_t top = kHalf + rest % kHalf;
  // The last bucket ends at UINT64_MAX; ((top + 1) << shift) - 1 wraps to exactly that.
  return ((top + 1) << shift) - 1;
}

void Histogram::record(std::uint64_t value, std::uint64_t count) {
  if (count == 0) return;
  counts_[bucket_of(value)] += count;
  count_ += count;
  sum_ += value * count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() { *this = Histogram(); }

std::uint64_t Histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  if (q <= 0.0) return min_;
  if (q >= 1.0) return max_;
  // The rank of the wanted value, 1-based: the smallest recorded value for q = 0.
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(bucket_high(i), min_, max_);
  }
  return max_;
}

}  // namespace switchyard::loadgen

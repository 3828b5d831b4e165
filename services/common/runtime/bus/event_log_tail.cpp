// The event log's in-memory tail (see the header).
#include "common/runtime/bus/event_log_tail.h"

namespace switchyard::bus::event_log {

void Tail::reset(std::int64_t last) {
  std::lock_guard lock(mutex_);
  batches_.clear();
  bytes_ = 0;
  last_ = last;
  first_ = last + 1;
}

void Tail::append(std::shared_ptr<const TailBatch> batch) {
  if (!batch || batch->empty()) return;
  const std::size_t size = size_of(*batch);
  std::lock_guard lock(mutex_);
  if (batch->front().seq != last_ + 1) {  // a gap: what is held no longer runs on to this
    batches_.clear();
    bytes_ = 0;
    first_ = batch->front().seq;
  }
  last_ = batch->back().seq;
  bytes_ += size;
  batches_.push_back(Held{std::move(batch), size});
  while (bytes_ > max_bytes_ && !batches_.empty()) {
    bytes_ -= batches_.front().bytes;
    batches_.pop_front();
  }
  first_ = batches_.empty() ? last_ + 1 : batches_.front().batch->front().seq;
}

void Tail::forget_before(std::int64_t first) {
  std::lock_guard lock(mutex_);
  while (!batches_.empty() && batches_.front().batch->back().seq < first) {
    bytes_ -= batches_.front().bytes;
    batches_.pop_front();
  }
  first_ = batches_.empty() ? last_ + 1 : batches_.front().batch->front().seq;
}

std::optional<Tail::Snapshot> Tail::after(std::int64_t position) const {
  std::lock_guard lock(mutex_);
  if (first_ > position + 1) return std::nullopt;
  Snapshot snapshot;
  snapshot.last = last_;
  auto from = batches_.end();
  while (from != batches_.begin() && std::prev(from)->batch->back().seq > position) --from;
  for (; from != batches_.end(); ++from) snapshot.batches.push_back(from->batch);
  return snapshot;
}

std::int64_t Tail::last() const {
  std::lock_guard lock(mutex_);
  return last_;
}

std::size_t Tail::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

std::size_t Tail::size_of(const TailBatch& batch) {
  std::size_t size = sizeof(TailBatch) + batch.size() * sizeof(TailEvent);
  for (const TailEvent& e : batch) size += e.topic.size() + e.key.size() + e.value.size();
  return size;
}

}  // namespace switchyard::bus::event_log

// Live transaction changes for StreamTransactions: the projector publishes each committed change,
// every subscriber's listener gets it (on the projector's thread: listeners must not block).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>

#include "transactions/session_fold.h"

namespace switchyard::transactions {

class TransactionHub {
 public:
  using Listener = std::function<void(const TransactionRow& row, Change change)>;

  std::uint64_t subscribe(Listener listener) {
    std::lock_guard lock(mutex_);
    listeners_.emplace(++next_id_, std::move(listener));
    return next_id_;
  }
  // After it returns, the listener is not running and will not run again.
  void unsubscribe(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    listeners_.erase(id);
  }
  void publish(const TransactionRow& row, Change change) {
    std::lock_guard lock(mutex_);
    for (auto& [id, listener] : listeners_) listener(row, change);
  }
  std::size_t subscribers() const {
    std::lock_guard lock(mutex_);
    return listeners_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, Listener> listeners_;
};

}  // namespace switchyard::transactions

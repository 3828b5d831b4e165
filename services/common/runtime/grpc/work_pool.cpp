// The blocking work pool.
#include "common/runtime/grpc/work_pool.h"

namespace switchyard {

WorkPool::WorkPool(int threads, std::size_t max_queue) : max_queue_(max_queue) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this](const std::stop_token& stop) {
      for (;;) {
        std::move_only_function<void()> task;
        {
          std::unique_lock lock(mutex_);
          if (!cv_.wait(lock, stop, [this] { return !tasks_.empty(); })) return;
          task = std::move(tasks_.front());
          tasks_.pop_front();
          ++running_;
        }
        task();
        task = nullptr;  // what it holds goes with it, before the pool may count as idle
        {
          std::lock_guard lock(mutex_);
          --running_;
          if (running_ == 0 && tasks_.empty()) idle_.notify_all();
        }
      }
    });
  }
}

WorkPool::~WorkPool() {
  for (auto& t : threads_) t.request_stop();
  cv_.notify_all();
  threads_.clear();
}

void WorkPool::close_and_drain() {
  std::unique_lock lock(mutex_);
  closed_ = true;
  idle_.wait(lock, [this] { return running_ == 0 && tasks_.empty(); });
}

bool WorkPool::post(std::move_only_function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (closed_ || tasks_.size() >= max_queue_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

}  // namespace switchyard

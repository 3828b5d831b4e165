// Calls from the I/O threads to services that answer on threads of their own (the owner registry
// on Redis, decisions and credentials over gRPC), counted while their callbacks live: such a
// callback holds a session and posts to the session's io_context, so the gateway frees its I/O
// threads' io_contexts only once every callback is gone (Connections::stop()).
//
// A callback captures a Token, or a Holding of what it holds; copies count too (std::function
// copies its callable): a few atomic increments and decrements per call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>

namespace switchyard::gateway {

class OutsideCalls {
 public:
  // The count is shared with the tokens: a callback that outlives the gateway (a stop that gave
  // up waiting) still leaves it safely.
  class Token {
   public:
    explicit Token(std::shared_ptr<std::atomic<std::size_t>> count) : count_(std::move(count)) {
      count_->fetch_add(1);
    }
    Token(const Token& other) : count_(other.count_) {
      if (count_) count_->fetch_add(1);
    }
    Token(Token&& other) noexcept = default;
    Token& operator=(const Token&) = delete;
    Token& operator=(Token&&) = delete;
    ~Token() {
      if (count_) count_->fetch_sub(1);
    }

   private:
    std::shared_ptr<std::atomic<std::size_t>> count_;
  };

  OutsideCalls() = default;
  OutsideCalls(const OutsideCalls&) = delete;
  OutsideCalls& operator=(const OutsideCalls&) = delete;

  // Counts a call until the token and all its copies are gone.
  Token enter() { return Token(count_); }

  // What a callback holds (a session) while its call is counted: members go in reverse order,
  // so the value is released before the count drops (a lambda's captures have no set order).
  template <typename T>
  struct Holding {
    Token call;
    T value;
  };
  template <typename T>
  Holding<std::decay_t<T>> hold(T&& value) {
    return Holding<std::decay_t<T>>{enter(), std::forward<T>(value)};
  }

  std::size_t in_flight() const { return count_->load(); }

  // True once no call is in flight; false if `timeout` passed first. Polls: a pod stops once.
  bool wait_idle(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (count_->load() > 0) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

 private:
  std::shared_ptr<std::atomic<std::size_t>> count_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace switchyard::gateway

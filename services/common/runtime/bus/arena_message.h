// A protobuf message on an arena whose first block is inside this object (on the caller's stack,
// or in a pooled record): parsing or building a typical event allocates nothing but its strings
// past the small-string size (more blocks come from the heap only for a large one). Every
// consumer parses every event of its topics and the gateway builds one per CALL; with the
// messages on the heap those were most of the allocations per message.
#pragma once

#include <google/protobuf/arena.h>

#include <cstddef>

namespace switchyard::bus {

template <typename Message, std::size_t kBlockBytes = 4096>
class ArenaMessage {
 public:
  ArenaMessage()
      : arena_(options(block_)),
        message_(google::protobuf::Arena::CreateMessage<Message>(&arena_)) {}
  ArenaMessage(const ArenaMessage&) = delete;
  ArenaMessage& operator=(const ArenaMessage&) = delete;

  Message& operator*() { return *message_; }
  Message* operator->() { return message_; }

  // Frees the message (and all it holds) at once and starts an empty one.
  void reset() {
    arena_.Reset();
    message_ = google::protobuf::Arena::CreateMessage<Message>(&arena_);
  }

 private:
  static google::protobuf::ArenaOptions options(char* block) {
    google::protobuf::ArenaOptions o;
    o.initial_block = block;
    o.initial_block_size = kBlockBytes;
    return o;
  }

  alignas(std::max_align_t) char block_[kBlockBytes];
  google::protobuf::Arena arena_;
  Message* message_;  // on arena_
};

}  // namespace switchyard::bus

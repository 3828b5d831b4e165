// A bump allocator for decoded messages: one per decoder, reset before every frame, so decoding
// allocates from the heap only until the arena has grown to the largest frame seen.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace switchyard::ocpp {

class Arena {
 public:
  explicit Arena(std::size_t block_size = 8192) : block_size_(block_size) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  void* allocate(std::size_t size, std::size_t align) {
    std::size_t offset = (used_ + align - 1) & ~(align - 1);
    if (offset + size > capacity_) {
      grow(size + align);
      offset = (used_ + align - 1) & ~(align - 1);
    }
    used_ = offset + size;
    return current_ + offset;
  }

  std::string_view copy(std::string_view text) {
    if (text.empty()) return {};
    char* out = static_cast<char*>(allocate(text.size(), 1));
    std::memcpy(out, text.data(), text.size());
    return {out, text.size()};
  }

  // Forgets every allocation. When the last round needed several blocks, they are replaced by
  // one block that holds them all, so the next round of the same size needs no new block.
  void reset();

  // Bytes held from the heap.
  std::size_t footprint() const;

 private:
  void grow(std::size_t at_least);

  std::size_t block_size_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<std::size_t> sizes_;
  char* current_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
  std::size_t total_used_ = 0;  // in blocks before the current one
};

}  // namespace switchyard::ocpp

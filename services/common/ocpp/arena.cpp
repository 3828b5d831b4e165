// Arena growth and reset.
#include "common/ocpp/arena.h"

#include <algorithm>

namespace switchyard::ocpp {

void Arena::grow(std::size_t at_least) {
  total_used_ += used_;
  const std::size_t size = std::max(block_size_, at_least);
  blocks_.push_back(std::make_unique<char[]>(size));
  sizes_.push_back(size);
  current_ = blocks_.back().get();
  capacity_ = size;
  used_ = 0;
}

void Arena::reset() {
  if (blocks_.size() > 1) {
    // Several blocks last time: replace them by one that holds what they held.
    const std::size_t needed = total_used_ + used_;
    blocks_.clear();
    sizes_.clear();
    block_size_ = std::max(block_size_, needed + needed / 2);
    current_ = nullptr;
    capacity_ = 0;
  }
  used_ = 0;
  total_used_ = 0;
}

std::size_t Arena::footprint() const {
  std::size_t n = 0;
  for (std::size_t s : sizes_) n += s;
  return n;
}

}  // namespace switchyard::ocpp

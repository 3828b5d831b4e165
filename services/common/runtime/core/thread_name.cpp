#include "common/runtime/core/thread_name.h"

#include <pthread.h>

#include <algorithm>

namespace switchyard {

std::string name_this_thread(std::string_view name) {
  constexpr std::size_t kMaxBytes = 15;  // TASK_COMM_LEN 16, with the terminating NUL
  std::size_t end = std::min(name.size(), kMaxBytes);
  // Not inside a UTF-8 sequence: back to the start of the character cut.
  if (end < name.size()) {
    while (end > 0 && (static_cast<unsigned char>(name[end]) & 0xC0) == 0x80) --end;
  }
  std::string kept(name.substr(0, end));
  pthread_setname_np(pthread_self(), kept.c_str());
  return kept;
}

std::string consumer_thread_name(std::string_view group) {
  constexpr std::string_view kPrefix = "switchyard-";
  if (group.starts_with(kPrefix)) group.remove_prefix(kPrefix.size());
  return "c:" + std::string(group);
}

}  // namespace switchyard

// Names the calling thread, so that `top -H`, `ps -L`, `perf report --sort comm` and
// /proc/<pid>/task/*/comm tell a service's threads apart (the I/O threads, the event log's
// writer, each consumer group) instead of showing the binary's name for all of them.
#pragma once

#include <string>
#include <string_view>

namespace switchyard {

// Linux keeps 15 bytes of a thread's name: a longer one is cut there (at a character
// boundary). Returns the name as set.
std::string name_this_thread(std::string_view name);

// A consumer group's thread name: "c:" and the group without its "switchyard-" prefix
// ("switchyard-status" → "c:status").
std::string consumer_thread_name(std::string_view group);

}  // namespace switchyard

// A thread's name as /proc and `top -H` show it: set for the calling thread only, cut to Linux's
// 15 bytes without splitting a UTF-8 character; consumer groups named without their prefix.
#include "common/runtime/core/thread_name.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <thread>

namespace switchyard {
namespace {

std::string current_name() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

TEST(ThreadName, NamesTheCallingThreadOnly) {
  const std::string before = current_name();
  std::string seen;
  std::thread([&] {
    EXPECT_EQ(name_this_thread("log-writer"), "log-writer");
    seen = current_name();
  }).join();
  EXPECT_EQ(seen, "log-writer");
  EXPECT_EQ(current_name(), before);
}

TEST(ThreadName, CutsToFifteenBytesAtACharacterBoundary) {
  std::thread([] {
    EXPECT_EQ(name_this_thread("c:smart-charging-extra"), "c:smart-chargin");
    EXPECT_EQ(current_name(), "c:smart-chargin");
    // "é" is two bytes at bytes 14 and 15: cut before it, not through it.
    EXPECT_EQ(name_this_thread("abcdefghijklmn\xc3\xa9"), "abcdefghijklmn");
    EXPECT_EQ(current_name(), "abcdefghijklmn");
  }).join();
}

TEST(ThreadName, ConsumerGroupsLoseTheirPrefix) {
  EXPECT_EQ(consumer_thread_name("switchyard-status"), "c:status");
  EXPECT_EQ(consumer_thread_name("billing"), "c:billing");
}

}  // namespace
}  // namespace switchyard

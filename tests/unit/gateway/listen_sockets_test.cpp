// How many listening sockets an OCPP port gets: enough accept queues for --listen-backlog
// under the kernel's net.core.somaxconn, at least one per I/O thread, at most kMaxListenSockets.
#include "gateway/listen_sockets.h"

#include <gtest/gtest.h>

namespace switchyard::gateway {
namespace {

TEST(ListenSocketsTest, EnoughQueuesToHoldTheBacklog) {
  // The default backlog (65535) under the usual cap (4096): 16 queues of 4096.
  EXPECT_EQ(listen_sockets_per_port(1, 65535, 4096), 16);
  EXPECT_EQ(listen_sockets_per_port(1, 16384, 4096), 4);
  EXPECT_EQ(listen_sockets_per_port(1, 16385, 4096), 5);
}

TEST(ListenSocketsTest, OnePerThreadWhenOneQueueHoldsTheBacklog) {
  EXPECT_EQ(listen_sockets_per_port(1, 4096, 4096), 1);
  EXPECT_EQ(listen_sockets_per_port(4, 1024, 65535), 4);
  EXPECT_EQ(listen_sockets_per_port(0, 1024, 65535), 1);
  EXPECT_EQ(listen_sockets_per_port(32, 65535, 4096), 32);  // the threads need more
}

TEST(ListenSocketsTest, CappedAndSafeWhenTheKernelCapIsUnknownOrTiny) {
  EXPECT_EQ(listen_sockets_per_port(2, 65535, 0), 2);  // /proc not readable
  EXPECT_EQ(listen_sockets_per_port(1, 65535, 128), kMaxListenSockets);
}

TEST(ListenSocketsTest, ReadsTheKernelsCap) { EXPECT_GT(kernel_somaxconn(), 0); }

}  // namespace
}  // namespace switchyard::gateway

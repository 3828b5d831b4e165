#include "gateway/listen_sockets.h"

#include <algorithm>
#include <fstream>

namespace switchyard::gateway {

int listen_sockets_per_port(int threads, int backlog, int somaxconn) {
  const int per_thread = std::max(1, threads);
  if (somaxconn <= 0 || backlog <= somaxconn) return per_thread;
  const int needed = (backlog + somaxconn - 1) / somaxconn;
  return std::max(per_thread, std::min(needed, kMaxListenSockets));
}

int kernel_somaxconn() {
  std::ifstream file("/proc/sys/net/core/somaxconn");
  int cap = 0;
  if (!(file >> cap) || cap < 0) return 0;
  return cap;
}

}  // namespace switchyard::gateway

// How many listening sockets an OCPP port gets. Each has an accept queue of its own, which the
// kernel caps at net.core.somaxconn (4096 on most nodes); SYNs that find it full are dropped and
// retried by the charger after 1, 3, 7 s. A reconnect storm of 15,000 chargers into one queue
// so loses most of them for seconds. With SO_REUSEPORT the kernel spreads a port's new
// connections over several sockets, so the pod opens as many as it takes for their queues
// together to hold --listen-backlog, and at least one per I/O thread.
#pragma once

namespace switchyard::gateway {

inline constexpr int kMaxListenSockets = 64;

// `somaxconn` 0: not known (one per thread).
int listen_sockets_per_port(int threads, int backlog, int somaxconn);

// net.core.somaxconn of this network namespace, 0 when it cannot be read.
int kernel_somaxconn();

}  // namespace switchyard::gateway

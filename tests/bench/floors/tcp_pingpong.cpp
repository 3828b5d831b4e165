// bench-tcp-pingpong: the latency floor. A client sends a small message over loopback TCP, a
// server sends it back, the client times each round trip; no WebSocket, no TLS, no parsing.
// Client and server run as two threads pinned to the given cores (the benchmark puts them on
// the two cores, as it does the loadgen and the server under test). Prints p50/p90/p99/p99.9/max
// in microseconds (and one JSON line with --json).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "common/runtime/core/settings.h"

namespace {

using Steady = std::chrono::steady_clock;

void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

bool read_full(int fd, char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t got = recv(fd, data, n, 0);
    if (got <= 0) return false;
    data += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

bool write_full(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t sent = send(fd, data, n, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data += sent;
    n -= static_cast<std::size_t>(sent);
  }
  return true;
}

void serve(int listener, std::size_t size, int cpu) {
  pin(cpu);
  const int fd = accept(listener, nullptr, nullptr);
  if (fd < 0) return;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::vector<char> buf(size);
  while (read_full(fd, buf.data(), size) && write_full(fd, buf.data(), size)) {
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "both";
  std::string address = "127.0.0.1";
  int port = 0;
  std::int64_t count = 100'000;
  std::int64_t warmup = 2'000;
  int size = 64;
  int interval_us = 0;
  int server_cpu = 0;
  int client_cpu = 1;
  bool json = false;
  switchyard::Settings settings("bench-tcp-pingpong", "TCP round-trip latency floor");
  settings.add("mode", mode, "both | server | client")
      .add("address", address, "Server address")
      .add("port", port, "Server port (both: 0 = any)")
      .add("count", count, "Round trips measured")
      .add("warmup", warmup, "Round trips before measuring")
      .add("size", size, "Message bytes")
      .add("interval-us", interval_us, "Pause between round trips (0 = back to back)")
      .add("server-cpu", server_cpu, "Core of the server thread (-1 = any)")
      .add("client-cpu", client_cpu, "Core of the client thread (-1 = any)")
      .add("json", json, "Print one JSON line instead of text");
  if (auto code = settings.parse(argc, argv)) return *code;
  if (size <= 0 || count <= 0) return 2;
  const auto bytes = static_cast<std::size_t>(size);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
  std::thread server;
  if (mode == "both" || mode == "server") {
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener, 16) != 0) {
      std::perror("bench-tcp-pingpong: bind/listen");
      return 1;
    }
    socklen_t len = sizeof addr;
    getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    if (mode == "server") {
      std::fprintf(stderr, "bench-tcp-pingpong serving on port %u\n", ntohs(addr.sin_port));
      for (;;) serve(listener, bytes, server_cpu);
    }
    server = std::thread([listener, bytes, server_cpu] {
      serve(listener, bytes, server_cpu);
      close(listener);
    });
  }

  pin(client_cpu);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("bench-tcp-pingpong: connect");
    return 1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::vector<char> buf(bytes, 'x');
  std::vector<std::int64_t> samples;
  samples.reserve(static_cast<std::size_t>(count));
  auto next = Steady::now();
  for (std::int64_t i = 0; i < warmup + count; ++i) {
    if (interval_us > 0) {
      next += std::chrono::microseconds(interval_us);
      std::this_thread::sleep_until(next);
    }
    const auto start = Steady::now();
    if (!write_full(fd, buf.data(), bytes) || !read_full(fd, buf.data(), bytes)) {
      std::fprintf(stderr, "bench-tcp-pingpong: connection lost\n");
      return 1;
    }
    if (i >= warmup) samples.push_back((Steady::now() - start).count());
  }
  close(fd);
  if (server.joinable()) server.join();

  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1));
    return static_cast<double>(samples[rank]) / 1000.0;
  };
  const double max = static_cast<double>(samples.back()) / 1000.0;
  if (json) {
    std::printf(
        "{\"floor\":\"tcp-pingpong\",\"count\":%zu,\"size\":%d,\"p50_us\":%.2f,\"p90_us\":%.2f,"
        "\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f}\n",
        samples.size(), size, at(0.5), at(0.9), at(0.99), at(0.999), max);
  } else {
    std::printf("tcp ping-pong, %zu round trips of %d bytes (server cpu %d, client cpu %d)\n",
                samples.size(), size, server_cpu, client_cpu);
    std::printf("p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n", at(0.5),
                at(0.9), at(0.99), at(0.999), max);
  }
  return 0;
}

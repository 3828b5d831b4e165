// bench-epoll-echo: the raw transport ceiling. One thread, level-triggered epoll, non-blocking
// sockets and just enough WebSocket to be a WebSocket server: the HTTP upgrade (with the first
// offered subprotocol agreed), unmasking client frames, sending each data frame back unmasked,
// answering ping and close. No library between the socket and the bytes. Prints its counters as
// one JSON line on SIGINT / SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <csignal>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/settings.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Connection {
  int fd = -1;
  bool upgraded = false;
  bool closing = false;
  bool want_write = false;
  std::string in;
  std::string out;
  std::size_t out_sent = 0;
};

struct Counters {
  std::uint64_t connections = 0;
  std::uint64_t messages = 0;
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if ((x | 0x20) != (y | 0x20)) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Answers the HTTP upgrade in `head` (the request up to the blank line). False: not a
// WebSocket upgrade (the connection is closed).
bool upgrade(std::string_view head, std::string& out) {
  std::string_view key;
  std::string_view protocol;
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const std::size_t end = head.find("\r\n", pos + 2);
    const std::string_view line = head.substr(
        pos + 2, end == std::string_view::npos ? std::string_view::npos : end - pos - 2);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      const auto name = line.substr(0, colon);
      const auto value = trim(line.substr(colon + 1));
      if (iequals(name, "Sec-WebSocket-Key")) key = value;
      if (iequals(name, "Sec-WebSocket-Protocol"))
        protocol = trim(value.substr(0, value.find(',')));
    }
    pos = end;
  }
  if (key.empty()) return false;
  std::string material(key);
  material += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
  unsigned char accept[64];
  const int n = EVP_EncodeBlock(accept, digest, SHA_DIGEST_LENGTH);
  out +=
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  out.append(reinterpret_cast<const char*>(accept), static_cast<std::size_t>(n));
  if (!protocol.empty()) {
    out += "\r\nSec-WebSocket-Protocol: ";
    out += protocol;
  }
  out += "\r\n\r\n";
  return true;
}

void append_header(std::string& out, std::uint8_t first, std::uint64_t length) {
  out.push_back(static_cast<char>(first));
  if (length < 126) {
    out.push_back(static_cast<char>(length));
  } else if (length <= 0xFFFF) {
    out.push_back(126);
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xFF));
  } else {
    out.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((length >> shift) & 0xFF));
    }
  }
}

void unmask(char* data, std::size_t n, const unsigned char key[4]) {
  std::uint32_t k32;
  std::memcpy(&k32, key, 4);
  const std::uint64_t k64 = (static_cast<std::uint64_t>(k32) << 32) | k32;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, data + i, 8);
    v ^= k64;
    std::memcpy(data + i, &v, 8);
  }
  for (; i < n; ++i) data[i] = static_cast<char>(data[i] ^ key[i & 3]);
}

// Consumes complete frames from c.in and appends the replies to c.out.
void process_frames(Connection& c, Counters& counters) {
  std::size_t pos = 0;
  const std::size_t size = c.in.size();
  while (size - pos >= 2) {
    auto* p = reinterpret_cast<unsigned char*>(c.in.data() + pos);
    const std::uint8_t first = p[0];
    const bool masked = (p[1] & 0x80) != 0;
    std::uint64_t length = p[1] & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
      if (size - pos < 4) break;
      length = (static_cast<std::uint64_t>(p[2]) << 8) | p[3];
      header = 4;
    } else if (length == 127) {
      if (size - pos < 10) break;
      length = 0;
      for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
      header = 10;
    }
    const std::size_t key_at = header;
    if (masked) header += 4;
    if (size - pos < header + length) break;
    char* payload = c.in.data() + pos + header;
    if (masked) unmask(payload, length, p + key_at);
    const std::uint8_t opcode = first & 0x0F;
    if (opcode == 0x8) {  // close: answer with the same status, then close
      append_header(c.out, 0x88, length < 2 ? 0 : 2);
      if (length >= 2) c.out.append(payload, 2);
      c.closing = true;
      pos += header + length;
      break;
    }
    if (opcode == 0x9) {  // ping -> pong
      append_header(c.out, 0x8A, length);
      c.out.append(payload, length);
    } else if (opcode != 0xA) {  // data frames go back as they came, unmasked
      append_header(c.out, first, length);
      c.out.append(payload, length);
      if ((first & 0x80) != 0) ++counters.messages;
    }
    pos += header + length;
  }
  c.in.erase(0, pos);
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1";
  int port = 9102;
  std::string port_file;
  switchyard::Settings settings(
      "bench-epoll-echo", "Raw epoll WebSocket echo server (one thread), the transport floor");
  settings.add("address", address, "Listen address")
      .add("port", port, "Listen port (0 = any; see --port-file)")
      .add("port-file", port_file, "Write the port listened on to this file");
  if (auto code = settings.parse(argc, argv)) return *code;

  struct sigaction action {};
  action.sa_handler = on_signal;  // no SA_RESTART: epoll_wait returns EINTR
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "bad --address %s\n", address.c_str());
    return 2;
  }
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 4096) != 0) {
    std::perror("bench-epoll-echo: bind/listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  if (!port_file.empty()) std::ofstream(port_file) << ntohs(addr.sin_port) << "\n";
  std::fprintf(stderr, "bench-epoll-echo listening on %s:%u\n", address.c_str(),
               ntohs(addr.sin_port));

  const int epoll = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &ev);

  Counters counters;
  std::vector<epoll_event> events(512);
  std::vector<char> chunk(std::size_t{64} * 1024);
  std::vector<std::unique_ptr<Connection>> by_fd;  // indexed by file descriptor
  auto close_connection = [&](Connection* c) {
    const int fd = c->fd;
    epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    by_fd[static_cast<std::size_t>(fd)].reset();
  };
  auto flush = [&](Connection* c) -> bool {
    while (c->out_sent < c->out.size()) {
      const ssize_t n =
          send(c->fd, c->out.data() + c->out_sent, c->out.size() - c->out_sent, MSG_NOSIGNAL);
      if (n > 0) {
        c->out_sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return false;
    }
    if (c->out_sent == c->out.size()) {
      c->out.clear();
      c->out_sent = 0;
    }
    const bool want = !c->out.empty();
    if (want != c->want_write) {
      epoll_event mod{};
      mod.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
      mod.data.fd = c->fd;
      epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &mod);
      c->want_write = want;
    }
    return !(c->closing && c->out.empty());
  };

  while (g_stop == 0) {
    const int n = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      const int event_fd = events[static_cast<std::size_t>(i)].data.fd;
      if (event_fd == listener) {
        for (;;) {
          const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (by_fd.size() <= static_cast<std::size_t>(fd))
            by_fd.resize(static_cast<std::size_t>(fd) + 1);
          by_fd[static_cast<std::size_t>(fd)] = std::make_unique<Connection>();
          by_fd[static_cast<std::size_t>(fd)]->fd = fd;
          epoll_event add{};
          add.events = EPOLLIN;
          add.data.fd = fd;
          epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &add);
        }
        continue;
      }
      Connection* c = by_fd[static_cast<std::size_t>(event_fd)].get();
      if (c == nullptr) continue;
      const auto flags = events[static_cast<std::size_t>(i)].events;
      if ((flags & EPOLLOUT) != 0 && !flush(c)) {
        close_connection(c);
        continue;
      }
      if ((flags & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) continue;
      const ssize_t got = recv(c->fd, chunk.data(), chunk.size(), 0);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        close_connection(c);
        continue;
      }
      if (got < 0) continue;
      c->in.append(chunk.data(), static_cast<std::size_t>(got));
      if (!c->upgraded) {
        const auto end = c->in.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (c->in.size() > std::size_t{16} * 1024) close_connection(c);
          continue;
        }
        if (!upgrade(std::string_view(c->in).substr(0, end + 2), c->out)) {
          close_connection(c);
          continue;
        }
        c->in.erase(0, end + 4);
        c->upgraded = true;
        ++counters.connections;
      }
      process_frames(*c, counters);
      if (!c->out.empty() && !c->want_write && !flush(c)) close_connection(c);
    }
  }
  std::printf("{\"server\":\"epoll-echo\",\"connections\":%llu,\"messages\":%llu}\n",
              static_cast<unsigned long long>(counters.connections),
              static_cast<unsigned long long>(counters.messages));
  return 0;
}

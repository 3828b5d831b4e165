// bench-tls-idle: the memory floor of idle TLS connections. A server process accepts N TLS
// connections from a client process it forks, completes each handshake and keeps the SSL
// objects with SSL_MODE_RELEASE_BUFFERS, as a gateway holding idle chargers would; then prints
// the server's user-space bytes per connection (RSS after - RSS before, divided by N), the
// kernel slab bytes per socket (both ends are on this machine) and the server CPU time per
// handshake. Keys and certificates are made in memory (RSA 2048 or EC P-256); with --mtls the
// client presents a certificate the server verifies.
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/runtime/core/settings.h"

namespace {

struct Freer {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Freer>;
using Cert = std::unique_ptr<X509, Freer>;
using Context = std::unique_ptr<SSL_CTX, Freer>;
using Ssl = std::unique_ptr<SSL, Freer>;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "bench-tls-idle: %s\n", what);
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

Key make_key(const std::string& type) {
  EVP_PKEY* key = type == "ec256" ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
  if (key == nullptr) die("key generation failed");
  return Key(key);
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) die("extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer` (self-signed when null).
Cert make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
               long serial) {
  Cert cert(X509_new());
  X509* x = cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 7L * 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer != nullptr ? issuer : x;
  add_extension(x, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (!ca) add_extension(x, signer, NID_subject_alt_name, "IP:127.0.0.1");
  if (X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) die("sign");
  return cert;
}

std::int64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0;
  std::int64_t resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

std::int64_t meminfo_bytes(const std::string& field) {
  std::ifstream in("/proc/meminfo");
  std::string name;
  std::int64_t kb = 0;
  std::string unit;
  while (in >> name >> kb) {
    std::getline(in, unit);
    if (name == field + ":") return kb * 1024;
  }
  return 0;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

void client(const sockaddr_in& addr, int total, SSL_CTX* ctx, int done_fd, int quit_fd) {
  std::vector<Ssl> ssls;
  std::vector<int> fds;
  for (int i = 0; i < total; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) die("connect");
    fds.push_back(fd);
    if (ctx == nullptr) continue;
    Ssl ssl(SSL_new(ctx));
    SSL_set_fd(ssl.get(), fd);
    if (SSL_connect(ssl.get()) != 1) die("client handshake");
    ssls.push_back(std::move(ssl));
  }
  const char byte = 1;
  if (write(done_fd, &byte, 1) != 1) die("pipe");
  char ignored;
  (void)!read(quit_fd, &ignored, 1);
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  int connections = 2000;
  int warmup = 50;
  bool tls = true;
  bool mtls = false;
  bool release_buffers = true;
  std::string key_type = "rsa2048";
  std::string version = "1.3";
  int tickets = 2;
  bool json = false;
  switchyard::Settings settings("bench-tls-idle",
                                "User-space memory of idle server-side TLS connections (a floor)");
  settings.add("connections", connections, "Idle connections measured")
      .add("warmup", warmup, "Connections made before the first measurement")
      .add("tls", tls, "TLS on the connections (false: bare TCP, the socket alone)")
      .add("mtls", mtls, "The client presents a certificate the server verifies")
      .add("release-buffers", release_buffers, "SSL_MODE_RELEASE_BUFFERS on the server")
      .add("key-type", key_type, "rsa2048 | ec256 (server and client keys)")
      .add("tls-version", version, "1.2 | 1.3")
      .add("tickets", tickets, "TLS 1.3 session tickets the server sends per handshake")
      .add("json", json, "Print one JSON line instead of text");
  if (auto code = settings.parse(argc, argv)) return *code;
  if (connections <= 0 || warmup < 0) return 2;
  std::signal(SIGPIPE, SIG_IGN);

  // Certificates: a CA, the server's, and the client's for mTLS.
  Key ca_key = make_key(key_type);
  Cert ca = make_cert(ca_key.get(), "bench CA", nullptr, nullptr, true, 1);
  Key server_key = make_key(key_type);
  Cert server_cert = make_cert(server_key.get(), "127.0.0.1", ca.get(), ca_key.get(), false, 2);
  Key client_key = make_key(key_type);
  Cert client_cert = make_cert(client_key.get(), "bench-charger", ca.get(), ca_key.get(), false, 3);
  const int proto = version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;

  Context server_ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_set_min_proto_version(server_ctx.get(), proto);
  SSL_CTX_set_max_proto_version(server_ctx.get(), proto);
  SSL_CTX_use_certificate(server_ctx.get(), server_cert.get());
  SSL_CTX_use_PrivateKey(server_ctx.get(), server_key.get());
  SSL_CTX_set_num_tickets(server_ctx.get(), static_cast<std::size_t>(tickets));
  if (release_buffers) SSL_CTX_set_mode(server_ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  if (mtls) {
    X509_STORE_add_cert(SSL_CTX_get_cert_store(server_ctx.get()), ca.get());
    SSL_CTX_set_verify(server_ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       nullptr);
  }
  Context client_ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(client_ctx.get(), proto);
  SSL_CTX_set_max_proto_version(client_ctx.get(), proto);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx.get()), ca.get());
  SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(client_ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  if (mtls) {
    SSL_CTX_use_certificate(client_ctx.get(), client_cert.get());
    SSL_CTX_use_PrivateKey(client_ctx.get(), client_key.get());
  }

  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 4096) != 0) {
    die("bind/listen");
  }
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);

  int done_pipe[2];
  int quit_pipe[2];
  if (pipe(done_pipe) != 0 || pipe(quit_pipe) != 0) die("pipe");
  const int total = warmup + connections;
  const pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    close(listener);
    client(addr, total, tls ? client_ctx.get() : nullptr, done_pipe[1], quit_pipe[0]);
  }

  std::vector<Ssl> held;
  std::vector<int> fds;
  held.reserve(static_cast<std::size_t>(total));
  fds.reserve(static_cast<std::size_t>(total));
  auto accept_one = [&] {
    const int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) die("accept");
    fds.push_back(fd);
    if (!tls) return;
    Ssl ssl(SSL_new(server_ctx.get()));
    SSL_set_fd(ssl.get(), fd);
    if (SSL_accept(ssl.get()) != 1) die("server handshake");
    held.push_back(std::move(ssl));
  };
  for (int i = 0; i < warmup; ++i) accept_one();
  malloc_trim(0);
  const std::int64_t rss_before = rss_bytes();
  const std::int64_t slab_before = meminfo_bytes("Slab");
  const double cpu_before = cpu_seconds();
  for (int i = 0; i < connections; ++i) accept_one();
  const double cpu_after = cpu_seconds();
  char byte;
  if (read(done_pipe[0], &byte, 1) != 1) die("client failed");
  malloc_trim(0);
  const std::int64_t rss_after = rss_bytes();
  const std::int64_t slab_after = meminfo_bytes("Slab");

  const double user_per_conn =
      static_cast<double>(rss_after - rss_before) / static_cast<double>(connections);
  // Both ends of each connection live in this machine's kernel.
  const double kernel_per_socket =
      static_cast<double>(slab_after - slab_before) / (2.0 * static_cast<double>(connections));
  const double cpu_ms_per_handshake =
      (cpu_after - cpu_before) * 1e3 / static_cast<double>(connections);
  const char* mode = !tls ? "tcp" : mtls ? "mtls" : "tls";
  if (json) {
    std::printf(
        "{\"floor\":\"tls-idle\",\"mode\":\"%s\",\"key\":\"%s\",\"tls_version\":\"%s\","
        "\"connections\":%d,\"release_buffers\":%s,\"user_bytes_per_conn\":%.0f,"
        "\"kernel_slab_bytes_per_socket\":%.0f,\"server_cpu_ms_per_handshake\":%.3f}\n",
        mode, key_type.c_str(), version.c_str(), connections, release_buffers ? "true" : "false",
        user_per_conn, kernel_per_socket, cpu_ms_per_handshake);
  } else {
    std::printf("idle %s connections: %d (key %s, TLS %s, release buffers %s)\n", mode, connections,
                key_type.c_str(), version.c_str(), release_buffers ? "on" : "off");
    std::printf("server user space per connection: %.0f bytes (%.2f KiB)\n", user_per_conn,
                user_per_conn / 1024.0);
    std::printf("kernel slab per socket: %.0f bytes (%.2f KiB)\n", kernel_per_socket,
                kernel_per_socket / 1024.0);
    std::printf("server CPU per accept%s: %.3f ms\n", tls ? " + handshake" : "",
                cpu_ms_per_handshake);
  }
  if (write(quit_pipe[1], &byte, 1) != 1) die("pipe");
  waitpid(child, nullptr, 0);
  for (int fd : fds) close(fd);
  return 0;
}

// The headerless small-object heap (services/common/runtime/core/small_objects.h): size classes,
// reuse, realloc, the fallback to malloc, trim, threads, and OpenSSL running on it.
#include "common/runtime/core/small_objects.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace switchyard::small_objects {
namespace {

TEST(SmallObjects, ObjectsOfOneClassSitSideBySideWithoutHeaders) {
  Heap heap(std::size_t{4} << 20);
  char* a = static_cast<char*>(heap.allocate(24));
  char* b = static_cast<char*>(heap.allocate(20));  // the same class: 24 bytes
  ASSERT_TRUE(heap.owns(a));
  ASSERT_TRUE(heap.owns(b));
  EXPECT_EQ(b - a, 24);
  std::memset(a, 0xAA, 24);
  std::memset(b, 0xBB, 20);
  EXPECT_EQ(static_cast<unsigned char>(a[23]), 0xAA);
  EXPECT_EQ(heap.stats().object_bytes, 48);
  EXPECT_EQ(heap.stats().chunk_bytes, static_cast<std::int64_t>(kChunk));
  heap.release(a);
  heap.release(b);
  EXPECT_EQ(heap.stats().object_bytes, 0);
}

TEST(SmallObjects, SizesThatAreMultiplesOf16Are16Aligned) {
  Heap heap(std::size_t{4} << 20);
  for (std::size_t size : {16, 32, 48, 64, 128, 256}) {
    for (int i = 0; i < 50; ++i) {
      void* p = heap.allocate(size);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0U) << size;
    }
  }
  for (std::size_t size : {1, 8, 24, 40, 200}) {
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(heap.allocate(size)) % 8, 0U) << size;
  }
}

TEST(SmallObjects, AFreedObjectIsTheNextOneOfItsClass) {
  Heap heap(std::size_t{4} << 20);
  void* a = heap.allocate(100);
  void* b = heap.allocate(100);
  heap.release(a);
  EXPECT_EQ(heap.allocate(97), a);  // 97..104: one class
  EXPECT_NE(heap.allocate(100), b);
}

TEST(SmallObjects, LargeAndEmptyRequestsGoToMalloc) {
  Heap heap(std::size_t{4} << 20);
  void* large = heap.allocate(kMaxObject + 1);
  ASSERT_NE(large, nullptr);
  EXPECT_FALSE(heap.owns(large));
  std::memset(large, 1, kMaxObject + 1);
  heap.release(large);  // free()d, not filed as a small object
  EXPECT_EQ(heap.stats().object_bytes, 0);
  heap.release(heap.allocate(0));
  heap.release(nullptr);
}

TEST(SmallObjects, AFullReservationFallsBackToMalloc) {
  Heap heap(2 * kChunk);  // two chunks: two classes, then malloc
  void* a = heap.allocate(8);
  void* b = heap.allocate(16);
  void* c = heap.allocate(24);
  EXPECT_TRUE(heap.owns(a));
  EXPECT_TRUE(heap.owns(b));
  EXPECT_FALSE(heap.owns(c));
  std::vector<void*> many;
  for (std::size_t i = 0; i < kChunk / 8 + 10; ++i) many.push_back(heap.allocate(8));
  EXPECT_FALSE(heap.owns(many.back()));
  for (void* p : many) heap.release(p);
  heap.release(a);
  heap.release(b);
  heap.release(c);
  EXPECT_EQ(heap.stats().object_bytes, 0);
}

TEST(SmallObjects, ReallocateKeepsTheBytesAndTheBlockWhileTheyFit) {
  Heap heap(std::size_t{4} << 20);
  char* p = static_cast<char*>(heap.allocate(10));
  std::memcpy(p, "0123456789", 10);
  EXPECT_EQ(heap.reallocate(p, 16), p);  // still its 16-byte class
  char* grown = static_cast<char*>(heap.reallocate(p, 200));
  ASSERT_TRUE(heap.owns(grown));
  EXPECT_EQ(std::memcmp(grown, "0123456789", 10), 0);
  char* large = static_cast<char*>(heap.reallocate(grown, 5000));
  EXPECT_FALSE(heap.owns(large));
  EXPECT_EQ(std::memcmp(large, "0123456789", 10), 0);
  char* again = static_cast<char*>(heap.reallocate(large, 6000));  // malloc's realloc
  EXPECT_EQ(std::memcmp(again, "0123456789", 10), 0);
  EXPECT_EQ(heap.reallocate(again, 0), nullptr);  // frees, as CRYPTO_realloc does
  EXPECT_EQ(heap.reallocate(heap.allocate(8), 0), nullptr);
  void* fresh = heap.reallocate(nullptr, 40);
  EXPECT_TRUE(heap.owns(fresh));
  heap.release(fresh);
  EXPECT_EQ(heap.stats().object_bytes, 0);
}

TEST(SmallObjects, TrimGivesBackChunksWithNothingInUseAndReusesThem) {
  Heap heap(std::size_t{4} << 20);
  const std::size_t per_chunk = kChunk / 64;
  std::vector<void*> objects;
  for (std::size_t i = 0; i < 3 * per_chunk; ++i) objects.push_back(heap.allocate(64));
  EXPECT_EQ(heap.stats().chunk_bytes, static_cast<std::int64_t>(3 * kChunk));
  // Free all of the first chunk, all but one object of the second, none of the third.
  for (std::size_t i = 0; i < 2 * per_chunk - 1; ++i) heap.release(objects[i]);
  EXPECT_EQ(heap.trim(), static_cast<std::int64_t>(kChunk));
  EXPECT_EQ(heap.stats().chunk_bytes, static_cast<std::int64_t>(2 * kChunk));
  EXPECT_EQ(heap.trim(), 0);
  // The second chunk's free objects are still handed out, and nothing from the first.
  std::set<void*> first(objects.begin(), objects.begin() + static_cast<long>(per_chunk));
  for (std::size_t i = 0; i < per_chunk - 1; ++i) {
    void* p = heap.allocate(64);
    EXPECT_EQ(first.count(p), 0U);
    std::memset(p, 7, 64);
  }
  // A new chunk comes from the spare ones, zeroed by the system, for any class.
  auto* reused = static_cast<unsigned char*>(heap.allocate(8));
  EXPECT_EQ(reused[0], 0);
  EXPECT_EQ(heap.stats().chunk_bytes, static_cast<std::int64_t>(3 * kChunk));
}

TEST(SmallObjects, ThreadsAllocateAndFreeEachOthersObjects) {
  Heap heap(std::size_t{64} << 20);
  constexpr int kThreads = 4;
  constexpr int kRounds = 20000;
  std::vector<std::vector<void*>> handed(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<std::pair<unsigned char*, std::size_t>> mine;
      for (int i = 0; i < kRounds; ++i) {
        const std::size_t size = 1 + rng() % 300;
        auto* p = static_cast<unsigned char*>(heap.allocate(size));
        std::memset(p, t + 1, size);
        mine.emplace_back(p, size);
        if (mine.size() > 64) {
          auto [q, n] = mine[rng() % mine.size()];
          for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(q[j], t + 1);
          std::erase_if(mine, [q = q](const auto& e) { return e.first == q; });
          heap.release(q);
        }
      }
      for (auto [p, n] : mine) handed[static_cast<std::size_t>(t)].push_back(p);
    });
  }
  for (auto& th : threads) th.join();
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {  // each thread frees another's leftovers
    threads.emplace_back([&, t] {
      for (void* p : handed[static_cast<std::size_t>((t + 1) % kThreads)]) heap.release(p);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(heap.stats().object_bytes, 0);
}

// OpenSSL on the process heap: installed before its first allocation (this test runs first in
// its own binary), a whole handshake in memory, its objects filed by size class.
TEST(SmallObjectsOpenSsl, AHandshakeRunsOnTheHeapAndItsObjectsComeBack) {
  ASSERT_TRUE(use_for_openssl());
  ASSERT_TRUE(used_for_openssl());
  const Stats before = heap().stats();

  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  EXPECT_TRUE(heap().owns(X509_get_subject_name(cert)));  // an X509_NAME: 40 bytes

  SSL_CTX* server_ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_EQ(SSL_CTX_use_certificate(server_ctx, cert), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(server_ctx, key), 1);
  SSL* server = SSL_new(server_ctx);
  SSL* client = SSL_new(client_ctx);
  BIO* server_io = nullptr;
  BIO* client_io = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&server_io, 0, &client_io, 0), 1);
  SSL_set_bio(server, server_io, server_io);
  SSL_set_bio(client, client_io, client_io);
  SSL_set_accept_state(server);
  SSL_set_connect_state(client);
  bool done = false;
  for (int i = 0; i < 20 && !done; ++i) {
    const int c = SSL_do_handshake(client);
    const int s = SSL_do_handshake(server);
    done = c == 1 && s == 1;
  }
  ASSERT_TRUE(done);
  const char hello[] = "hello";
  ASSERT_EQ(SSL_write(client, hello, sizeof hello), static_cast<int>(sizeof hello));
  char got[16] = {};
  ASSERT_EQ(SSL_read(server, got, sizeof got), static_cast<int>(sizeof hello));
  EXPECT_STREQ(got, "hello");
  const Stats during = heap().stats();
  EXPECT_GT(during.object_bytes, before.object_bytes);
  SSL_free(server);
  SSL_free(client);
  SSL_CTX_free(server_ctx);
  SSL_CTX_free(client_ctx);
  X509_free(cert);
  EVP_PKEY_free(key);
  EXPECT_LT(heap().stats().object_bytes, during.object_bytes);
}

}  // namespace
}  // namespace switchyard::small_objects

// A heap for OpenSSL's small objects without malloc's per-object header. An idle TLS connection
// keeps ~140 OpenSSL allocations (its SSL, session, the peer's certificates parsed into many
// small ASN.1 pieces); glibc rounds each up to 16 bytes past an 8-byte header, about 1.9 KB per
// mTLS connection. Here objects of up to 256 bytes sit in 16 KiB chunks of one size class
// (8-byte steps, no header; the chunk names the class), so that overhead is gone: measured on
// 15,000 idle mTLS chargers, 24.1 KiB of user space per connection before and 22.5 after.
//
// * Any thread may allocate and free (a mutex per size class; OpenSSL allocates mostly during
//   handshakes). Larger objects, and all of them once the reserved 1 GiB of address space is
//   used up, go to malloc; free() tells the two apart by address.
// * Freed objects are kept for reuse; trim() gives back the chunks whose objects are all free
//   (the pod's heap trim calls it after a wave of connections, next to malloc_trim).
// * Alignment: 8 bytes, and 16 for sizes that are multiples of 16 (a type aligned to 16 has such
//   a size), which is all OpenSSL asks of its allocator.
#pragma once

#include <cstddef>
#include <cstdint>

namespace switchyard::small_objects {

inline constexpr std::size_t kMaxObject = 256;
inline constexpr std::size_t kChunk = std::size_t{16} * 1024;

struct Stats {
  std::int64_t chunk_bytes = 0;   // resident in chunks (objects in use, free ones, unused room)
  std::int64_t object_bytes = 0;  // in objects in use (their size classes)
};

// The heap itself, for tests; the process has one (heap()).
class Heap {
 public:
  explicit Heap(std::size_t reserve_bytes);
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  void* allocate(std::size_t size);  // malloc for 0, over kMaxObject, or when full
  void release(void* ptr);           // either kind, or null
  void* reallocate(void* ptr, std::size_t size);
  // Gives the chunks with no object in use back to the system (and keeps them for reuse); the
  // bytes given back.
  std::int64_t trim();
  Stats stats() const;
  bool owns(const void* ptr) const;

 private:
  struct Impl;
  Impl* impl_;
};

Heap& heap();

// Routes OpenSSL's allocations to heap() (CRYPTO_set_mem_functions). Call before anything uses
// OpenSSL; false when too late (OpenSSL allocated already), and then OpenSSL keeps malloc.
bool use_for_openssl();
bool used_for_openssl();

}  // namespace switchyard::small_objects

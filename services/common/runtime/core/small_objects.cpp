// Headerless size classes for OpenSSL's small objects (see small_objects.h).
#include "common/runtime/core/small_objects.h"

#include <openssl/crypto.h>
#include <sys/mman.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace switchyard::small_objects {
namespace {

constexpr std::size_t kStep = 8;
constexpr std::size_t kClasses = kMaxObject / kStep;

constexpr std::size_t class_of(std::size_t size) { return (size + kStep - 1) / kStep - 1; }
constexpr std::size_t size_of(std::size_t cls) { return (cls + 1) * kStep; }

}  // namespace

struct Heap::Impl {
  struct Class {
    std::mutex mutex;
    void* free = nullptr;  // freed objects, linked through their first word
    char* bump = nullptr;  // the rest of the class's newest chunk
    char* end = nullptr;
    std::int64_t in_use = 0;  // bytes
  };

  char* base = nullptr;
  std::size_t chunks = 0;  // reserved
  std::atomic<std::size_t> carved{0};
  // Per chunk: its class + 1, 0 while spare. Set before the chunk's first object is handed out
  // and cleared only once none is in use, so release() reads it without a lock.
  std::unique_ptr<std::atomic<std::uint8_t>[]> chunk_class;
  std::mutex spare_mutex;
  std::vector<std::size_t> spare;  // chunks given back by trim(), reused first
  std::atomic<std::int64_t> chunk_bytes{0};
  std::array<Class, kClasses> classes;

  std::size_t chunk_of(const void* ptr) const {
    return static_cast<std::size_t>(static_cast<const char*>(ptr) - base) / kChunk;
  }
  // The size class of an object in the reservation.
  std::size_t class_at(const void* ptr) const {
    return chunk_class[chunk_of(ptr)].load(std::memory_order_relaxed) - std::size_t{1};
  }

  // A chunk for class `cls` (its lock held); false when the reservation is used up.
  bool new_chunk(std::size_t cls, Class& k) {
    std::size_t index = 0;
    {
      std::lock_guard lock(spare_mutex);
      if (!spare.empty()) {
        index = spare.back();
        spare.pop_back();
      } else {
        index = carved.fetch_add(1);
        if (index >= chunks) {
          carved.store(chunks);
          return false;
        }
      }
    }
    chunk_class[index].store(static_cast<std::uint8_t>(cls + 1), std::memory_order_relaxed);
    const std::size_t size = size_of(cls);
    k.bump = base + index * kChunk;
    k.end = k.bump + (kChunk / size) * size;
    chunk_bytes.fetch_add(static_cast<std::int64_t>(kChunk), std::memory_order_relaxed);
    return true;
  }

  // The chunks of class `cls` (its lock held) whose objects are all free, minus the one being
  // carved: out of the free list, back to the system, into the spare list.
  std::int64_t trim_class(std::size_t cls, Class& k) {
    if (k.free == nullptr) return 0;
    const std::size_t size = size_of(cls);
    const std::size_t per_chunk = kChunk / size;
    const std::size_t current = k.end != nullptr ? chunk_of(k.end - 1) : chunks;
    std::unordered_map<std::size_t, std::size_t> free_in;
    for (void* p = k.free; p != nullptr; p = *static_cast<void**>(p)) ++free_in[chunk_of(p)];
    std::unordered_set<std::size_t> empty;
    for (const auto& [chunk, count] : free_in) {
      if (count == per_chunk && chunk != current) empty.insert(chunk);
    }
    if (empty.empty()) return 0;
    void** link = &k.free;
    for (void* p = k.free; p != nullptr;) {
      void* next = *static_cast<void**>(p);
      if (empty.contains(chunk_of(p))) {
        *link = next;
      } else {
        link = static_cast<void**>(p);
      }
      p = next;
    }
    std::lock_guard lock(spare_mutex);
    for (std::size_t chunk : empty) {
      chunk_class[chunk].store(0, std::memory_order_relaxed);
      madvise(base + chunk * kChunk, kChunk, MADV_DONTNEED);
      spare.push_back(chunk);
    }
    const auto bytes = static_cast<std::int64_t>(empty.size() * kChunk);
    chunk_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    return bytes;
  }
};

Heap::Heap(std::size_t reserve_bytes) : impl_(new Impl) {
  const std::size_t chunks = reserve_bytes / kChunk;
  void* region = chunks == 0 ? MAP_FAILED
                             : mmap(nullptr, chunks * kChunk, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (region == MAP_FAILED) return;  // everything goes to malloc
  impl_->base = static_cast<char*>(region);
  impl_->chunks = chunks;
  impl_->chunk_class = std::make_unique<std::atomic<std::uint8_t>[]>(chunks);
}

Heap::~Heap() {
  if (impl_->base != nullptr) munmap(impl_->base, impl_->chunks * kChunk);
  delete impl_;
}

bool Heap::owns(const void* ptr) const {
  const char* p = static_cast<const char*>(ptr);
  return impl_->base != nullptr && p >= impl_->base && p < impl_->base + impl_->chunks * kChunk;
}

void* Heap::allocate(std::size_t size) {
  if (size == 0 || size > kMaxObject || impl_->base == nullptr) return std::malloc(size);
  const std::size_t cls = class_of(size);
  Impl::Class& k = impl_->classes[cls];
  {
    std::lock_guard lock(k.mutex);
    const std::size_t rounded = size_of(cls);
    if (k.free != nullptr) {
      void* p = k.free;
      k.free = *static_cast<void**>(p);
      k.in_use += static_cast<std::int64_t>(rounded);
      return p;
    }
    if (static_cast<std::size_t>(k.end - k.bump) >= rounded || impl_->new_chunk(cls, k)) {
      void* p = k.bump;
      k.bump += rounded;
      k.in_use += static_cast<std::int64_t>(rounded);
      return p;
    }
  }
  return std::malloc(size);  // the reservation is used up
}

void Heap::release(void* ptr) {
  if (ptr == nullptr) return;
  if (!owns(ptr)) return std::free(ptr);
  const std::size_t cls = impl_->class_at(ptr);
  Impl::Class& k = impl_->classes[cls];
  std::lock_guard lock(k.mutex);
  *static_cast<void**>(ptr) = k.free;
  k.free = ptr;
  k.in_use -= static_cast<std::int64_t>(size_of(cls));
}

void* Heap::reallocate(void* ptr, std::size_t size) {
  if (ptr == nullptr) return allocate(size);
  if (size == 0) {  // as CRYPTO_realloc does
    release(ptr);
    return nullptr;
  }
  if (!owns(ptr)) return std::realloc(ptr, size);
  const std::size_t old = size_of(impl_->class_at(ptr));
  if (size <= old) return ptr;
  void* moved = allocate(size);
  if (moved == nullptr) return nullptr;  // the old block stays valid
  std::memcpy(moved, ptr, old);
  release(ptr);
  return moved;
}

std::int64_t Heap::trim() {
  std::int64_t returned = 0;
  for (std::size_t cls = 0; cls < kClasses; ++cls) {
    Impl::Class& k = impl_->classes[cls];
    std::lock_guard lock(k.mutex);
    returned += impl_->trim_class(cls, k);
  }
  return returned;
}

Stats Heap::stats() const {
  Stats s;
  s.chunk_bytes = impl_->chunk_bytes.load(std::memory_order_relaxed);
  for (Impl::Class& k : impl_->classes) {
    std::lock_guard lock(k.mutex);
    s.object_bytes += k.in_use;
  }
  return s;
}

Heap& heap() {
  // Never destroyed: OpenSSL frees objects from exit handlers.
  static Heap* const process_heap = new Heap(std::size_t{1} << 30);
  return *process_heap;
}

namespace {

std::atomic<bool> openssl_uses_heap{false};

void* openssl_malloc(std::size_t size, const char* /*file*/, int /*line*/) {
  return heap().allocate(size);
}
void* openssl_realloc(void* ptr, std::size_t size, const char* /*file*/, int /*line*/) {
  return heap().reallocate(ptr, size);
}
void openssl_free(void* ptr, const char* /*file*/, int /*line*/) { heap().release(ptr); }

}  // namespace

bool use_for_openssl() {
  if (openssl_uses_heap.load()) return true;
  heap();  // reserved before OpenSSL's first allocation can reach it
  if (CRYPTO_set_mem_functions(&openssl_malloc, &openssl_realloc, &openssl_free) != 1) {
    return false;
  }
  openssl_uses_heap.store(true);
  return true;
}

bool used_for_openssl() { return openssl_uses_heap.load(); }

}  // namespace switchyard::small_objects

// Memory for the objects that every message of a connection touches: its
// transport and its protocol.
//
// With many connections each message lands on a connection that has been
// idle for a while, and the first touch of its objects pays for a page walk
// as well as for the cache misses. In a virtual machine a page walk is two
// dimensional and costs more than everything else the loop does for the
// message. Packed into a few huge pages, the objects of thousands of
// connections stay within reach of the TLB (docs/performance.md, "Where the
// 1,000-connection gap was").
//
// Transports are always allocated here. Protocols are when they are built
// by Factory::forProtocol, ClientFactory::forProtocol or ClientCreator, or
// by a buildProtocol that calls makePooled<P>(...) itself.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace twisted {

/// The process's pool for connection objects: blocks of 64-byte steps,
/// packed densely into 2 MiB regions advised as huge pages, thread-safe
/// (each thread allocates from and frees into a cache of its own, taking
/// the pool's lock once per batch) and safe across fork(). Sanitizer builds (ASan,
/// TSan) use plain operator new instead, so that a use after free of a
/// transport is still caught; connectionPoolEnabled() tells which.
void* allocateConnectionMemory(std::size_t size, std::size_t align);
/// Returns `p`, from allocateConnectionMemory with the same size and align, to the pool.
void deallocateConnectionMemory(void* p, std::size_t size, std::size_t align) noexcept;
/// True if connection memory comes from the pool, false in sanitizer builds.
bool connectionPoolEnabled();

/// An allocator over allocateConnectionMemory, for std::allocate_shared.
template <class T>
struct PoolAllocator {
  using value_type = T;  ///< The type of object allocated.
  /// A stateless allocator; every instance shares the one process pool.
  PoolAllocator() noexcept = default;
  /// Rebinds from an allocator of another type (there is no state to copy).
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  /// Returns pool memory for `n` objects of type T. @throws std::bad_alloc when out of memory.
  T* allocate(std::size_t n) {
    return static_cast<T*>(allocateConnectionMemory(n * sizeof(T), alignof(T)));
  }
  /// Returns `p`, from allocate(n), to the pool.
  void deallocate(T* p, std::size_t n) noexcept {
    deallocateConnectionMemory(p, n * sizeof(T), alignof(T));
  }
  /// Always true: memory from any PoolAllocator may be freed by any other.
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

/// std::make_shared, with the object (and its reference counts) in the
/// connection pool. Use it for a protocol built by your own buildProtocol:
///
///   std::shared_ptr<Protocol> buildProtocol(const Address&) override {
///     return twisted::makePooled<Chat>(*this);
///   }
template <class T, class... Args>
std::shared_ptr<T> makePooled(Args&&... args) {
  return std::allocate_shared<T>(PoolAllocator<T>{}, std::forward<Args>(args)...);
}

}  // namespace twisted

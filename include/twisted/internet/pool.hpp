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
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace twisted {

/// Fixed-size blocks carved from 2 MiB regions that the kernel is asked to
/// back with huge pages (madvise MADV_HUGEPAGE; where it cannot, they are
/// ordinary pages, densely packed). Blocks come in multiples of 64 bytes up
/// to kSmall (2 KiB), then in powers of two up to kLargest (256 KiB), and
/// are aligned to 64; a freed block goes back to the free list of its size
/// and is reused first. Regions are kept until the pool is
/// destroyed: after a peak of connections the memory stays for the next.
/// Thread-safe: a transport or protocol may be released on any thread.
class BlockPool {
 public:
  static constexpr std::size_t kRegion = std::size_t{2} << 20;
  static constexpr std::size_t kBlock = 64;
  static constexpr std::size_t kSmall = 2048;                      // multiples of kBlock up to here
  static constexpr std::size_t kLargest = std::size_t{256} << 10;  // then powers of two

  BlockPool() = default;
  /// Unmaps every region; blocks still in use become invalid.
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  /// A block of at least `size` bytes aligned to `align`. Larger or more
  /// aligned requests than the pool serves go to operator new. Throws
  /// std::bad_alloc when no memory is left.
  void* allocate(std::size_t size, std::size_t align);
  /// Returns a block from allocate() with the same size and alignment.
  void deallocate(void* p, std::size_t size, std::size_t align) noexcept;
  /// True if `p` lies in one of the pool's regions.
  bool owns(const void* p) const;
  /// How many regions the pool has mapped.
  std::size_t regions() const;

  /// Held across fork() for the process's pool (pthread_atfork), so that a
  /// child (a pre-forked worker running its own reactor) never inherits it
  /// locked by a thread that does not exist there.
  void lockForFork() { mutex_.lock(); }
  void unlockAfterFork() { mutex_.unlock(); }

  static bool serves(std::size_t size, std::size_t align) {
    return size <= kLargest && align <= kBlock;
  }

 private:
  // 32 classes of 64-byte steps, then 4 KiB ... 256 KiB.
  static constexpr std::size_t kClasses = kSmall / kBlock + 7;
  static std::size_t classOf(std::size_t size);
  static std::size_t classSize(std::size_t c);
  struct FreeBlock {
    FreeBlock* next;
  };
  void* carve(std::size_t bytes);

  mutable std::mutex mutex_;
  FreeBlock* free_[kClasses] = {};
  char* next_ = nullptr;  // bump pointer in the newest region
  char* end_ = nullptr;
  std::vector<char*> regions_;
};

/// The process's pool for connection objects. Sanitizer builds (ASan,
/// TSan) use plain operator new instead, so that a use after free of a
/// transport is still caught; connectionPoolEnabled() tells which.
void* allocateConnectionMemory(std::size_t size, std::size_t align);
void deallocateConnectionMemory(void* p, std::size_t size, std::size_t align) noexcept;
bool connectionPoolEnabled();
/// The pool behind allocateConnectionMemory (for tests and diagnostics).
const BlockPool& connectionPool();

/// Class-scope operator new and delete in the connection pool, for the
/// loop's own objects that every message touches. For a final class aligned
/// beyond operator new's default: new and delete of such a class (and the
/// delete after a constructor throws) use only the aligned forms.
#define TWISTED_POOLED_NEW(Type)                                             \
  static void* operator new(std::size_t, std::align_val_t) {                 \
    static_assert(alignof(Type) > __STDCPP_DEFAULT_NEW_ALIGNMENT__,          \
                  "only the aligned forms are declared");                    \
    return ::twisted::allocateConnectionMemory(sizeof(Type), alignof(Type)); \
  }                                                                          \
  static void operator delete(void* p, std::align_val_t) noexcept {          \
    ::twisted::deallocateConnectionMemory(p, sizeof(Type), alignof(Type));   \
  }

/// An allocator over allocateConnectionMemory, for std::allocate_shared.
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() noexcept = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  T* allocate(std::size_t n) {
    return static_cast<T*>(allocateConnectionMemory(n * sizeof(T), alignof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    deallocateConnectionMemory(p, n * sizeof(T), alignof(T));
  }
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

// BlockPool: fixed-size blocks carved densely from huge-page regions, the
// allocator behind the connection pool (twisted/internet/pool.hpp says why).
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

namespace twisted::detail {

/// Fixed-size blocks carved from 2 MiB regions that the kernel is asked to
/// back with huge pages (madvise MADV_HUGEPAGE; where it cannot, they are
/// ordinary pages, densely packed). Blocks come in multiples of 64 bytes up
/// to kSmall (2 KiB), then in powers of two up to kLargest (256 KiB), and
/// are aligned to 64; a freed block goes back to the free list of its size
/// and is reused first. Regions are kept until the pool is
/// destroyed: after a peak of connections the memory stays for the next.
/// Thread-safe: a transport or protocol may be released on any thread. The
/// process's pool sits behind a ThreadCache per thread, so that a thread
/// takes this lock once per batch of blocks, not once per block.
class BlockPool {
 public:
  static constexpr std::size_t kRegion = std::size_t{2} << 20;
  static constexpr std::size_t kBlock = 64;
  static constexpr std::size_t kSmall = 2048;                      // multiples of kBlock up to here
  static constexpr std::size_t kLargest = std::size_t{256} << 10;  // then powers of two

  /// Constant: the process's pool is built at compile time, so that no
  /// thread is ever inside its construction when another one forks.
  constexpr BlockPool() = default;
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

  // ---- for ThreadCache (thread_cache.hpp): whole batches per lock ----------
  /// 32 classes of 64-byte steps, then 4 KiB ... 256 KiB.
  static constexpr std::size_t kClasses = kSmall / kBlock + 7;
  /// The class of a size the pool serves, and the size of a class.
  static std::size_t classOf(std::size_t size);
  static std::size_t classSize(std::size_t c);
  /// A free block, linked through its first bytes.
  struct FreeBlock {
    FreeBlock* next;
  };
  /// `n` blocks of class `c` linked into a list, taking the lock once.
  FreeBlock* takeBatch(std::size_t c, std::size_t n);
  /// Returns the linked blocks `head` ... `tail` of class `c`, taking the lock once.
  void giveBatch(std::size_t c, FreeBlock* head, FreeBlock* tail) noexcept;
  /// How many times the lock has been taken (diagnostics and tests).
  std::size_t lockedCalls() const { return lockedCalls_.load(std::memory_order_relaxed); }
  /// How many free blocks the pool's own lists hold (not those cached by threads).
  std::size_t freeBlocks() const;

 private:
  void* carve(std::size_t bytes);
  std::unique_lock<std::mutex> lock() const {
    lockedCalls_.fetch_add(1, std::memory_order_relaxed);
    return std::unique_lock<std::mutex>(mutex_);
  }

  mutable std::mutex mutex_;
  mutable std::atomic<std::size_t> lockedCalls_{0};
  FreeBlock* free_[kClasses] = {};
  char* next_ = nullptr;  // bump pointer in the newest region
  char* end_ = nullptr;
  std::vector<char*> regions_;
};

}  // namespace twisted::detail

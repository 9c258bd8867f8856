// ThreadCache: one thread's free blocks in front of a BlockPool, so that a
// reactor per core allocates and frees its connections without taking the
// pool's lock (docs/architecture.md, "Where objects live").
#pragma once

#include <cstddef>
#include <cstdint>

#include "block_pool.hpp"

namespace twisted::detail {

/// Free blocks of each size class kept by one thread. A class's list is
/// filled from the pool a batch at a time when it is empty, and gives the
/// pool back its coldest blocks a batch at a time when it holds more than
/// its limit (a few dozen small blocks, two of the largest: at most about
/// 64 KiB per class), so a thread that frees what another allocated does
/// not hoard them. Not thread-safe: one per thread (connection_pool.cpp
/// keeps one in thread-local storage, drained when its thread ends).
class ThreadCache {
 public:
  constexpr ThreadCache() = default;

  /// As BlockPool::allocate; the pool's lock is taken only to refill.
  void* allocate(BlockPool& pool, std::size_t size, std::size_t align) {
    if (!BlockPool::serves(size, align)) [[unlikely]] {
      return pool.allocate(size, align);
    }
    std::size_t c = BlockPool::classOf(size);
    List& list = lists_[c];
    if (!list.head) [[unlikely]]
      refill(pool, c);
    BlockPool::FreeBlock* block = list.head;
    list.head = block->next;
    --list.count;
    return block;
  }

  /// As BlockPool::deallocate; the lock is taken only to give a batch back.
  void deallocate(BlockPool& pool, void* p, std::size_t size, std::size_t align) noexcept {
    if (!p) return;
    if (!BlockPool::serves(size, align)) [[unlikely]] {
      pool.deallocate(p, size, align);
      return;
    }
    std::size_t c = BlockPool::classOf(size);
    List& list = lists_[c];
    auto* block = static_cast<BlockPool::FreeBlock*>(p);
    block->next = list.head;
    list.head = block;
    if (++list.count > limitOf(c)) [[unlikely]]
      trim(pool, c);
  }

  /// Gives every cached block back to `pool`.
  void drain(BlockPool& pool) noexcept;

  /// How many blocks this cache holds, of every class.
  std::size_t cached() const;

  /// The most blocks of class `c` a cache keeps, and how many it takes or
  /// gives back at a time (half of that).
  static std::uint32_t limitOf(std::size_t c) {
    std::size_t n = kBytesPerClass / BlockPool::classSize(c);
    return static_cast<std::uint32_t>(n < 2 ? 2 : n > 64 ? 64 : n);
  }
  static std::uint32_t batchOf(std::size_t c) { return limitOf(c) / 2; }

 private:
  static constexpr std::size_t kBytesPerClass = 64 * 1024;
  struct List {
    BlockPool::FreeBlock* head = nullptr;
    std::uint32_t count = 0;
  };
  void refill(BlockPool& pool, std::size_t c);
  void trim(BlockPool& pool, std::size_t c) noexcept;

  List lists_[BlockPool::kClasses] = {};
};

}  // namespace twisted::detail

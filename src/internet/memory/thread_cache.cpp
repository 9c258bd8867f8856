// ThreadCache (thread_cache.hpp): the batch moves between a thread and the pool.
#include "thread_cache.hpp"

namespace twisted::detail {

void ThreadCache::refill(BlockPool& pool, std::size_t c) {
  std::uint32_t n = batchOf(c);
  lists_[c].head = pool.takeBatch(c, n);
  lists_[c].count = n;
}

void ThreadCache::trim(BlockPool& pool, std::size_t c) noexcept {
  // The blocks freed last are the warmest: keep half the limit of them,
  // give the older rest back.
  List& list = lists_[c];
  std::uint32_t keep = limitOf(c) - batchOf(c);
  BlockPool::FreeBlock* last = list.head;
  for (std::uint32_t i = 1; i < keep; ++i) last = last->next;
  BlockPool::FreeBlock* head = last->next;
  BlockPool::FreeBlock* tail = head;
  while (tail->next) tail = tail->next;
  last->next = nullptr;
  list.count = keep;
  pool.giveBatch(c, head, tail);
}

void ThreadCache::drain(BlockPool& pool) noexcept {
  for (std::size_t c = 0; c < BlockPool::kClasses; ++c) {
    List& list = lists_[c];
    if (!list.head) continue;
    BlockPool::FreeBlock* tail = list.head;
    while (tail->next) tail = tail->next;
    pool.giveBatch(c, list.head, tail);
    list = List{};
  }
}

std::size_t ThreadCache::cached() const {
  std::size_t n = 0;
  for (const List& list : lists_) n += list.count;
  return n;
}

}  // namespace twisted::detail

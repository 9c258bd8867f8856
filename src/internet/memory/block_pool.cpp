// BlockPool (block_pool.hpp).
#include "block_pool.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace twisted::detail {

namespace {
// A region aligned to its size, so that the kernel can back it with one
// huge page: map twice the size and unmap what lies outside.
char* mapRegion() {
  constexpr std::size_t size = BlockPool::kRegion;
  void* raw = ::mmap(nullptr, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto start = reinterpret_cast<std::uintptr_t>(raw);
  std::uintptr_t aligned = (start + size - 1) & ~(std::uintptr_t{size} - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  std::uintptr_t tail = start + 2 * size - (aligned + size);
  if (tail) ::munmap(reinterpret_cast<void*>(aligned + size), tail);
  auto* region = reinterpret_cast<char*>(aligned);
  // Advice only: without transparent huge pages the region stays in
  // ordinary pages, still dense.
  ::madvise(region, size, MADV_HUGEPAGE);
  return region;
}

}  // namespace

std::size_t BlockPool::classOf(std::size_t size) {
  if (size <= kSmall) return size == 0 ? 0 : (size - 1) / kBlock;
  std::size_t c = kSmall / kBlock;  // 4 KiB
  for (std::size_t s = 2 * kSmall; s < size; s *= 2) ++c;
  return c;
}

std::size_t BlockPool::classSize(std::size_t c) {
  constexpr std::size_t small = kSmall / kBlock;
  return c < small ? (c + 1) * kBlock : (2 * kSmall) << (c - small);
}

BlockPool::~BlockPool() {
  for (char* region : regions_) ::munmap(region, kRegion);
}

void* BlockPool::carve(std::size_t bytes) {
  if (static_cast<std::size_t>(end_ - next_) < bytes) {
    char* region = mapRegion();
    regions_.push_back(region);
    next_ = region;
    end_ = region + kRegion;
  }
  void* p = next_;
  next_ += bytes;
  return p;
}

void* BlockPool::allocate(std::size_t size, std::size_t align) {
  if (!serves(size, align)) {
    return ::operator new (size, std::align_val_t{align < kBlock ? kBlock : align});
  }
  std::size_t c = classOf(size);
  auto held = lock();
  if (FreeBlock* block = free_[c]) {
    free_[c] = block->next;
    return block;
  }
  return carve(classSize(c));
}

void BlockPool::deallocate(void* p, std::size_t size, std::size_t align) noexcept {
  if (!p) return;
  if (!serves(size, align)) {
    ::operator delete (p, std::align_val_t{align < kBlock ? kBlock : align});
    return;
  }
  std::size_t c = classOf(size);
  auto held = lock();
  auto* block = static_cast<FreeBlock*>(p);
  block->next = free_[c];
  free_[c] = block;
}

BlockPool::FreeBlock* BlockPool::takeBatch(std::size_t c, std::size_t n) {
  FreeBlock* head = nullptr;
  auto held = lock();
  for (std::size_t i = 0; i < n; ++i) {
    FreeBlock* block = free_[c];
    if (block) {
      free_[c] = block->next;
    } else {
      block = static_cast<FreeBlock*>(carve(classSize(c)));
    }
    block->next = head;
    head = block;
  }
  return head;
}

void BlockPool::giveBatch(std::size_t c, FreeBlock* head, FreeBlock* tail) noexcept {
  auto held = lock();
  tail->next = free_[c];
  free_[c] = head;
}

std::size_t BlockPool::freeBlocks() const {
  auto held = lock();
  std::size_t n = 0;
  for (FreeBlock* list : free_) {
    for (FreeBlock* b = list; b; b = b->next) ++n;
  }
  return n;
}

bool BlockPool::owns(const void* p) const {
  auto at = reinterpret_cast<std::uintptr_t>(p);
  auto held = lock();
  for (char* region : regions_) {
    auto start = reinterpret_cast<std::uintptr_t>(region);
    if (at >= start && at < start + kRegion) return true;
  }
  return false;
}

std::size_t BlockPool::regions() const {
  auto held = lock();
  return regions_.size();
}

}  // namespace twisted::detail

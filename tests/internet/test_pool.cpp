// BlockPool and the connection pool: dense, aligned, reused blocks in
// 2 MiB regions; what does not fit goes to operator new.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "internet/memory/connection_pool.hpp"
#include "internet/memory/thread_cache.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/testing/accumulating_protocol.hpp"

namespace twisted::test {
namespace {
using detail::BlockPool;
using detail::connectionPool;

std::uintptr_t at(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p);
}

TEST(BlockPoolTest, BlocksAreAlignedDistinctAndPackedIntoOneAlignedRegion) {
  BlockPool pool;
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) {
    void* p = pool.allocate(448 + 16, 64);  // a transport and its counts
    ASSERT_EQ(at(p) % 64, 0u);
    std::memset(p, i & 0xff, 464);  // usable in full
    blocks.push_back(p);
  }
  std::set<std::uintptr_t> distinct;
  for (void* p : blocks) distinct.insert(at(p));
  EXPECT_EQ(distinct.size(), blocks.size());
  // 1,000 blocks of 512 bytes take half a megabyte of one region: the
  // objects of 1,000 connections stay within one huge page.
  EXPECT_EQ(pool.regions(), 1u);
  std::uintptr_t lowest = *distinct.begin();
  EXPECT_EQ(lowest % BlockPool::kRegion, 0u) << "the region is aligned to its size";
  EXPECT_EQ(*distinct.rbegin() - lowest, 999u * 512u) << "no gaps between blocks";
  for (void* p : blocks) {
    EXPECT_TRUE(pool.owns(p));
    pool.deallocate(p, 464, 64);
  }
}

// The distances between the blocks a fresh pool hands out for `sizes`, in
// order; the blocks are freed again.
std::vector<std::uintptr_t> gapsFor(BlockPool& pool, const std::vector<std::size_t>& sizes) {
  std::vector<void*> blocks;
  for (std::size_t n : sizes) blocks.push_back(pool.allocate(n, 8));
  std::vector<std::uintptr_t> gaps;
  for (std::size_t i = 1; i < blocks.size(); ++i) gaps.push_back(at(blocks[i]) - at(blocks[i - 1]));
  for (std::size_t i = 0; i < blocks.size(); ++i) pool.deallocate(blocks[i], sizes[i], 8);
  return gaps;
}

TEST(BlockPoolTest, SizesRoundUpToMultiplesOf64) {
  BlockPool pool;
  EXPECT_EQ(gapsFor(pool, {65, 65, 1, 64}), (std::vector<std::uintptr_t>{128, 128, 64}));
}

TEST(BlockPoolTest, AFreedBlockIsReusedFirstAndOnlyForItsSize) {
  BlockPool pool;
  void* a = pool.allocate(200, 16);
  void* keep = pool.allocate(200, 16);
  pool.deallocate(a, 200, 16);
  void* other = pool.allocate(100, 16);  // another size class: a fresh block
  EXPECT_NE(other, a);
  void* again = pool.allocate(256, 16);  // same class as 200 (193..256)
  EXPECT_EQ(again, a);
  pool.deallocate(again, 256, 16);
  pool.deallocate(keep, 200, 16);
  pool.deallocate(other, 100, 16);
  EXPECT_EQ(pool.regions(), 1u);
}

TEST(BlockPoolTest, ANewRegionWhenOneIsFull) {
  BlockPool pool;
  std::vector<void*> blocks;
  std::size_t perRegion = BlockPool::kRegion / BlockPool::kLargest;
  for (std::size_t i = 0; i < perRegion; ++i)
    blocks.push_back(pool.allocate(BlockPool::kLargest, 64));
  EXPECT_EQ(pool.regions(), 1u);
  blocks.push_back(pool.allocate(BlockPool::kLargest, 64));
  EXPECT_EQ(pool.regions(), 2u);
  EXPECT_TRUE(pool.owns(blocks.back()));
  for (void* p : blocks) pool.deallocate(p, BlockPool::kLargest, 64);
}

TEST(BlockPoolTest, BlocksAbove2KiBComeInPowersOfTwo) {
  // The loop's own buffers (a 64 KiB read buffer, the fd table) share the
  // connections' huge page.
  BlockPool pool;
  EXPECT_EQ(gapsFor(pool, {2049, 4096, 64 << 10, 64}),
            (std::vector<std::uintptr_t>{4096, 4096, 64 << 10}));
  void* c = pool.allocate(64 << 10, 64);  // the block freed above
  std::memset(c, 7, 64 << 10);
  pool.deallocate(c, 64 << 10, 64);
  EXPECT_EQ(pool.allocate(40000, 8), c) << "40,000 bytes: the 64 KiB class";
  pool.deallocate(c, 40000, 8);
  EXPECT_EQ(pool.regions(), 1u);
}

TEST(BlockPoolTest, LargeOrOverAlignedRequestsGoToOperatorNew) {
  BlockPool pool;
  void* big = pool.allocate(BlockPool::kLargest + 1, 8);
  void* aligned = pool.allocate(64, 256);
  EXPECT_FALSE(pool.owns(big));
  EXPECT_FALSE(pool.owns(aligned));
  EXPECT_EQ(at(aligned) % 256, 0u);
  std::memset(big, 1, BlockPool::kLargest + 1);
  pool.deallocate(big, BlockPool::kLargest + 1, 8);
  pool.deallocate(aligned, 64, 256);
  EXPECT_EQ(pool.regions(), 0u) << "no region mapped for what the pool does not serve";
}

struct alignas(128) OverAligned {
  char bytes[128];
};

TEST(ConnectionPoolTest, MakePooledBuildsInTheConnectionPool) {
  auto p = makePooled<testing::AccumulatingProtocol>();
  EXPECT_EQ(connectionPool().owns(p.get()), connectionPoolEnabled());
  auto o = makePooled<OverAligned>();
  EXPECT_EQ(at(o.get()) % 128, 0u);
  EXPECT_FALSE(connectionPool().owns(o.get()));
  std::weak_ptr<testing::AccumulatingProtocol> weak = p;
  const void* block = p.get();
  p.reset();
  EXPECT_TRUE(weak.expired());
  // Object and counts are one block, back in the pool once the last
  // reference, weak ones included, goes: the next one reuses it.
  weak.reset();
  auto again = makePooled<testing::AccumulatingProtocol>();
  if (connectionPoolEnabled()) {
    EXPECT_EQ(static_cast<const void*>(again.get()), block);
  }
}

TEST(ConnectionPoolTest, ForProtocolBuildsProtocolsInThePool) {
  auto factory = Factory::forProtocol<testing::AccumulatingProtocol>();
  auto built = factory->buildProtocol(IPv4Address{Transport::TCP, "127.0.0.1", 1234});
  ASSERT_TRUE(built);
  EXPECT_EQ(connectionPool().owns(built.get()), connectionPoolEnabled());
  EXPECT_EQ(built->factory, factory.get());
  auto clientFactory = ClientFactory::forProtocol<testing::AccumulatingProtocol>();
  auto clientBuilt = clientFactory->buildProtocol(IPv4Address{Transport::TCP, "127.0.0.1", 1234});
  EXPECT_EQ(connectionPool().owns(clientBuilt.get()), connectionPoolEnabled());
}

// As Reactor::Impl: class-scope new and delete in the pool.
struct alignas(64) Pooled final {
  TWISTED_POOLED_NEW(Pooled)
  explicit Pooled(bool fail) {
    constructedAt = this;
    if (fail) throw std::runtime_error("constructor failed");
  }
  char bytes[200];
  static inline const void* constructedAt = nullptr;
};

TEST(ConnectionPoolTest, ABlockIsReturnedWhenTheConstructorThrows) {
  // A reactor whose backend is refused throws from Impl's constructor; its
  // block must go back (LSan reports it in sanitizer builds otherwise).
  EXPECT_THROW(new Pooled(true), std::runtime_error);
  const void* failed = Pooled::constructedAt;
  auto* ok = new Pooled(false);
  if (connectionPoolEnabled()) {
    EXPECT_TRUE(connectionPool().owns(ok));
    EXPECT_EQ(static_cast<const void*>(ok), failed) << "the freed block is reused first";
  }
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ok) % 64, 0u);
  delete ok;
}

// ---- ThreadCache: a thread's blocks in front of the pool ----------------------

TEST(ThreadCacheTest, AllocatingAndFreeingOnOneThreadTakesTheLockOnlyPerBatch) {
  BlockPool pool;
  detail::ThreadCache cache;
  // Warm: one refill per size.
  for (std::size_t size : {64u, 200u, 2048u, 16384u})
    cache.deallocate(pool, cache.allocate(pool, size, 64), size, 64);
  std::size_t locked = pool.lockedCalls();
  for (int i = 0; i < 10000; ++i) {
    for (std::size_t size : {64u, 200u, 2048u, 16384u}) {
      void* p = cache.allocate(pool, size, 64);
      cache.deallocate(pool, p, size, 64);
    }
  }
  EXPECT_EQ(pool.lockedCalls(), locked) << "a connection's churn on its own thread takes no lock";
  cache.drain(pool);
}

TEST(ThreadCacheTest, RefillsAndGivesBackInBatchesAndKeepsAtMostItsLimit) {
  BlockPool pool;
  detail::ThreadCache cache;
  std::size_t c = BlockPool::classOf(256);
  std::uint32_t limit = detail::ThreadCache::limitOf(c), batch = detail::ThreadCache::batchOf(c);
  ASSERT_EQ(limit, 64u);
  ASSERT_EQ(batch, 32u);
  std::vector<void*> blocks;
  std::size_t before = pool.lockedCalls();
  for (int i = 0; i < 320; ++i) blocks.push_back(cache.allocate(pool, 256, 64));
  EXPECT_EQ(pool.lockedCalls() - before, 320u / batch) << "one lock per batch taken";
  std::set<void*> distinct(blocks.begin(), blocks.end());
  EXPECT_EQ(distinct.size(), blocks.size());
  before = pool.lockedCalls();
  for (void* p : blocks) {
    cache.deallocate(pool, p, 256, 64);
    EXPECT_LE(cache.cached(), limit);
  }
  // 320 freed: the cache gives back what is beyond half its limit each
  // time it passes its limit, so about one lock per batch.
  std::size_t locks = pool.lockedCalls() - before;
  EXPECT_GE(locks, 320u / (limit + 1));
  EXPECT_LE(locks, 320u / batch);
  EXPECT_EQ(cache.cached() + pool.freeBlocks(), 320u) << "nothing lost";
  cache.drain(pool);
  EXPECT_EQ(cache.cached(), 0u);
  EXPECT_EQ(pool.freeBlocks(), 320u);
}

TEST(ThreadCacheTest, TheLargestBlocksAreKeptTwoAtATime) {
  EXPECT_EQ(detail::ThreadCache::limitOf(BlockPool::classOf(BlockPool::kLargest)), 2u);
  EXPECT_EQ(detail::ThreadCache::batchOf(BlockPool::classOf(BlockPool::kLargest)), 1u);
  BlockPool pool;
  detail::ThreadCache cache;
  void* big[3];
  for (void*& p : big) p = cache.allocate(pool, BlockPool::kLargest, 64);
  for (void* p : big) cache.deallocate(pool, p, BlockPool::kLargest, 64);
  EXPECT_LE(cache.cached(), 2u);
  void* huge = cache.allocate(pool, BlockPool::kLargest + 1, 64);  // beyond the pool: operator new
  EXPECT_FALSE(pool.owns(huge));
  cache.deallocate(pool, huge, BlockPool::kLargest + 1, 64);
  cache.drain(pool);
}

TEST(ConnectionPoolTest, EachThreadHasItsCacheDrainedWhenItEnds) {
  if (!connectionPoolEnabled()) GTEST_SKIP() << "sanitizer builds use operator new";
  std::size_t cachedThere = 0;
  std::size_t freeBefore = connectionPool().freeBlocks();
  std::thread([&] {
    std::vector<void*> blocks;
    for (int i = 0; i < 10; ++i) blocks.push_back(allocateConnectionMemory(640, 64));
    for (void* p : blocks) deallocateConnectionMemory(p, 640, 64);
    cachedThere = detail::connectionPoolCachedHere();
  }).join();
  EXPECT_GE(cachedThere, 10u) << "freed into the thread's own cache";
  EXPECT_GE(connectionPool().freeBlocks(), freeBefore + cachedThere) << "given back when it ended";
}

TEST(ConnectionPoolTest, PooledExceptInSanitizerBuilds) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  EXPECT_FALSE(connectionPoolEnabled()) << "ASan and TSan must see every transport's lifetime";
#else
  EXPECT_TRUE(connectionPoolEnabled());
#endif
}

}  // namespace
}  // namespace twisted::test

// BlockPool under threads: a transport or protocol may be released on any
// thread, so allocate and deallocate race. Runs under TSan (label threads).
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "internet/memory/connection_pool.hpp"
#include "internet/memory/thread_cache.hpp"

namespace twisted::test {
namespace {
using detail::BlockPool;

TEST(BlockPoolThreadsTest, ConcurrentAllocationsNeverShareABlock) {
  BlockPool pool;
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::vector<std::thread> threads;
  std::vector<int> corrupted(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&pool, &corrupted, t] {
      std::vector<std::pair<unsigned char*, std::size_t>> live;
      for (int i = 0; i < kRounds; ++i) {
        std::size_t size = 64 * (1 + (i * 7 + t) % 8);
        auto* p = static_cast<unsigned char*>(pool.allocate(size, 64));
        std::memset(p, t + 1, size);
        live.emplace_back(p, size);
        if (live.size() > 16 || i == kRounds - 1) {
          // Free all but the newest, checking that nobody else wrote there.
          while (live.size() > 1) {
            auto [q, n] = live.front();
            live.erase(live.begin());
            for (std::size_t k = 0; k < n; ++k) corrupted[t] += q[k] != t + 1;
            pool.deallocate(q, n, 64);
          }
        }
      }
      for (auto [q, n] : live) pool.deallocate(q, n, 64);
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(corrupted[t], 0) << "thread " << t;
  EXPECT_EQ(pool.regions(), 1u) << "freed blocks are reused";
}

TEST(BlockPoolThreadsTest, ABlockMadeOnOneThreadIsFreedOnAnother) {
  BlockPool pool;
  void* p = pool.allocate(512, 64);
  std::thread([&] { pool.deallocate(p, 512, 64); }).join();
  EXPECT_EQ(pool.allocate(512, 64), p);
  pool.deallocate(p, 512, 64);
}

TEST(BlockPoolThreadsTest, TwoThreadCachesPassBlocksThroughTheirPool) {
  // A worker frees what another allocated (a connection handed over with
  // callFromThread): the blocks travel through the pool in batches, each
  // owned by one thread at a time.
  BlockPool pool;
  constexpr int kBlocks = 20000;
  constexpr std::size_t kSize = 192;
  std::mutex mutex;
  std::vector<unsigned char*> handed;
  std::atomic<bool> done{false};
  int corrupted = 0, freed = 0;
  std::thread producer([&] {
    detail::ThreadCache cache;
    for (int i = 0; i < kBlocks; ++i) {
      auto* p = static_cast<unsigned char*>(cache.allocate(pool, kSize, 64));
      std::memset(p, 0xA5, kSize);
      std::lock_guard lock(mutex);
      handed.push_back(p);
    }
    done = true;
    cache.drain(pool);
  });
  std::thread consumer([&] {
    detail::ThreadCache cache;
    for (;;) {
      std::vector<unsigned char*> batch;
      bool finished = done.load();
      {
        std::lock_guard lock(mutex);
        batch.swap(handed);
      }
      for (unsigned char* p : batch) {
        for (std::size_t k = 0; k < kSize; ++k) corrupted += p[k] != 0xA5;
        std::memset(p, 0, kSize);
        cache.deallocate(pool, p, kSize, 64);
        ++freed;
      }
      if (finished && batch.empty()) break;
      std::this_thread::yield();
    }
    cache.drain(pool);
  });
  producer.join();
  consumer.join();
  EXPECT_EQ(freed, kBlocks);
  EXPECT_EQ(corrupted, 0);
  // Every block is back, each once: taking them all again from the pool
  // gives distinct blocks and maps nothing new.
  std::size_t free = pool.freeBlocks(), regions = pool.regions();
  EXPECT_GT(free, 0u);
  EXPECT_LE(free, static_cast<std::size_t>(kBlocks));
  std::set<void*> again;
  for (std::size_t i = 0; i < free; ++i) again.insert(pool.allocate(kSize, 64));
  EXPECT_EQ(again.size(), free);
  EXPECT_EQ(pool.regions(), regions);
  for (void* p : again) pool.deallocate(p, kSize, 64);
}

}  // namespace
}  // namespace twisted::test

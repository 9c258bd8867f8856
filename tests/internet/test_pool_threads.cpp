// BlockPool under threads: a transport or protocol may be released on any
// thread, so allocate and deallocate race. Runs under TSan (label threads).
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "internet/memory/connection_pool.hpp"

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

}  // namespace
}  // namespace twisted::test

// BlockPool under threads: a transport or protocol may be released on any
// thread, so allocate and deallocate race. Runs under TSan (label threads).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "twisted/internet/pool.hpp"

namespace twisted::test {
namespace {

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

TEST(BlockPoolThreadsTest, AForkedChildAllocatesWhileAnotherThreadWasAllocating) {
  // A pre-forked worker builds transports in the child: the pool's lock
  // must not be inherited held by a thread the child does not have.
  if (!connectionPoolEnabled()) GTEST_SKIP() << "sanitizer build: no pool";
  std::atomic<bool> stop{false};
  std::thread churn([&stop] {
    while (!stop.load(std::memory_order_relaxed)) makePooled<std::array<char, 100>>();
  });
  int deadlocked = 0;
  for (int i = 0; i < 40 && deadlocked == 0; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto p = makePooled<std::array<char, 100>>();
      ::_exit(p ? 0 : 1);
    }
    int status = 0;
    bool exited = false;
    for (int t = 0; t < 300 && !exited; ++t) {  // up to 3 s
      exited = ::waitpid(pid, &status, WNOHANG) == pid;
      if (!exited) ::usleep(10000);
    }
    if (!exited) {
      ++deadlocked;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    } else {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
  }
  stop = true;
  churn.join();
  EXPECT_EQ(deadlocked, 0) << "children stuck on the pool's lock";
}

}  // namespace
}  // namespace twisted::test

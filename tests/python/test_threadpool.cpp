// ThreadPool on its own (twisted/test/test_threadpool.py's core behaviours).
#include "twisted/python/threadpool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "reactor_test.hpp"

namespace twisted::test {
namespace {

using namespace std::chrono_literals;

TEST(ThreadPool, RejectsBadBounds) {
  EXPECT_THROW(ThreadPool(-1, 2), std::invalid_argument);
  EXPECT_THROW(ThreadPool(3, 2), std::invalid_argument);
  EXPECT_THROW(ThreadPool(0, 0), std::invalid_argument);
}

TEST(ThreadPool, WorkQueuedBeforeStartRunsAfterStart) {
  ThreadPool pool(0, 2);
  std::atomic<int> n{0};
  for (int i = 0; i < 10; ++i) pool.callInThread([&] { ++n; });
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(n.load(), 0);
  EXPECT_EQ(pool.queuedCount(), 10u);
  pool.start();
  pool.stop();  // stop() runs what is queued, then joins
  EXPECT_EQ(n.load(), 10);
  EXPECT_EQ(pool.threadCount(), 0u);
}

TEST(ThreadPool, MinThreadsStartAtOnceAndMaxBoundsConcurrency) {
  ThreadPool pool(2, 3);
  pool.start();
  EXPECT_EQ(pool.threadCount(), 2u);
  std::mutex m;
  std::condition_variable cv;
  int running = 0;
  int peak = 0;
  bool release = false;
  for (int i = 0; i < 8; ++i) {
    pool.callInThread([&] {
      std::unique_lock lock(m);
      peak = std::max(peak, ++running);
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
      --running;
    });
  }
  {
    // Until three run at once (a bound only: a loaded machine is slow to
    // start the third thread), then a little longer: a fourth must not.
    std::unique_lock lock(m);
    EXPECT_TRUE(cv.wait_for(lock, 60s, [&] { return running == 3; })) << "running " << running;
  }
  // Workers are started by callInThread itself, so after the eight calls
  // the count is final: three threads, five items still queued. A pool that
  // started a fourth thread fails here whatever the timing.
  EXPECT_EQ(pool.threadCount(), 3u);
  EXPECT_EQ(pool.queuedCount(), 5u);
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  pool.stop();
  EXPECT_EQ(peak, 3);
}

TEST(ThreadPool, ExceptionsAreLoggedAndWorkerSurvives) {
  LogCapture logs;
  ThreadPool pool(1, 1);
  pool.start();
  std::atomic<bool> after{false};
  pool.callInThread([] { throw std::runtime_error("work failed"); });
  pool.callInThread([&] { after = true; });
  pool.stop();
  EXPECT_TRUE(after);
  EXPECT_EQ(logs.flushErrors<std::runtime_error>(), 1u);
}

TEST(ThreadPool, AdjustPoolsizeShrinksAndGrows) {
  ThreadPool pool(4, 4);
  pool.start();
  EXPECT_EQ(pool.threadCount(), 4u);
  pool.adjustPoolsize(1, 2);
  // Bounded at 60 s: idle threads leave when they next look, which a loaded
  // machine may delay.
  for (int i = 0; i < 30000 && pool.threadCount() > 2; ++i) std::this_thread::sleep_for(2ms);
  EXPECT_EQ(pool.threadCount(), 2u);
  pool.adjustPoolsize(3, 5);
  EXPECT_EQ(pool.threadCount(), 3u);
  pool.stop();
}

TEST(ThreadPool, RestartAfterStop) {
  ThreadPool pool(1, 2);
  for (int round = 0; round < 3; ++round) {
    std::atomic<int> n{0};
    pool.start();
    for (int i = 0; i < 5; ++i) pool.callInThread([&] { ++n; });
    pool.stop();
    EXPECT_EQ(n.load(), 5);
  }
}

TEST(ThreadPool, RunsOnDistinctThreads) {
  ThreadPool pool(0, 4);
  std::mutex m;
  std::set<std::thread::id> ids;
  std::atomic<int> arrived{0};
  pool.start();
  for (int i = 0; i < 4; ++i) {
    pool.callInThread([&] {
      {
        std::lock_guard lock(m);
        ids.insert(std::this_thread::get_id());
      }
      ++arrived;
      // Hold the thread until all four arrived, so each item has its own.
      for (int spin = 0; spin < 60000 && arrived < 4; ++spin) std::this_thread::sleep_for(1ms);
    });
  }
  pool.stop();
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
}

}  // namespace
}  // namespace twisted::test

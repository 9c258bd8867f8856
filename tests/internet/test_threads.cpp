// IReactorThreads: callFromThread, callInThread, the reactor's thread pool.
// Covers twisted/internet/test/test_threads.py (see docs/conformance.md).
// Also run under TSan by .ci/run.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "iterate_until.hpp"
#include "reactor_test.hpp"
#include "twisted/python/threadpool.hpp"

namespace twisted::test {
namespace {

using namespace std::chrono_literals;

class ThreadsTest : public ReactorTest {};

TEST_P(ThreadsTest, CallFromThreadWakesSleepingLoop) {
  // No timers, no I/O: only the eventfd can wake the loop. Unwoken, it would
  // sleep until runReactor's guard at 60 s; woken, it stops in milliseconds
  // (the bound of 30 s allows for a loaded machine).
  // ThreadTestsBuilder.test_callFromThread: the function runs on the
  // reactor's thread, not on the one that sent it.
  std::thread t;
  std::thread::id ranOn, sender;
  reactor->callWhenRunning([&] {
    t = std::thread([&] {
      sender = std::this_thread::get_id();
      std::this_thread::sleep_for(20ms);
      reactor->callFromThread([&] {
        ranOn = std::this_thread::get_id();
        reactor->stop();
      });
    });
  });
  auto start = std::chrono::steady_clock::now();
  runReactor(60);
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  EXPECT_EQ(ranOn, std::this_thread::get_id()) << "on the reactor's thread (this one)";
  EXPECT_NE(ranOn, sender);
}

TEST_P(ThreadsTest, CallFromThreadFromManyThreadsDeliversEverythingInOrder) {
  constexpr int kThreads = 4;
  constexpr int kCalls = 5000;
  std::vector<std::vector<int>> seen(kThreads);
  int total = 0;
  std::vector<std::thread> threads;
  reactor->callWhenRunning([&] {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCalls; ++i) {
          reactor->callFromThread([&, t, i] {
            seen[t].push_back(i);
            if (++total == kThreads * kCalls) reactor->stop();
          });
        }
      });
    }
  });
  runReactor(30);
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seen[t].size(), static_cast<std::size_t>(kCalls));
    for (int i = 0; i < kCalls; ++i) ASSERT_EQ(seen[t][i], i) << "order from one thread kept";
  }
}

TEST_P(ThreadsTest, CallFromThreadBeforeRunIsRunOnceRunning) {
  bool ran = false;
  reactor->callFromThread([&] {
    ran = true;
    reactor->stop();
  });
  runReactor();
  EXPECT_TRUE(ran);
}

TEST_P(ThreadsTest, DelayedCallFromThread) {
  // Scheduling a timer from a thread, through callFromThread, works and the
  // timer fires (Twisted's test_delayedCallFromThread).
  std::thread t;
  bool fired = false;
  reactor->callWhenRunning([&] {
    t = std::thread([&] {
      reactor->callFromThread([&] {
        reactor->callLater(0.01, [&] {
          fired = true;
          reactor->stop();
        });
      });
    });
  });
  runReactor();
  t.join();
  EXPECT_TRUE(fired);
}

TEST_P(ThreadsTest, CallInThreadRunsOffTheReactorThread) {
  std::thread::id reactorThread = std::this_thread::get_id();
  std::thread::id workerThread;
  bool inIOThread = true;
  reactor->callWhenRunning([&] {
    EXPECT_TRUE(reactor->isInIOThread());
    reactor->callInThread([&] {
      workerThread = std::this_thread::get_id();
      inIOThread = reactor->isInIOThread();
      reactor->callFromThread([&] { reactor->stop(); });
    });
  });
  runReactor();
  EXPECT_NE(workerThread, reactorThread);
  EXPECT_FALSE(inIOThread);
}

TEST_P(ThreadsTest, ThreadPoolStartsWithReactorAndStopsAtShutdown) {
  const int baseline = threadBaseline();
  ThreadPool& pool = reactor->getThreadPool();
  EXPECT_EQ(&pool, &reactor->getThreadPool()) << "one pool per reactor";
  EXPECT_FALSE(pool.started());
  EXPECT_EQ(pool.maxThreads(), 10);
  bool startedWhileRunning = false;
  std::atomic<bool> workDone{false};
  reactor->callWhenRunning([&] {
    startedWhileRunning = pool.started();
    pool.callInThread([&] { workDone = true; });
    reactor->stop();
  });
  runReactor();
  EXPECT_TRUE(startedWhileRunning);
  EXPECT_TRUE(workDone) << "queued work finishes before the pool stops";
  EXPECT_EQ(waitForThreadCount(baseline), baseline) << "shutdown joined the pool's threads";
  EXPECT_FALSE(reactor->getThreadPool().started()) << "a fresh, unstarted pool";
}

TEST_P(ThreadsTest, ThreadPoolCreatedAfterRunStartsAtOnce) {
  bool started = false;
  reactor->callWhenRunning([&] {
    started = reactor->getThreadPool().started();
    reactor->stop();
  });
  runReactor();
  EXPECT_TRUE(started);
}

// ThreadTestsBuilder.test_stopThreadPoolWhenStartedAfterReactorRan: a pool
// first obtained while the reactor runs is still stopped at shutdown, its
// workers joined (no thread outlives the run).
TEST_P(ThreadsTest, APoolFirstObtainedWhileRunningIsStoppedAtShutdown) {
  int before = threadBaseline();
  std::atomic<bool> ran{false};
  std::size_t workers = 0;
  reactor->callWhenRunning([&] {
    reactor->getThreadPool().callInThread([&] { ran = true; });
    workers = reactor->getThreadPool().threadCount();
    reactor->stop();
  });
  runReactor();
  EXPECT_GE(workers, 1u);
  EXPECT_TRUE(ran) << "what was queued ran before the stop";
  EXPECT_EQ(countThreads(), before) << "the workers were joined at shutdown";
}

TEST_P(ThreadsTest, SuggestThreadPoolSize) {
  reactor->suggestThreadPoolSize(17);
  EXPECT_EQ(reactor->getThreadPool().maxThreads(), 17);
}

TEST_P(ThreadsTest, ThrowingCallFromThreadIsLogged) {
  bool after = false;
  reactor->callFromThread([] { throw std::runtime_error("thread call failed"); });
  reactor->callFromThread([&] {
    after = true;
    reactor->stop();
  });
  runReactor();
  EXPECT_TRUE(after);
  EXPECT_EQ(logs->flushErrors<std::runtime_error>(), 1u);
}

TEST_P(ThreadsTest, WakeUpFromAnotherThread) {
  std::atomic<bool> flag{false};
  std::thread t([&] {
    std::this_thread::sleep_for(10ms);
    flag = true;
    reactor->wakeUp();
  });
  // iterate(60) would sleep 60 s unless woken; woken, it returns in
  // milliseconds (30 s allows for a loaded machine).
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return flag.load(); }, "the wake-up", 60, 120));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  t.join();
}

TWISTED_ALL_BACKENDS(ThreadsTest);

}  // namespace
}  // namespace twisted::test

namespace twisted::test {
namespace {

// test_delayedCallFromThread as Twisted has it: callFromThread made on the
// reactor thread, from a delayed call, runs on the next turn without
// another event to wake the loop (no timer is left to end its wait).
TEST_P(ThreadsTest, CallFromThreadOnTheReactorThreadFromADelayedCallRunsNextTurn) {
  bool ran = false;
  reactor->callLater(0, [&] {
    reactor->callFromThread([&] {
      ran = true;
      reactor->stop();
    });
  });
  runReactor(60);
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace twisted::test

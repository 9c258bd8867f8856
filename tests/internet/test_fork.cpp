// Process-wide state across fork(): a pre-forked worker builds transports,
// logs and runs a reactor in the child, whatever the parent's other threads
// were doing at the fork. Its own executable: it replaces the global
// operator new, to hold a thread inside the pool's first use (or inside the
// log publisher's lock) while another thread forks.
#include <gtest/gtest.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>

#include "internet/memory/connection_pool.hpp"
#include "internet/sanitizers.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"
#include "twisted/logger/publisher.hpp"

#ifndef TWISTED_SANITIZED
namespace {
// A thread that arms the hook blocks in its next operator new until the
// forking thread's prepare handler releases it.
thread_local bool t_armed = false;
std::atomic<bool> g_blocked{false};
std::atomic<bool> g_release{false};
}  // namespace

void* operator new(std::size_t size) {
  if (t_armed) {
    t_armed = false;
    g_blocked.store(true);
    while (!g_release.load()) std::this_thread::yield();
  }
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#endif

namespace twisted::test {
namespace {

using logger::globalLogPublisher;
using logger::LogEvent;
using Block = std::array<char, 100>;

// Forks a child that runs `body` and exits with its status. The child is
// killed by its own alarm if it deadlocks: the parent blocks in waitpid
// on the child's exit, and decides nothing by the clock.
template <class Body>
::testing::AssertionResult childRuns(Body body) {
  pid_t pid = ::fork();
  if (pid < 0) return ::testing::AssertionFailure() << "fork failed";
  if (pid == 0) {
    ::alarm(60);  // a bound only: a healthy child exits in milliseconds
    ::_exit(body());
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return ::testing::AssertionFailure() << "waitpid failed";
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    return ::testing::AssertionFailure() << "the child deadlocked";
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return ::testing::AssertionFailure() << "the child failed, status " << status;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult childAllocates() {
  return childRuns([] { return makePooled<Block>() ? 0 : 1; });
}

#ifndef TWISTED_SANITIZED
// First in the file: it needs a process whose pool has not been used yet
// (ctest runs each test in a process of its own).
TEST(ConnectionPoolForkTest, AChildForkedDuringThePoolsFirstUseAllocates) {
  // Released by the forking thread once the fork has begun (prepare
  // handlers run last-registered first, so this one runs before the
  // pool's). The first use is then still under way when the child is made.
  ::pthread_atfork([] { g_release.store(true); }, nullptr, nullptr);
  std::atomic<bool> done{false};
  std::thread first([&done] {
    t_armed = true;
    makePooled<Block>();
    t_armed = false;
    done.store(true);
  });
  // Until the first use is inside its allocation (or has finished without
  // one: the pool had been used in this process already).
  while (!g_blocked.load() && !done.load()) std::this_thread::yield();
  if (!g_blocked.load()) {
    first.join();
    GTEST_SKIP() << "the pool was used already in this process";
  }
  EXPECT_TRUE(childAllocates());
  first.join();
  EXPECT_EQ(detail::connectionPool().regions(), 1u);
}
#endif

TEST(ConnectionPoolForkTest, ChildrenForkedWhileAnotherThreadAllocatesAllocate) {
  if (!connectionPoolEnabled()) GTEST_SKIP() << "sanitizer build: no pool";
  std::atomic<bool> stop{false};
  std::atomic<long> rounds{0};
  std::thread churn([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      makePooled<Block>();
      rounds.fetch_add(1, std::memory_order_relaxed);
    }
  });
  for (int i = 0; i < 40; ++i) {
    // Each fork lands while the other thread is busy in the pool.
    long seen = rounds.load();
    while (rounds.load() == seen) std::this_thread::yield();
    ASSERT_TRUE(childAllocates()) << "fork " << i;
  }
  stop = true;
  churn.join();
}

#ifndef TWISTED_SANITIZED
TEST(GlobalLogPublisherForkTest, AChildForkedWhileAnotherThreadHoldsThePublisherLogs) {
  ::pthread_atfork([] { g_release.store(true); }, nullptr, nullptr);
  std::thread adding([] {
    t_armed = true;  // blocks in the copy of the observer list, under the lock
    globalLogPublisher().addObserver([](const LogEvent&) {});
  });
  while (!g_blocked.load()) std::this_thread::yield();
  EXPECT_TRUE(childRuns([] {
    std::size_t seen = 0;
    globalLogPublisher().addObserver([&seen](const LogEvent&) { ++seen; });
    logger::Logger("fork.child").info("logged in the child");
    return seen == 1 ? 0 : 1;
  }));
  adding.join();
}
#endif

TEST(SignalHandlersForkTest, AReactorInAChildForkedFromARunningReactorStopsOnSIGTERM) {
  // The parent's reactor owns the signal handlers when the child is forked
  // from inside its loop; the child's own reactor must take them, or its
  // SIGTERM goes to the parent's waker and the child never stops.
  Reactor parent;
  ::testing::AssertionResult result = ::testing::AssertionFailure() << "not forked";
  parent.callWhenRunning([&] {
    result = childRuns([] {
      Reactor child;
      child.callWhenRunning([] { ::kill(::getpid(), SIGTERM); });
      child.run();
      return child.exitSignal() == SIGTERM ? 0 : 1;
    });
    parent.stop();
  });
  parent.run();
  EXPECT_TRUE(result);
}

}  // namespace
}  // namespace twisted::test

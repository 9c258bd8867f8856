// DeferredLock, DeferredSemaphore, DeferredQueue (test_defer.py's
// LockTests, SemaphoreTests, QueueTests behaviours).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "twisted/internet/defer.hpp"
#include "twisted/testing/deferred.hpp"

namespace twisted {
namespace {

using testing::failureResultOf;
using testing::hasNoResult;
using testing::successResultOf;

TEST(DeferredLock, AcquireReleaseInOrder) {
  auto lock = DeferredLock::create();
  std::vector<int> order;
  lock->acquire().addCallback([&] { order.push_back(1); });
  EXPECT_TRUE(lock->locked());
  Deferred<void> second = lock->acquire().addCallback([&] { order.push_back(2); });
  Deferred<void> third = lock->acquire().addCallback([&] { order.push_back(3); });
  EXPECT_EQ(order, std::vector<int>{1});
  EXPECT_EQ(lock->waiting(), 2u);
  lock->release();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  lock->release();
  lock->release();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(lock->locked());
  EXPECT_THROW(lock->release(), std::logic_error);
}

TEST(DeferredLock, CancelledWaiterLeavesTheQueue) {
  auto lock = DeferredLock::create();
  successResultOf(lock->acquire());
  Deferred<void> waiter = lock->acquire();
  waiter.cancel();
  EXPECT_TRUE(failureResultOf(waiter).check<error::CancelledError>());
  EXPECT_EQ(lock->waiting(), 0u);
  lock->release();
  EXPECT_FALSE(lock->locked()) << "the cancelled waiter did not take the lock";
}

TEST(DeferredLock, RunReleasesAfterSuccessAndFailure) {
  auto lock = DeferredLock::create();
  Deferred<int> inner;
  auto r = lock->run([&] { return inner; });
  EXPECT_TRUE(lock->locked());
  inner.callback(5);
  EXPECT_EQ(successResultOf(r), 5);
  EXPECT_FALSE(lock->locked());
  auto bad = lock->run([]() -> int { throw std::runtime_error("in run"); });
  EXPECT_EQ(failureResultOf(bad).getErrorMessage(), "in run");
  EXPECT_FALSE(lock->locked());
}

TEST(DeferredSemaphore, LimitsConcurrency) {
  auto sem = DeferredSemaphore::create(2);
  EXPECT_THROW(DeferredSemaphore::create(0), std::invalid_argument);
  int running = 0;
  int peak = 0;
  std::vector<Deferred<void>> gates(5);
  std::vector<Deferred<void>> results;
  for (auto& gate : gates) {
    results.push_back(sem->run([&, gate]() mutable {
      peak = std::max(peak, ++running);
      return gate.addCallback([&] { --running; });
    }));
  }
  EXPECT_EQ(running, 2);
  EXPECT_EQ(sem->tokens(), 0);
  EXPECT_EQ(sem->waiting(), 3u);
  for (auto& gate : gates) gate.callback();
  EXPECT_EQ(peak, 2);
  EXPECT_EQ(sem->tokens(), 2);
  for (auto& r : results) successResultOf(r);
  EXPECT_THROW(sem->release(), std::logic_error);
}

TEST(DeferredQueue, GetBeforeAndAfterPut) {
  DeferredQueue<std::string> q;
  Deferred<std::string> waiting = q.get();
  EXPECT_TRUE(hasNoResult(waiting));
  q.put("a");
  EXPECT_EQ(successResultOf(waiting), "a");
  q.put("b");
  q.put("c");
  EXPECT_EQ(q.pendingCount(), 2u);
  EXPECT_EQ(successResultOf(q.get()), "b");
  EXPECT_EQ(successResultOf(q.get()), "c");
}

TEST(DeferredQueue, SizeAndBacklogLimits) {
  DeferredQueue<int> q(/*size=*/1, /*backlog=*/1);
  q.put(1);
  EXPECT_THROW(q.put(2), error::QueueOverflow);
  successResultOf(q.get());
  Deferred<int> w = q.get();
  EXPECT_THROW(q.get(), error::QueueUnderflow);
  q.put(3);
  EXPECT_EQ(successResultOf(w), 3);
}

TEST(DeferredQueue, CancelledGetIsRemoved) {
  DeferredQueue<int> q;
  Deferred<int> a = q.get();
  Deferred<int> b = q.get();
  a.cancel();
  EXPECT_TRUE(failureResultOf(a).check<error::CancelledError>());
  EXPECT_EQ(q.waitingCount(), 1u);
  q.put(7);
  EXPECT_EQ(successResultOf(b), 7);
}

TEST(DeferredQueue, MoveOnlyItems) {
  DeferredQueue<std::unique_ptr<int>> q;
  q.put(std::make_unique<int>(4));
  EXPECT_EQ(*successResultOf(q.get()), 4);
}

}  // namespace
}  // namespace twisted

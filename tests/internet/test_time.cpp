// IReactorTime on the real reactor: callLater, DelayedCall, ordering, load.
// Covers twisted/internet/test/test_time.py and test_base.py's DelayedCall
// tests (see docs/conformance.md).
#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "internet/poller/poller.hpp"
#include "reactor_test.hpp"
#include "twisted/testing/clock.hpp"

namespace twisted::test {
namespace {

class TimeTest : public ReactorTest {};

TEST_P(TimeTest, DelayedCallStopsReactor) {
  reactor->callLater(0, [&] { reactor->stop(); });
  runReactor();
}

TEST_P(TimeTest, DistantDelayedCallDoesNotBreakTheLoop) {
  // A timeout beyond what epoll_wait's int milliseconds can express, and
  // the only timer: the loop waits with it (no guard timer nearer), until
  // another thread wakes it.
  DelayedCall far = reactor->callLater(4294967296.0, [] {});
  std::thread waker;
  reactor->callWhenRunning(
      [&] { waker = std::thread([&] { reactor->callFromThread([&] { reactor->stop(); }); }); });
  reactor->run(false);
  waker.join();
  EXPECT_TRUE(far.active());
  far.cancel();
}

// What the loop passes its backend for a timer that far away: clamped to
// about 24 days (Twisted's bound), not overflowed into a negative (wait
// forever) or a small (spin) number of milliseconds.
TEST(PollerTimeout, ADistantTimeoutIsClampedNotOverflowed) {
  EXPECT_EQ(detail::timeoutMillis(4294967296.0), 2147483000);
  EXPECT_EQ(detail::timeoutMillis(1e300), 2147483000);
  EXPECT_EQ(detail::timeoutMillis(-1), -1);
  EXPECT_EQ(detail::timeoutMillis(0), 0);
  EXPECT_EQ(detail::timeoutMillis(0.0005), 1) << "rounded up: never a busy wait for a due timer";
}

TEST_P(TimeTest, CallsRunInTimeThenSchedulingOrder) {
  std::vector<int> order;
  double now = reactor->seconds();
  reactor->callLater(0.02, [&] { order.push_back(3); });
  for (int i = 0; i < 2; ++i) reactor->callLater(0.01, [&order, i] { order.push_back(i + 1); });
  reactor->callLater(0, [&] { order.push_back(0); });
  reactor->callLater(0.03, [&] { reactor->stop(); });
  runReactor();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_GE(reactor->seconds() - now, 0.03);
}

TEST_P(TimeTest, SameDeadlineKeepsSchedulingOrder) {
  // Many calls with exactly one deadline run in the order scheduled.
  std::vector<int> order;
  for (int i = 0; i < 1000; ++i) reactor->callLater(0, [&order, i] { order.push_back(i); });
  reactor->callLater(0, [&] { reactor->stop(); });
  runReactor();
  ASSERT_EQ(order.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(order[i], i);
}

TEST_P(TimeTest, DelayedCallStates) {
  bool calledInside = false;
  bool activeInside = true;
  DelayedCall call;
  call = reactor->callLater(0, [&] {
    calledInside = call.called();
    activeInside = call.active();
    EXPECT_THROW(call.cancel(), error::AlreadyCalled);
    reactor->stop();
  });
  EXPECT_TRUE(call.active());
  EXPECT_FALSE(call.called());
  EXPECT_FALSE(call.cancelled());
  runReactor();
  EXPECT_TRUE(calledInside);
  EXPECT_FALSE(activeInside);
  EXPECT_THROW(call.cancel(), error::AlreadyCalled);
  EXPECT_THROW(call.reset(1), error::AlreadyCalled);
  EXPECT_THROW(call.delay(1), error::AlreadyCalled);
}

TEST_P(TimeTest, CancelledCallNeverRunsAndCancelTwiceRaises) {
  bool ran = false;
  DelayedCall call = reactor->callLater(0, [&] { ran = true; });
  call.cancel();
  EXPECT_TRUE(call.cancelled());
  EXPECT_FALSE(call.active());
  EXPECT_THROW(call.cancel(), error::AlreadyCancelled);
  EXPECT_THROW(call.reset(0), error::AlreadyCancelled);
  reactor->callLater(0.01, [&] { reactor->stop(); });
  runReactor();
  EXPECT_FALSE(ran);
}

TEST_P(TimeTest, CancelFreesTheCallableAtOnce) {
  auto token = std::make_shared<int>(1);
  DelayedCall call = reactor->callLater(100, [token] {});
  EXPECT_EQ(token.use_count(), 2);
  call.cancel();
  EXPECT_EQ(token.use_count(), 1);
}

TEST_P(TimeTest, ResetAndDelayMoveTheCall) {
  std::vector<std::string> order;
  DelayedCall a = reactor->callLater(0.01, [&] { order.push_back("a"); });
  DelayedCall b = reactor->callLater(0.05, [&] { order.push_back("b"); });
  double before = a.getTime();
  a.reset(0.1);  // now after b
  EXPECT_GT(a.getTime(), before);
  b.delay(-0.04);  // now at ~0.01
  EXPECT_NEAR(b.getTime(), before, 0.005);
  reactor->callLater(0.15, [&] { reactor->stop(); });
  runReactor();
  EXPECT_EQ(order, (std::vector<std::string>{"b", "a"}));
}

TEST_P(TimeTest, GetDelayedCallsListsPendingOnly) {
  DelayedCall a = reactor->callLater(10, [] {});
  DelayedCall b = reactor->callLater(10, [] {});
  DelayedCall c = reactor->callLater(10, [] {});
  b.cancel();
  auto pending = reactor->getDelayedCalls();
  ASSERT_EQ(pending.size(), 2u);
  // Each of a and c exactly once, and not b: checked with != too, so an
  // operator== that always answered true would fail here.
  EXPECT_TRUE((pending[0] == a && pending[1] == c) || (pending[0] == c && pending[1] == a));
  EXPECT_TRUE(pending[0] != pending[1]);
  for (const DelayedCall& p : pending) {
    EXPECT_TRUE(p != b);
    EXPECT_FALSE(p == b);
  }
  EXPECT_EQ(std::count(pending.begin(), pending.end(), a), 1);
  EXPECT_EQ(std::count(pending.begin(), pending.end(), c), 1);
  a.cancel();
  c.cancel();
  EXPECT_TRUE(reactor->getDelayedCalls().empty());
}

TEST_P(TimeTest, NegativeDelayIsRefused) {
  EXPECT_THROW(reactor->callLater(-1, [] {}), std::invalid_argument);
}

TEST_P(TimeTest, ThrowingCallIsLoggedAndLoopGoesOn) {
  bool later = false;
  reactor->callLater(0, [] { throw std::runtime_error("delayed call failed"); });
  reactor->callLater(0, [&] { later = true; });
  reactor->callLater(0.01, [&] { reactor->stop(); });
  runReactor();
  EXPECT_TRUE(later);
  ASSERT_EQ(logs->flushErrors<std::runtime_error>(), 1u);
}

TEST_P(TimeTest, ZeroDelayRescheduleDoesNotStarveIO) {
  // A call that keeps rescheduling itself at delay 0 must not keep the loop
  // from polling: a waiting reader still gets its turn.
  auto [a, b] = socketPair();
  auto reader = std::make_shared<FakeDescriptor>(a.get());
  int spins = 0;
  bool gotRead = false;
  reader->onRead = [&]() -> IOResult {
    gotRead = true;
    reactor->removeReader(*reader);
    return std::nullopt;
  };
  std::function<void()> spin = [&] {
    ++spins;
    if (gotRead || spins > 100000) {
      reactor->stop();
    } else {
      reactor->callLater(0, [&] { spin(); });
    }
  };
  reactor->addReader(reader);
  sendByte(b);
  reactor->callLater(0, [&] { spin(); });
  runReactor();
  EXPECT_TRUE(gotRead);
  EXPECT_LT(spins, 10);
}

TEST_P(TimeTest, ManyTimersHalfCancelled) {
  // The "normal load", scaled to keep the suite fast.
  constexpr int kTimers = 200000;
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> delay(0, 0.05);
  int fired = 0;
  std::vector<DelayedCall> calls;
  calls.reserve(kTimers);
  for (int i = 0; i < kTimers; ++i)
    calls.push_back(reactor->callLater(delay(rng), [&] { ++fired; }));
  for (int i = 0; i < kTimers; i += 2) calls[i].cancel();
  EXPECT_EQ(reactor->getDelayedCalls().size(), static_cast<std::size_t>(kTimers / 2));
  calls.clear();
  reactor->callLater(0.06, [&] { reactor->stop(); });
  runReactor();
  EXPECT_EQ(fired, kTimers / 2);
}

TEST_P(TimeTest, DestroyingReactorCancelsPendingCalls) {
  auto token = std::make_shared<int>(1);
  DelayedCall call;
  {
    Reactor other(GetParam());
    call = other.callLater(10, [token] {});
  }
  EXPECT_TRUE(call.cancelled());
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_THROW(call.cancel(), error::AlreadyCancelled);
}

TEST_P(TimeTest, ChronoOverload) {
  reactor->callLater(std::chrono::milliseconds(1), [&] { reactor->stop(); });
  runReactor();
}

TEST_P(TimeTest, SecondsIsMonotonic) {
  double a = reactor->seconds();
  double b = reactor->seconds();
  EXPECT_LE(a, b);
}

TWISTED_ALL_BACKENDS(TimeTest);

}  // namespace
}  // namespace twisted::test

namespace twisted::test {
namespace {

// DelayedCallMixin.test_ne: handles of two calls differ; a copy is equal.
TEST(DelayedCallHandles, HandlesOfDifferentCallsCompareUnequal) {
  testing::Clock clock;
  DelayedCall a = clock.callLater(1, [] {});
  DelayedCall b = clock.callLater(1, [] {});
  DelayedCall aCopy = a;
  EXPECT_TRUE(a != b);
  EXPECT_FALSE(a == b);
  EXPECT_TRUE(a == aCopy);
  EXPECT_FALSE(a != aCopy);
  a.cancel();
  b.cancel();
}

}  // namespace
}  // namespace twisted::test

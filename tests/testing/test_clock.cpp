// testing::Clock. Covers the ClockTests of twisted/test/test_task.py.
#include "twisted/testing/clock.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <utility>
#include <vector>

#include "twisted/internet/error.hpp"

namespace twisted::testing {
namespace {

using Log = std::vector<std::pair<std::string, double>>;

TEST(Clock, StartsAtZero) {
  EXPECT_EQ(Clock().seconds(), 0);
}

TEST(Clock, CallLaterGetTime) {
  Clock c;
  DelayedCall call = c.callLater(1, [] {});
  EXPECT_EQ(call.getTime(), 1);
  c.advance(0.5);
  DelayedCall second = c.callLater(1, [] {});
  EXPECT_EQ(second.getTime(), 1.5);
  call.cancel();
  second.cancel();
}

TEST(Clock, CancelledCallIsNotListed) {
  Clock c;
  DelayedCall call = c.callLater(1, [] {});
  call.cancel();
  EXPECT_TRUE(c.getDelayedCalls().empty());
}

TEST(Clock, CallLaterOrdering) {
  Clock c;
  DelayedCall a = c.callLater(10, [] {});
  DelayedCall b = c.callLater(1, [] {});
  auto calls = c.getDelayedCalls();
  ASSERT_EQ(calls.size(), 2u);
  std::vector<double> times{calls[0].getTime(), calls[1].getTime()};
  std::sort(times.begin(), times.end());
  EXPECT_EQ(times, (std::vector<double>{1, 10}));
  a.cancel();
  b.cancel();
}

TEST(Clock, Advance) {
  Clock c;
  bool fired = false;
  DelayedCall call = c.callLater(1, [&] { fired = true; });
  c.advance(0.9);
  EXPECT_FALSE(fired);
  c.advance(0.1);
  EXPECT_TRUE(fired);
  EXPECT_TRUE(call.called());
  EXPECT_FALSE(call.active());
}

TEST(Clock, AdvanceCancel) {
  Clock c;
  bool fired = false;
  DelayedCall call = c.callLater(1, [&] { fired = true; });
  call.cancel();
  c.advance(1);
  EXPECT_FALSE(fired);
}

TEST(Clock, CallLaterDelayed) {
  Clock c;
  Log log;
  DelayedCall call = c.callLater(1, [&] { log.emplace_back("x", c.seconds()); });
  call.delay(1);
  EXPECT_EQ(call.getTime(), 2);
  c.advance(1.5);
  EXPECT_TRUE(log.empty());
  c.advance(1);
  EXPECT_EQ(log, (Log{{"x", 2.5}}));
}

TEST(Clock, CallLaterResetLaterAndSooner) {
  Clock c;
  Log log;
  DelayedCall later = c.callLater(2, [&] { log.emplace_back("later", c.seconds()); });
  c.advance(1);
  later.reset(3);
  EXPECT_EQ(later.getTime(), 4);
  DelayedCall sooner = c.callLater(4, [&] { log.emplace_back("sooner", c.seconds()); });
  sooner.reset(1);
  EXPECT_EQ(sooner.getTime(), 2);
  c.pump({1, 1, 1, 1});
  EXPECT_EQ(log, (Log{{"sooner", 2}, {"later", 4}}));
}

// ClockTests.test_getDelayedCallsEmpty
TEST(Clock, ANewClockHasNoDelayedCalls) {
  Clock c;
  EXPECT_TRUE(c.getDelayedCalls().empty());
}

TEST(Clock, GetDelayedCalls) {
  Clock c;
  DelayedCall a = c.callLater(1, [] {});
  DelayedCall b = c.callLater(2, [] {});
  EXPECT_EQ(c.getDelayedCalls().size(), 2u);
  c.advance(1);
  auto rest = c.getDelayedCalls();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0], b);
  b.cancel();
  EXPECT_TRUE(c.getDelayedCalls().empty());
}

TEST(Clock, UsableThroughIReactorTime) {
  Clock c;
  IReactorTime& time = c;
  bool fired = false;
  time.callLater(3, [&] { fired = true; });
  c.advance(3);
  EXPECT_TRUE(fired);
  EXPECT_EQ(time.seconds(), 3);
}

TEST(Clock, CallLaterKeepsCallsOrdered) {
  Clock c;
  Log log;
  DelayedCall a = c.callLater(1, [&] { log.emplace_back("a", c.seconds()); });
  a.reset(3);
  c.callLater(2, [&] { log.emplace_back("b", c.seconds()); });
  c.pump({1, 1, 1});
  EXPECT_EQ(log, (Log{{"b", 2}, {"a", 3}}));
}

TEST(Clock, CallLaterResetKeepsCallsOrdered) {
  Clock c;
  Log log;
  c.callLater(2, [&] { log.emplace_back("a", c.seconds()); });
  DelayedCall b = c.callLater(1, [&] { log.emplace_back("b", c.seconds()); });
  b.reset(3);
  c.pump({1, 1, 1});
  EXPECT_EQ(log, (Log{{"a", 2}, {"b", 3}}));
}

TEST(Clock, CallLaterResetInsideCallKeepsCallsOrdered) {
  Clock c;
  Log log;
  DelayedCall b = c.callLater(2, [&] { log.emplace_back("b", c.seconds()); });
  c.callLater(1, [&] { b.reset(3); });
  c.callLater(3, [&] { log.emplace_back("c", c.seconds()); });
  c.pump(std::vector<double>(10, 0.5));
  EXPECT_EQ(log, (Log{{"c", 3}, {"b", 4}}));
}

TEST(Clock, SameTimeRunsInSchedulingOrder) {
  Clock c;
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) c.callLater(1, [&order, i] { order.push_back(i); });
  c.advance(1);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Clock, CallsScheduledDuringAdvanceRunIfDue) {
  Clock c;
  std::vector<std::string> order;
  c.callLater(1, [&] {
    order.push_back("first");
    c.callLater(0, [&] { order.push_back("zero-delay"); });
    c.callLater(5, [&] { order.push_back("later"); });
  });
  c.advance(2);
  EXPECT_EQ(order, (std::vector<std::string>{"first", "zero-delay"}));
  EXPECT_EQ(c.getDelayedCalls().size(), 1u);
  c.getDelayedCalls()[0].cancel();
}

TEST(Clock, ExceptionPropagatesAndLeavesTheRestScheduled) {
  Clock c;
  bool second = false;
  c.callLater(1, [] { throw std::runtime_error("boom"); });
  c.callLater(1, [&] { second = true; });
  EXPECT_THROW(c.advance(1), std::runtime_error);
  EXPECT_FALSE(second);
  c.advance(0);
  EXPECT_TRUE(second);
}

TEST(Clock, RejectsNegativeTime) {
  Clock c;
  EXPECT_THROW(c.advance(-1), std::invalid_argument);
  EXPECT_THROW(c.callLater(-1, [] {}), std::invalid_argument);
}

}  // namespace
}  // namespace twisted::testing

// task: deferLater, LoopingCall, Cooperator (twisted/test/test_task.py,
// test_cooperator.py behaviours), all on testing::Clock.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "twisted/internet/task.hpp"
#include "twisted/testing/clock.hpp"
#include "twisted/testing/deferred.hpp"

namespace twisted::task {
namespace {

using twisted::testing::Clock;
using twisted::testing::failureResultOf;
using twisted::testing::hasNoResult;
using twisted::testing::successResultOf;

TEST(DeferLater, FiresWithTheResultAfterTheDelay) {
  Clock clock;
  auto d = deferLater(clock, 3, [] { return std::string("done"); });
  clock.advance(2.9);
  EXPECT_TRUE(hasNoResult(d));
  clock.advance(0.1);
  EXPECT_EQ(successResultOf(d), "done");
}

TEST(DeferLater, CancelStopsTheCall) {
  Clock clock;
  bool called = false;
  auto d = deferLater(clock, 1, [&] { called = true; });
  d.cancel();
  EXPECT_TRUE(failureResultOf(d).check<error::CancelledError>());
  EXPECT_TRUE(clock.getDelayedCalls().empty());
  clock.advance(2);
  EXPECT_FALSE(called);
}

TEST(DeferLater, FailurePropagates) {
  Clock clock;
  auto d = deferLater(clock, 1, []() -> int { throw std::runtime_error("later"); });
  clock.advance(1);
  EXPECT_EQ(failureResultOf(d).getErrorMessage(), "later");
}

TEST(LoopingCall, BasicFunction) {
  Clock clock;
  std::vector<double> times;
  LoopingCall lc(clock, [&] { times.push_back(clock.seconds()); });
  Deferred<void> d = lc.start(0.1);
  EXPECT_EQ(times, std::vector<double>{0}) << "called at once with now=true";
  clock.pump({0.1, 0.1, 0.1});
  ASSERT_EQ(times.size(), 4u);
  EXPECT_NEAR(times[3], 0.3, 1e-9);
  EXPECT_TRUE(hasNoResult(d));
  lc.stop();
  successResultOf(d);
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

TEST(LoopingCall, DelayedStart) {
  Clock clock;
  int calls = 0;
  LoopingCall lc(clock, [&] { ++calls; });
  Deferred<void> d = lc.start(1, /*now=*/false);
  EXPECT_EQ(calls, 0);
  clock.advance(1);
  EXPECT_EQ(calls, 1);
  lc.stop();
  successResultOf(d);
}

TEST(LoopingCall, BadDelayAndStates) {
  Clock clock;
  LoopingCall lc(clock, [] {});
  EXPECT_THROW(lc.start(-1), std::invalid_argument);
  EXPECT_THROW(lc.stop(), std::logic_error);
  Deferred<void> d = lc.start(1);
  EXPECT_THROW(lc.start(1), std::logic_error);
  lc.stop();
  successResultOf(d);
}

TEST(LoopingCall, SkipsMissedIntervalsAndStaysAligned) {
  Clock clock;
  std::vector<double> times;
  LoopingCall lc(clock, [&] { times.push_back(clock.seconds()); });
  lc.start(0.5);
  clock.advance(1.7);  // missed 0.5 and 1.0 and 1.5: one call, at 1.7
  clock.advance(0.3);  // next boundary is 2.0
  EXPECT_EQ(times, (std::vector<double>{0, 1.7, 2.0}));
  lc.stop();
}

// LoopTests.test_callbackTimeSkips: a call that itself lasts longer than the
// interval (the clock moves inside it) is next made at the first boundary
// strictly after it returned: a boundary that is now is skipped too.
TEST(LoopingCall, ACallLongerThanTheIntervalSkipsToTheNextFutureBoundary) {
  Clock clock;
  std::vector<double> times;
  double duration = 2;
  LoopingCall lc(clock, [&] {
    times.push_back(clock.seconds());
    clock.advance(duration);
  });
  lc.start(0.5);
  EXPECT_EQ(times, std::vector<double>{0});
  EXPECT_EQ(clock.seconds(), 2);
  clock.advance(0);  // 2.0 is the present, not the future: skipped
  EXPECT_EQ(times, std::vector<double>{0});
  duration = 1;
  clock.advance(0.5);
  EXPECT_EQ(times, (std::vector<double>{0, 2.5}));
  EXPECT_EQ(clock.seconds(), 3.5);
  clock.advance(0);  // 3.5 is the present again: skipped
  EXPECT_EQ(times, (std::vector<double>{0, 2.5}));
  duration = 0;
  clock.advance(0.5);
  EXPECT_EQ(times, (std::vector<double>{0, 2.5, 4}));
  EXPECT_EQ(clock.seconds(), 4);
  lc.stop();
}

TEST(LoopingCall, WithCountReportsSkippedIntervals) {
  Clock clock;
  std::vector<int> counts;
  LoopingCall lc = LoopingCall::withCount(clock, [&](int n) { counts.push_back(n); });
  lc.start(1);
  clock.advance(1);
  clock.advance(3);
  clock.advance(1);
  EXPECT_EQ(counts, (std::vector<int>{1, 1, 3, 1}));
  lc.stop();
}

TEST(LoopingCall, WithCountIntervalZero) {
  // With interval 0 every call is due at once: Clock::advance keeps running
  // them until the function stops the loop (as in Twisted's test).
  Clock clock;
  std::vector<int> counts;
  std::optional<LoopingCall> lc;
  lc.emplace(LoopingCall::withCount(clock, [&](int n) {
    counts.push_back(n);
    if (counts.size() == 5) lc->stop();
  }));
  Deferred<void> d = lc->start(0, /*now=*/false);
  clock.advance(0);
  successResultOf(d);
  EXPECT_EQ(counts, (std::vector<int>{1, 1, 1, 1, 1}));
}

TEST(LoopingCall, FailureStopsAndErrbacks) {
  Clock clock;
  int calls = 0;
  LoopingCall lc(clock, [&] {
    if (++calls == 2) throw std::runtime_error("second call fails");
  });
  Deferred<void> d = lc.start(1);
  clock.advance(1);
  EXPECT_FALSE(lc.running());
  EXPECT_EQ(failureResultOf(d).getErrorMessage(), "second call fails");
  clock.advance(5);
  EXPECT_EQ(calls, 2);
}

TEST(LoopingCall, WaitsForTheDeferredItReturns) {
  Clock clock;
  std::vector<Deferred<void>> pending;
  LoopingCall lc(clock, UniqueFunction<Deferred<void>()>([&] {
                   pending.emplace_back();
                   return pending.back();
                 }));
  Deferred<void> d = lc.start(1);
  clock.advance(5);
  EXPECT_EQ(pending.size(), 1u) << "no new call while the last one is pending";
  pending[0].callback();
  clock.advance(1);
  EXPECT_EQ(pending.size(), 2u);
  lc.stop();  // the pending call's Deferred decides when `d` fires
  EXPECT_TRUE(hasNoResult(d));
  pending[1].callback();
  successResultOf(d);
}

TEST(LoopingCall, Reset) {
  Clock clock;
  std::vector<double> times;
  LoopingCall lc(clock, [&] { times.push_back(clock.seconds()); });
  lc.start(2, /*now=*/false);
  clock.advance(1);
  lc.reset();
  clock.advance(1.5);
  EXPECT_TRUE(times.empty());
  clock.advance(0.5);
  EXPECT_EQ(times, std::vector<double>{3});
  lc.stop();
}

TEST(LoopingCall, DestroyingARunningLoopCancelsIt) {
  Clock clock;
  int calls = 0;
  {
    LoopingCall lc(clock, [&] { ++calls; });
    lc.start(1);
  }
  EXPECT_TRUE(clock.getDelayedCalls().empty());
  clock.advance(3);
  EXPECT_EQ(calls, 1);
}

// One turn of the cooperator on a fake clock.
void turn(Clock& clock) {
  clock.advance(1e-6);
}

// A Cooperator whose turn ends after `steps` steps, for a fake clock.
Cooperator countingCooperator(Clock& clock, int steps) {
  return Cooperator(clock, [steps] {
    auto left = std::make_shared<int>(steps);
    return std::function<bool()>([left] { return --*left <= 0; });
  });
}

TEST(Cooperator, RunsJobsRoundRobinAcrossTurns) {
  Clock clock;
  Cooperator coop = countingCooperator(clock, 3);
  std::string trace;
  auto job = [&](char name, int steps) {
    auto left = std::make_shared<int>(steps);
    return Job([&trace, name, left]() -> JobStep {
      trace += name;
      return --*left > 0;
    });
  };
  Deferred<void> a = coop.coiterate(job('a', 3));
  Deferred<void> b = coop.coiterate(job('b', 2));
  EXPECT_EQ(trace, "") << "nothing runs until the loop turns";
  turn(clock);
  EXPECT_EQ(trace, "aba") << "a turn ends after 3 steps";
  turn(clock);
  EXPECT_EQ(trace, "ababa");
  successResultOf(a);
  successResultOf(b);
  EXPECT_TRUE(clock.getDelayedCalls().empty()) << "idle cooperator schedules nothing";
}

TEST(Cooperator, JobFailureFailsWhenDone) {
  Clock clock;
  Cooperator coop = countingCooperator(clock, 10);
  CooperativeTask t = coop.cooperate([]() -> JobStep { throw std::runtime_error("job broke"); });
  Deferred<void> done = t.whenDone();
  turn(clock);
  EXPECT_EQ(failureResultOf(done).getErrorMessage(), "job broke");
  EXPECT_THROW(t.stop(), error::TaskFailed);
}

TEST(Cooperator, PauseResumeStop) {
  Clock clock;
  Cooperator coop = countingCooperator(clock, 100);
  int steps = 0;
  CooperativeTask t = coop.cooperate([&]() -> JobStep {
    ++steps;
    return steps < 1000;
  });
  t.pause();
  turn(clock);
  EXPECT_EQ(steps, 0);
  EXPECT_THROW(
      {
        t.resume();
        t.resume();
      },
      error::NotPaused);
  turn(clock);
  EXPECT_EQ(steps, 100);
  Deferred<void> done = t.whenDone();
  t.stop();
  EXPECT_TRUE(failureResultOf(done).check<error::TaskStopped>());
  EXPECT_THROW(t.stop(), error::TaskStopped);
  turn(clock);
  EXPECT_EQ(steps, 100);
}

TEST(Cooperator, StepReturningDeferredWaits) {
  Clock clock;
  Cooperator coop = countingCooperator(clock, 100);
  Deferred<bool> gate;
  int steps = 0;
  Deferred<void> done = coop.coiterate([&]() -> JobStep {
    if (++steps == 1) return gate;
    return false;
  });
  turn(clock);
  turn(clock);
  EXPECT_EQ(steps, 1);
  gate.callback(true);
  turn(clock);
  EXPECT_EQ(steps, 2);
  successResultOf(done);
}

TEST(Cooperator, StopEndsJobsWithSchedulerStopped) {
  Clock clock;
  Cooperator coop = countingCooperator(clock, 1);
  Deferred<void> done = coop.coiterate([]() -> JobStep { return true; });
  coop.stop();
  EXPECT_FALSE(coop.running());
  EXPECT_TRUE(failureResultOf(done).check<error::SchedulerStopped>());
  Deferred<void> late = coop.coiterate([]() -> JobStep { return true; });
  EXPECT_TRUE(failureResultOf(late).check<error::SchedulerStopped>());
}

TEST(Cooperator, WhenDoneAfterCompletion) {
  Clock clock;
  Cooperator coop = countingCooperator(clock, 10);
  CooperativeTask t = coop.cooperate([]() -> JobStep { return false; });
  turn(clock);
  successResultOf(t.whenDone());
  EXPECT_THROW(t.stop(), error::TaskDone);
}

}  // namespace
}  // namespace twisted::task

// ---- LoopingCall corners of Twisted's LoopTests and ReactorLoopTests -------------------

namespace twisted::task {
namespace {

// test_countLengthyIntervalCounts: the count is of interval boundaries
// crossed, so a call 1.75 intervals late still counts 1.
TEST(LoopingCall, WithCountCountsBoundariesNotElapsedTime) {
  Clock clock;
  std::vector<std::pair<double, int>> times;
  LoopingCall lc = LoopingCall::withCount(clock, [&](int n) {
    times.push_back({clock.seconds(), n});
  });
  constexpr double kInterval = 0.5, kDelay = 0.01;
  lc.start(kInterval);
  clock.advance(kInterval + kDelay);
  clock.advance(kInterval * 1.75);
  clock.advance(kInterval * 0.25);
  ASSERT_EQ(times.size(), 4u);
  for (const auto& [when, count] : times) EXPECT_EQ(count, 1) << "at " << when;
  EXPECT_DOUBLE_EQ(times[2].first, 2.75 * kInterval + kDelay);
  EXPECT_DOUBLE_EQ(times[3].first, 3.0 * kInterval + kDelay);
  lc.stop();
}

// test_withCountFloatingPointBoundary: 0.1 is not exact in binary; the
// counts are never 0 and add up to the intervals elapsed.
TEST(LoopingCall, WithCountAtAFloatingPointBoundaryNeverCountsZero) {
  Clock clock;
  std::vector<int> counts;
  LoopingCall lc = LoopingCall::withCount(clock, [&](int n) { counts.push_back(n); });
  constexpr int kCount = 10;
  const double interval = 1.0 / kCount;
  lc.start(interval, /*now=*/false);
  double sum = 0;
  for (int i = 0; i < kCount; ++i) {
    clock.advance(interval);
    sum += interval;
  }
  double epsilon = 1.0 - sum;
  ASSERT_NE(epsilon, 0.0) << "the inexact case this test is about";
  clock.advance(epsilon);
  int total = 0;
  for (int n : counts) {
    EXPECT_NE(n, 0);
    total += n;
  }
  EXPECT_EQ(total, kCount);
  lc.stop();
}

// testStopAtOnce
TEST(LoopingCall, StoppedAtOnceItNeverRuns) {
  Clock clock;
  int calls = 0;
  LoopingCall lc(clock, [&] { ++calls; });
  Deferred<void> d = lc.start(0, /*now=*/false);
  lc.stop();
  successResultOf(d);
  clock.advance(1);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

// testStoppingBeforeDelayedStart
TEST(LoopingCall, StoppedBeforeADelayedStartItNeverRuns) {
  Clock clock;
  int calls = 0;
  LoopingCall lc(clock, [&] { ++calls; });
  Deferred<void> d = lc.start(10, /*now=*/false);
  clock.advance(5);
  lc.stop();
  EXPECT_TRUE(clock.getDelayedCalls().empty());
  clock.advance(10);
  EXPECT_EQ(calls, 0);
  successResultOf(d);
}

// testStopAtOnceLater (on a fake clock): stopped from another call before
// its first one.
TEST(LoopingCall, StoppedByAnotherCallBeforeItsFirstItNeverRuns) {
  Clock clock;
  int calls = 0;
  LoopingCall lc(clock, [&] { ++calls; });
  Deferred<void> d = lc.start(1, /*now=*/false);
  clock.callLater(0.5, [&] { lc.stop(); });
  clock.advance(0.5);
  clock.advance(2);
  EXPECT_EQ(calls, 0);
  successResultOf(d);
}

// testFailAndStop: stop() then throw inside the call: the Deferred fails.
TEST(LoopingCall, StopThenThrowInsideTheCallFailsTheDeferred) {
  Clock clock;
  std::optional<LoopingCall> lc;
  lc.emplace(clock, [&] {
    lc->stop();
    throw std::runtime_error("failed after stop");
  });
  Deferred<void> d = lc->start(1);
  EXPECT_EQ(failureResultOf(d).getErrorMessage(), "failed after stop");
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

// testFailurePropagation: a Deferred returned by the function that fails
// later fails start()'s Deferred, and nothing is left scheduled.
TEST(LoopingCall, ALaterFailureOfTheReturnedDeferredFailsTheLoop) {
  Clock clock;
  Deferred<void> returned;
  LoopingCall lc(clock, UniqueFunction<Deferred<void>()>([&] { return returned; }));
  Deferred<void> d = lc.start(1);
  EXPECT_TRUE(hasNoResult(d));
  returned.errback(std::runtime_error("later"));
  EXPECT_EQ(failureResultOf(d).getErrorMessage(), "later");
  EXPECT_FALSE(lc.running());
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

}  // namespace
}  // namespace twisted::task

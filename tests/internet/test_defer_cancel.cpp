// Deferred firing and cancellation corners from Twisted's test_defer.py
// (AlreadyCalledTests, DeferredCancellerTests, DeferredAddTimeoutTests,
// OtherPrimitivesTests, FirstErrorTests, the DeferredList cancellation
// tests): each named in docs/conformance.md.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "reactor_test.hpp"
#include "twisted/internet/defer.hpp"
#include "twisted/testing/clock.hpp"
#include "twisted/testing/deferred.hpp"

namespace twisted::test {
namespace {

using testing::failureResultOf;
using testing::hasNoResult;
using testing::successResultOf;

struct OwnError : std::runtime_error {
  OwnError() : std::runtime_error("own") {}
};

class DeferCancelTest : public NoLoggedErrorsTest {};

// ---- firing twice ----------------------------------------------------------------------

// testAlreadyCalled_EE
TEST_F(DeferCancelTest, ErrbackAfterErrbackRaisesAlreadyCalled) {
  Deferred<int> d;
  d.errback(std::runtime_error("first"));
  EXPECT_THROW(d.errback(std::runtime_error("second")), error::AlreadyCalledError);
  EXPECT_EQ(failureResultOf(d).getErrorMessage(), "first");
}

// ---- cancel ----------------------------------------------------------------------------

// test_cancellerMultipleCancel
TEST_F(DeferCancelTest, ASecondCancelDoesNotCallTheCancellerAgain) {
  int calls = 0;
  Deferred<int> d([&](Deferred<int>&) { ++calls; });
  d.cancel();
  d.cancel();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(failureResultOf(d).check<error::CancelledError>());
}

// test_noCancellerMultipleCancel
TEST_F(DeferCancelTest, ASecondCancelWithoutCancellerChangesNothing) {
  Deferred<int> d;
  d.cancel();
  d.cancel();
  EXPECT_TRUE(failureResultOf(d).check<error::CancelledError>());
}

// test_noCancellerMultipleCancelsAfterCancelAndCallback and
// test_noCancellerMultipleCancelsAfterCancelAndErrback: the producer's late
// fire is swallowed once, and a later cancel keeps the first CancelledError.
TEST_F(DeferCancelTest, RepeatedCancelsAroundASwallowedFireKeepTheFirstCancelledError) {
  for (bool viaErrback : {false, true}) {
    Deferred<int> d;
    std::vector<std::string> seen;
    d.addBoth([&](Outcome<int> o) -> int {
      seen.push_back(o.succeeded() ? "value" : o.failure().typeName());
      if (!o.succeeded()) o.failure().raiseException();
      return o.value();
    });
    d.cancel();
    if (viaErrback) {
      d.errback(OwnError());  // the producer answers late: swallowed
    } else {
      d.callback(1);
    }
    d.cancel();
    EXPECT_EQ(seen.size(), 1u) << "the chain ran once";
    EXPECT_TRUE(failureResultOf(d).check<error::CancelledError>());
  }
}

// test_raisesAfterCancelAndErrback
TEST_F(DeferCancelTest, AfterCancelOneErrbackIsSwallowedAndTheNextRaises) {
  Deferred<int> d;
  d.cancel();
  EXPECT_NO_THROW(d.errback(OwnError()));
  EXPECT_THROW(d.errback(OwnError()), error::AlreadyCalledError);
  EXPECT_THROW(d.callback(1), error::AlreadyCalledError);
  EXPECT_TRUE(failureResultOf(d).check<error::CancelledError>());
}

// test_cancelAfterErrback
TEST_F(DeferCancelTest, CancelAfterErrbackKeepsTheFailureAndCallsNoCanceller) {
  bool cancellerCalled = false;
  Deferred<int> d([&](Deferred<int>&) { cancellerCalled = true; });
  d.errback(OwnError());
  d.cancel();
  EXPECT_FALSE(cancellerCalled);
  EXPECT_TRUE(failureResultOf(d).check<OwnError>());
}

// test_cancellerThatErrbacks
TEST_F(DeferCancelTest, ACancellerThatErrbacksDecidesTheError) {
  Deferred<int> d([](Deferred<int>& self) { self.errback(OwnError()); });
  d.cancel();
  Failure f = failureResultOf(d);
  EXPECT_TRUE(f.check<OwnError>());
  EXPECT_FALSE(f.check<error::CancelledError>());
}

// ---- pause -----------------------------------------------------------------------------

// testUnpauseBeforeCallback
TEST_F(DeferCancelTest, PauseAndUnpauseBeforeFiringRunNothingUntilTheFire) {
  Deferred<int> d;
  std::vector<int> seen;
  d.addCallback([&](int v) { seen.push_back(v); });
  d.pause();
  d.unpause();
  EXPECT_TRUE(seen.empty());
  d.callback(7);
  EXPECT_EQ(seen, std::vector<int>{7});
}

// ---- maybeDeferred ---------------------------------------------------------------------

// test_maybeDeferredAsyncError
TEST_F(DeferCancelTest, MaybeDeferredOfALaterFailureFailsWithIt) {
  Deferred<int> later;
  Deferred<int> d = maybeDeferred([&] { return later; });
  EXPECT_TRUE(hasNoResult(d));
  later.errback(OwnError());
  EXPECT_TRUE(failureResultOf(d).check<OwnError>());
}

// ---- FirstError ------------------------------------------------------------------------

// FirstErrorTests.test_str
TEST_F(DeferCancelTest, FirstErrorNamesTheIndexAndTheFailure) {
  FirstError e(Failure::of(OwnError()), 3);
  std::string text = e.what();
  EXPECT_NE(text.find("FirstError[#3, "), std::string::npos) << text;
  EXPECT_NE(text.find("own"), std::string::npos) << text;
  EXPECT_EQ(e.index, 3u);
  EXPECT_TRUE(e.subFailure.check<OwnError>());
}

// ---- DeferredList and race cancellation ------------------------------------------------

// test_cancelDeferredListWithException: a canceller that throws is logged
// and the other Deferreds are still cancelled.
TEST_F(DeferCancelTest, AThrowingCancellerIsLoggedAndTheOthersAreStillCancelled) {
  Deferred<int> throwing([](Deferred<int>&) { throw OwnError(); });
  bool plainCancelled = false;
  Deferred<int> plain([&](Deferred<int>&) { plainCancelled = true; });
  auto list = DeferredList<int>({throwing, plain}, {.consumeErrors = true});
  list.cancel();
  EXPECT_EQ(logs.flushErrors<OwnError>(), 1u);
  EXPECT_TRUE(plainCancelled) << "the Deferred after the throwing one was cancelled too";
  // The throwing one is still unfired, so the list, unfired after its
  // canceller, fails with CancelledError (as any cancelled Deferred).
  EXPECT_TRUE(failureResultOf(list).check<error::CancelledError>());
}

// test_cancelFiredOnOneErrbackDeferredList
TEST_F(DeferCancelTest, CancellingAFailedFireOnOneErrbackListLeavesThePendingAlone) {
  Deferred<int> failed;
  Deferred<int> pending;
  auto list =
      DeferredList<int>({failed, pending}, {.fireOnOneErrback = true, .consumeErrors = true});
  failed.errback(OwnError());
  ASSERT_FALSE(hasNoResult(list));
  list.cancel();
  EXPECT_TRUE(hasNoResult(pending)) << "a fired list cancels nothing";
  EXPECT_TRUE(failureResultOf(list).check<FirstError>());
  pending.callback(1);
}

// test_cancelFiredOnOneCallbackDeferredList
TEST_F(DeferCancelTest, CancellingAFiredFireOnOneCallbackListLeavesThePendingAlone) {
  Deferred<int> winner;
  Deferred<int> pending;
  auto first = DeferredList<int>({winner, pending}, fireOnOneCallback, /*consumeErrors=*/true);
  winner.callback(5);
  first.cancel();
  EXPECT_TRUE(hasNoResult(pending));
  EXPECT_EQ(successResultOf(first), (std::pair<std::size_t, int>{0, 5}));
  pending.callback(1);
}

// ---- addTimeout ------------------------------------------------------------------------

// test_failureBeforeTimeout
TEST_F(DeferCancelTest, AFailureBeforeTheTimeoutIsKeptAndTheTimerCancelled) {
  testing::Clock clock;
  Deferred<int> d;
  d.addTimeout(10, clock);
  d.errback(OwnError());
  EXPECT_TRUE(clock.getDelayedCalls().empty());
  EXPECT_TRUE(failureResultOf(d).check<OwnError>());
}

// test_timedOutProvidedCancelSuccess
TEST_F(DeferCancelTest, OnTimeoutACancellerThatCallsBackGivesItsValue) {
  testing::Clock clock;
  Deferred<std::string> d([](Deferred<std::string>& self) { self.callback("I was cancelled"); });
  d.addTimeout(10, clock);
  clock.advance(15);
  EXPECT_EQ(successResultOf(d), "I was cancelled");
}

// test_timedOutProvidedCancelFailure
TEST_F(DeferCancelTest, OnTimeoutACancellerThatErrbacksKeepsItsError) {
  testing::Clock clock;
  Deferred<int> d([](Deferred<int>& self) { self.errback(OwnError()); });
  d.addTimeout(10, clock);
  clock.advance(15);
  Failure f = failureResultOf(d);
  EXPECT_TRUE(f.check<OwnError>());
  EXPECT_FALSE(f.check<error::TimeoutError>());
}

// test_errbackAddedBeforeTimeout
TEST_F(DeferCancelTest, AnErrbackAddedBeforeTheTimeoutSeesTheCancellation) {
  testing::Clock clock;
  Deferred<int> d;
  std::vector<std::string> seen;
  d.addErrback([&](const Failure& f) -> Failure {
    seen.push_back(f.check<error::CancelledError>() ? "cancelled" : f.typeName());
    return f;
  });
  d.addTimeout(10, clock);
  clock.advance(15);
  EXPECT_EQ(seen, std::vector<std::string>{"cancelled"});
  EXPECT_TRUE(failureResultOf(d).check<error::TimeoutError>());
}

// test_errbackAddedBeforeTimeoutSuppressesCancellation
TEST_F(DeferCancelTest, AnErrbackAddedBeforeTheTimeoutMayRecover) {
  testing::Clock clock;
  Deferred<int> d;
  d.addErrback([](const Failure& f) {
    f.trap<error::CancelledError>();
    return 0;
  });
  d.addTimeout(10, clock);
  clock.advance(15);
  EXPECT_EQ(successResultOf(d), 0);
}

// test_callbackAddedToCancelerBeforeTimeout
TEST_F(DeferCancelTest, ACallbackAddedBeforeTheTimeoutRunsWhenTheCancellerCallsBack) {
  testing::Clock clock;
  Deferred<std::string> d([](Deferred<std::string>& self) { self.callback("I was cancelled"); });
  d.addCallback([](std::string s) { return s + "!"; });
  d.addTimeout(10, clock);
  clock.advance(15);
  EXPECT_EQ(successResultOf(d), "I was cancelled!");
}

// ---- lock, semaphore, queue ------------------------------------------------------------

// test_cancelLockAfterAcquired
TEST_F(DeferCancelTest, CancellingAFiredLockAcquireDoesNothing) {
  auto lock = DeferredLock::create();
  Deferred<void> d = lock->acquire();
  d.cancel();
  successResultOf(d);
  EXPECT_TRUE(lock->locked());
  lock->release();
}

// test_cancelSemaphoreAfterAcquired
TEST_F(DeferCancelTest, CancellingAFiredSemaphoreAcquireDoesNothing) {
  auto sem = DeferredSemaphore::create(1);
  Deferred<void> d = sem->acquire();
  d.cancel();
  successResultOf(d);
  EXPECT_EQ(sem->tokens(), 0);
  sem->release();
}

// test_cancelSemaphoreBeforeAcquired
TEST_F(DeferCancelTest, CancellingAWaitingSemaphoreAcquireFailsItAndLeavesTheQueue) {
  auto sem = DeferredSemaphore::create(1);
  Deferred<void> held = sem->acquire();
  Deferred<void> waiting = sem->acquire();
  EXPECT_EQ(sem->waiting(), 1u);
  waiting.cancel();
  EXPECT_TRUE(failureResultOf(waiting).check<error::CancelledError>());
  EXPECT_EQ(sem->waiting(), 0u);
  sem->release();
  EXPECT_EQ(sem->tokens(), 1) << "the token was not handed to the cancelled waiter";
}

// test_cancelQueueAfterSynchronousGet
TEST_F(DeferCancelTest, CancellingAFiredQueueGetDoesNothing) {
  DeferredQueue<int> queue;
  queue.put(1);
  Deferred<int> d = queue.get();
  d.cancel();
  EXPECT_EQ(successResultOf(d), 1);
}

}  // namespace
}  // namespace twisted::test

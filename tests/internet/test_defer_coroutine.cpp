// Coroutines returning Deferred<T> (test_defer_await.py, test_inlinecb.py).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "reactor_test.hpp"
#include "twisted/internet/defer.hpp"
#include "twisted/internet/task.hpp"
#include "twisted/testing/deferred.hpp"

namespace twisted::test {
namespace {

using testing::failureResultOf;
using testing::hasNoResult;
using testing::successResultOf;

Deferred<int> addOne(Deferred<int> d) {
  int v = co_await d;
  co_return v + 1;
}

Deferred<std::string> sequence(Deferred<int> a, Deferred<std::string> b,
                               std::vector<std::string>& log) {
  log.push_back("start");
  int n = co_await a;
  log.push_back("got " + std::to_string(n));
  std::string s = co_await b;
  log.push_back("got " + s);
  co_return s + std::to_string(n);
}

TEST(Coroutine, RunsUntilFirstUnfiredAwait) {
  Deferred<int> a;
  Deferred<std::string> b;
  std::vector<std::string> log;
  Deferred<std::string> r = sequence(a, b, log);
  EXPECT_EQ(log, std::vector<std::string>{"start"});
  a.callback(4);
  EXPECT_EQ(log, (std::vector<std::string>{"start", "got 4"}));
  EXPECT_TRUE(hasNoResult(r));
  b.callback("x");
  EXPECT_EQ(successResultOf(r), "x4");
}

TEST(Coroutine, AlreadyFiredDoesNotSuspend) {
  std::vector<std::string> log;
  Deferred<std::string> r = sequence(succeed(1), succeed<std::string>("y"), log);
  EXPECT_EQ(log.size(), 3u);
  EXPECT_EQ(successResultOf(r), "y1");
}

Deferred<int> throwsAfterAwait(Deferred<int> d) {
  co_await d;
  throw error::ConnectionLost("inside the coroutine");
}

TEST(Coroutine, ExceptionBecomesTheFailure) {
  Deferred<int> d;
  auto r = throwsAfterAwait(d);
  d.callback(1);
  Failure f = failureResultOf(r);
  EXPECT_TRUE(f.check<error::ConnectionLost>());
  EXPECT_NE(f.getErrorMessage().find("inside the coroutine"), std::string::npos);
}

Deferred<std::string> catches(Deferred<int> d) {
  try {
    co_await d;
    co_return "no error";
  } catch (const error::TimeoutError& e) {
    co_return std::string("caught: ") + e.what();
  }
}

TEST(Coroutine, AwaitedFailureIsThrownAtTheAwait) {
  Deferred<int> d;
  auto r = catches(d);
  d.errback(error::TimeoutError());
  EXPECT_EQ(successResultOf(r), "caught: The operation timed out");
}

Deferred<void> voidCoroutine(Deferred<void> d, int& steps) {
  ++steps;
  co_await d;
  ++steps;
}

TEST(Coroutine, VoidCoroutinesAndAwaits) {
  Deferred<void> d;
  int steps = 0;
  auto r = voidCoroutine(d, steps);
  EXPECT_EQ(steps, 1);
  d.callback();
  EXPECT_EQ(steps, 2);
  successResultOf(r);
}

TEST(Coroutine, CancellingTheCoroutineCancelsWhatItAwaits) {
  bool innerCancelled = false;
  Deferred<int> inner([&](Deferred<int>&) { innerCancelled = true; });
  auto r = addOne(inner);
  r.cancel();
  EXPECT_TRUE(innerCancelled);
  EXPECT_TRUE(failureResultOf(r).check<error::CancelledError>());
}

Deferred<int> survivesCancel(Deferred<int> first, Deferred<int> second) {
  try {
    co_await first;
  } catch (const error::CancelledError&) {
  }
  co_return co_await second;
}

// Twisted's CancellationTests (test_inlinecb.py): cancelling a coroutine's
// Deferred cancels what it awaits, and the coroutine itself decides the
// result: a CancelledError it does not catch fails it, one it catches lets
// it go on, and what it then returns (or throws) is the result.
TEST(Coroutine, ACoroutineThatCatchesTheCancelGoesOnAndDecidesTheResult) {
  Deferred<int> first;
  Deferred<int> second;
  auto r = survivesCancel(first, second);
  r.cancel();
  EXPECT_TRUE(hasNoResult(r)) << "the coroutine has not finished yet";
  second.callback(1);
  EXPECT_EQ(successResultOf(r), 1);
}

// test_asynchronousCancellation: the awaited Deferred's own errback turns
// the CancelledError into another wait; the coroutine's result waits too.
TEST(Coroutine, CancellationWaitsForTheAwaitedDeferredToFinish) {
  Deferred<int> more;
  Deferred<int> child;
  Deferred<int> awaited = child.addErrback([&](const Failure& f) -> Deferred<int> {
    f.trap<error::CancelledError>();
    return more;
  });
  auto r = addOne(awaited);
  r.cancel();
  EXPECT_TRUE(hasNoResult(r));
  more.callback(6543);
  EXPECT_EQ(successResultOf(r), 6544);
}

struct UntranslatedError : std::runtime_error {
  UntranslatedError() : std::runtime_error("untranslated") {}
};
struct TranslatedError : std::runtime_error {
  TranslatedError() : std::runtime_error("translated") {}
};
struct DontFail : std::runtime_error {
  explicit DontFail(int v) : std::runtime_error("dont fail"), value(v) {}
  int value;
};

// sampleInlineCB: awaits, translating two errors.
Deferred<int> translating(Deferred<int> child) {
  int x = 0;
  try {
    x = co_await child;
  } catch (const UntranslatedError&) {
    throw TranslatedError();
  } catch (const DontFail& e) {
    x = e.value - 2;
  }
  co_return x + 1;
}

// test_errorToErrorTranslation
TEST(Coroutine, ACancellerErrorCaughtByTheCoroutineBecomesItsError) {
  Deferred<int> child([](Deferred<int>& self) { self.errback(UntranslatedError()); });
  auto r = translating(child);
  r.cancel();
  EXPECT_TRUE(failureResultOf(r).check<TranslatedError>());
}

// test_errorToSuccessTranslation
TEST(Coroutine, ACancellerErrorCaughtByTheCoroutineCanBecomeASuccess) {
  Deferred<int> child([](Deferred<int>& self) { self.errback(DontFail(4321)); });
  auto r = translating(child);
  std::vector<int> results;
  r.addCallback([&](int v) { results.push_back(v); });
  r.cancel();
  EXPECT_EQ(results, std::vector<int>{4320});
}

// test_cascadeCancellingOnCancel and test_errbackCancelledErrorOnCancel
TEST(Coroutine, AnUncaughtCancelFailsTheCoroutineWithCancelledError) {
  bool childSawCancel = false;
  Deferred<int> child;
  Deferred<int> watched = child.addErrback([&](const Failure& f) -> Failure {
    childSawCancel = f.check<error::CancelledError>();
    return f;
  });
  auto r = translating(watched);
  r.cancel();
  EXPECT_TRUE(childSawCancel);
  EXPECT_TRUE(failureResultOf(r).check<error::CancelledError>());
}

// A coroutine that went on after a cancel can be cancelled again at its
// next wait, as Twisted re-arms the canceller.
TEST(Coroutine, ACoroutineCanBeCancelledAgainAtItsNextWait) {
  Deferred<int> first;
  Deferred<int> second;
  auto r = survivesCancel(first, second);
  r.cancel();
  EXPECT_TRUE(hasNoResult(r));
  r.cancel();  // now cancels `second`, which the coroutine does not catch
  EXPECT_TRUE(failureResultOf(r).check<error::CancelledError>());
}

TEST(Coroutine, MillionCoroutinesInALine) {
  constexpr int kCount = 1000000;
  Deferred<int> root;
  Deferred<int> tail = root;
  for (int i = 0; i < kCount; ++i) tail = addOne(tail);
  EXPECT_TRUE(hasNoResult(tail));
  root.callback(0);
  EXPECT_EQ(successResultOf(tail), kCount);
}

Deferred<int> awaitCopyOf(const Deferred<int>* source) {
  // Awaits a copy: the frame itself keeps no reference once suspended.
  co_return co_await Deferred<int>(*source);
}

TEST(Coroutine, FrameIsFreedWhenAwaitedDeferredDiesUnfired) {
  // ASan/LSan would report the frame if it leaked.
  auto producer = std::make_unique<Deferred<int>>();
  Deferred<int> r = awaitCopyOf(producer.get());
  EXPECT_TRUE(hasNoResult(r));
  producer.reset();  // dropped unfired: the waiting frame goes with it
  EXPECT_TRUE(hasNoResult(r));
}

TEST(Coroutine, AwaitingAnOrphanDeferredFailsAtOnce) {
  auto r = []() -> Deferred<int> { co_return co_await Deferred<int>(); }();
  EXPECT_TRUE(failureResultOf(r).check<std::logic_error>());
}

TEST(Coroutine, MoveOnlyValues) {
  Deferred<std::unique_ptr<int>> d;
  auto r = [](Deferred<std::unique_ptr<int>> in) -> Deferred<int> {
    std::unique_ptr<int> p = co_await in;
    co_return *p * 2;
  }(d);
  d.callback(std::make_unique<int>(21));
  EXPECT_EQ(successResultOf(r), 42);
}

class CoroutineReactorTest : public ReactorTest {};

Deferred<double> sleepThenMeasure(Reactor& reactor) {
  double start = reactor.seconds();
  co_await task::deferLater(reactor, 0.02, [] {});
  co_return reactor.seconds() - start;
}

TEST_P(CoroutineReactorTest, SequentialCodeOverTheReactor) {
  double elapsed = 0;
  reactor->callWhenRunning([&] {
    sleepThenMeasure(*reactor).addCallback([&](double e) {
      elapsed = e;
      reactor->stop();
    });
  });
  runReactor();
  EXPECT_GE(elapsed, 0.02);
}

TWISTED_ALL_BACKENDS(CoroutineReactorTest);

}  // namespace
}  // namespace twisted::test

namespace twisted::test {
namespace {

Deferred<int> awaitAndAddOne(Deferred<int> d) {
  co_return co_await d + 1;
}

// AwaitTests.test_reraise: an already-failed Deferred throws at the
// co_await without suspending.
TEST(Coroutine, AwaitingAnAlreadyFailedDeferredThrowsAtOnce) {
  bool caught = false;
  auto body = [&]() -> Deferred<int> {
    try {
      co_await fail<int>(Failure::of(std::runtime_error("already")));
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "already";
    }
    co_return 1;
  };
  Deferred<int> r = body();
  EXPECT_TRUE(caught) << "the throw happened before the coroutine returned";
  EXPECT_EQ(successResultOf(r), 1);
}

// AwaitTests.test_chained: a fired Deferred that waits on a chained one
// resumes the coroutine with the inner result once that fires.
TEST(Coroutine, AwaitingADeferredThatWaitsOnAChainedOneResumesWithItsResult) {
  Deferred<int> inner;
  Deferred<int> outer;
  Deferred<int> chained = outer.addCallback([&](int) { return inner; });
  outer.callback(0);  // fired, but waiting on `inner`
  Deferred<int> r = awaitAndAddOne(chained);
  EXPECT_TRUE(hasNoResult(r));
  inner.callback(41);
  EXPECT_EQ(successResultOf(r), 42);
}

}  // namespace
}  // namespace twisted::test

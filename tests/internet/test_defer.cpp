// Deferred<T>: chains, errors, chaining, cancel, pause, unhandled errors.
// Covers twisted/test/test_defer.py (DeferredTests and friends); see
// docs/conformance.md.
#include <gtest/gtest.h>

#include <memory>
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

class DeferTest : public NoLoggedErrorsTest {};

TEST_F(DeferTest, CallbackRunsWithTheResult) {
  Deferred<int> d;
  std::vector<int> seen;
  d.addCallback([&](int v) { seen.push_back(v); });
  EXPECT_TRUE(seen.empty());
  d.callback(5);
  EXPECT_EQ(seen, std::vector<int>{5});
}

TEST_F(DeferTest, CallbackAddedAfterFiringRunsAtOnce) {
  Deferred<int> d;
  d.callback(5);
  int seen = 0;
  d.addCallback([&](int v) { seen = v; });
  EXPECT_EQ(seen, 5);
}

TEST_F(DeferTest, ResultTypesFlowThroughTheChain) {
  Deferred<int> d;
  Deferred<std::string> s = d.addCallback([](int v) { return std::to_string(v * 2); });
  Deferred<std::size_t> n = s.addCallback([](const std::string& x) { return x.size(); });
  d.callback(21);
  EXPECT_EQ(successResultOf(n), 2u);
}

TEST_F(DeferTest, MoveOnlyResults) {
  Deferred<std::unique_ptr<int>> d;
  auto plus = d.addCallback([](std::unique_ptr<int> p) {
    *p += 1;
    return p;
  });
  d.callback(std::make_unique<int>(41));
  EXPECT_EQ(*successResultOf(plus), 42);
}

TEST_F(DeferTest, ResultsAreMovedNotCopied) {
  struct Counting {
    Counting() = default;
    Counting(const Counting& o) : copies(o.copies + 1) {}
    Counting(Counting&& o) noexcept : copies(o.copies) {}
    Counting& operator=(const Counting&) = delete;
    Counting& operator=(Counting&&) = delete;
    int copies = 0;
  };
  Deferred<Counting> d;
  auto same = d.addCallback([](Counting c) { return c; }).addCallback([](Counting c) { return c; });
  d.callback(Counting{});
  EXPECT_EQ(successResultOf(same).copies, 0);
}

TEST_F(DeferTest, SecondFireRaisesAlreadyCalled) {
  Deferred<int> d;
  d.callback(1);
  EXPECT_THROW(d.callback(2), error::AlreadyCalledError);
  EXPECT_THROW(d.errback(std::runtime_error("x")), error::AlreadyCalledError);
  Deferred<void> v;
  v.errback(std::runtime_error("first"));
  EXPECT_THROW(v.callback(), error::AlreadyCalledError);
  failureResultOf(v);
}

TEST_F(DeferTest, ThrowingCallbackSwitchesToErrbacks) {
  Deferred<int> d;
  std::vector<std::string> log;
  d.addCallback([](int) -> int { throw std::runtime_error("bad"); })
      .addCallback([&](int) { log.push_back("skipped"); })
      .addErrback([&](const Failure& f) { log.push_back("errback: " + f.getErrorMessage()); });
  d.callback(1);
  EXPECT_EQ(log, std::vector<std::string>{"errback: bad"});
}

TEST_F(DeferTest, ErrbackReturningValueSwitchesBack) {
  Deferred<int> d;
  auto r = d.addErrback([](const Failure& f) {
              EXPECT_TRUE(f.check<error::TimeoutError>());
              return 7;
            }).addCallback([](int v) { return v * 2; });
  d.errback(error::TimeoutError());
  EXPECT_EQ(successResultOf(r), 14);
}

TEST_F(DeferTest, ErrbackReturningFailureStaysFailed) {
  Deferred<int> d;
  auto r = d.addErrback([](const Failure& f) { return f; });
  d.errback(error::ConnectionLost());
  EXPECT_TRUE(failureResultOf(r).check<error::ConnectionLost>());
}

TEST_F(DeferTest, TrapRethrowsUnmatched) {
  Deferred<int> d;
  std::string seen;
  d.addErrback([](const Failure& f) -> int {
     f.trap<error::TimeoutError>();  // not this one: re-raised
     return 0;
   }).addErrback([&](const Failure& f) -> int {
    seen = f.typeName();
    return 1;
  });
  d.errback(error::ConnectionRefusedError());
  EXPECT_EQ(seen, "twisted::error::ConnectionRefusedError");
}

TEST_F(DeferTest, AddBothSeesValueOrFailure) {
  Deferred<int> ok;
  Deferred<int> bad;
  auto describe = [](Outcome<int> o) {
    return o.succeeded() ? "value " + std::to_string(o.value())
                         : "failure " + o.failure().getErrorMessage();
  };
  auto a = ok.addBoth(describe);
  auto b = bad.addBoth(describe);
  ok.callback(3);
  bad.errback(std::runtime_error("nope"));
  EXPECT_EQ(successResultOf(a), "value 3");
  EXPECT_EQ(successResultOf(b), "failure nope");
}

TEST_F(DeferTest, AddCallbacksErrbackDoesNotSeeItsOwnCallbacksFailure) {
  Deferred<int> d;
  bool errbackCalled = false;
  auto r = d.addCallbacks([](int) -> int { throw std::runtime_error("from callback"); },
                          [&](const Failure&) {
                            errbackCalled = true;
                            return 0;
                          });
  d.callback(1);
  EXPECT_FALSE(errbackCalled);
  EXPECT_EQ(failureResultOf(r).getErrorMessage(), "from callback");
}

TEST_F(DeferTest, VoidDeferred) {
  Deferred<void> d;
  int calls = 0;
  auto n = d.addCallback([&] { ++calls; }).addCallback([&] {
    ++calls;
    return 9;
  });
  d.callback();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(successResultOf(n), 9);
}

TEST_F(DeferTest, CallbackAddedWhileRunningRunsAfterTheCurrentOne) {
  // Twisted's test_reentrantRunCallbacks / test_nonReentrantCallbacks.
  Deferred<void> d;
  std::vector<std::string> order;
  d.addCallback([&] {
    order.push_back("first");
    d.addCallback([&] { order.push_back("added while running"); });
    order.push_back("first done");
  });
  d.addCallback([&] { order.push_back("second, queued before the fire"); });
  d.callback();
  // At the end of the chain, not next: after what was already queued.
  EXPECT_EQ(order,
            (std::vector<std::string>{"first", "first done", "second, queued before the fire",
                                      "added while running"}));
}

TEST_F(DeferTest, FiringAnotherDeferredInsideACallbackRunsItSynchronously) {
  Deferred<void> outer;
  Deferred<int> other;
  std::vector<std::string> order;
  other.addCallback([&](int) { order.push_back("other's callback"); });
  outer.addCallback([&] {
    other.callback(1);
    order.push_back("after other.callback");
  });
  outer.callback();
  EXPECT_EQ(order, (std::vector<std::string>{"other's callback", "after other.callback"}));
}

TEST_F(DeferTest, ChainedDeferredPausesTheOuterChain) {
  Deferred<int> outer;
  Deferred<std::string> inner;
  std::vector<std::string> log;
  auto r = outer
               .addCallback([&](int) {
                 log.push_back("returning inner");
                 return inner;
               })
               .addCallback([&](std::string s) {
                 log.push_back("got " + s);
                 return s.size();
               });
  outer.callback(1);
  EXPECT_TRUE(hasNoResult(r));
  EXPECT_EQ(log, std::vector<std::string>{"returning inner"});
  inner.callback("abc");
  EXPECT_EQ(log, (std::vector<std::string>{"returning inner", "got abc"}));
  EXPECT_EQ(successResultOf(r), 3u);
}

TEST_F(DeferTest, ChainedAlreadyFiredDeferredIsTakenAtOnce) {
  Deferred<int> outer;
  auto r = outer.addCallback([](int v) { return succeed<int>(v + 1); });
  outer.callback(1);
  EXPECT_EQ(successResultOf(r), 2);
}

TEST_F(DeferTest, ChainedFailurePropagates) {
  Deferred<int> outer;
  Deferred<int> inner;
  auto r = outer.addCallback([&](int) { return inner; });
  outer.callback(0);
  inner.errback(error::TimeoutError());
  EXPECT_TRUE(failureResultOf(r).check<error::TimeoutError>());
}

TEST_F(DeferTest, ReturningItselfFails) {
  Deferred<int> d;
  auto r = d.addCallback([&](int) { return d; });
  d.callback(1);
  EXPECT_TRUE(failureResultOf(r).check<std::logic_error>());
}

TEST_F(DeferTest, DeepChainDoesNotOverflowTheStack) {
  // 100,000 Deferreds, each waiting on the next (Twisted's
  // test_nestedAsynchronousChainedDeferredsWithExtraCallbacks family).
  constexpr std::size_t kDepth = 100000;
  std::vector<Deferred<int>> ds(kDepth);
  for (std::size_t i = 0; i + 1 < kDepth; ++i) {
    Deferred<int> next = ds[i + 1];
    ds[i].addCallback([next](int) { return next; });
  }
  for (std::size_t i = 0; i + 1 < kDepth; ++i) ds[i].callback(0);
  ds.back().callback(7);
  EXPECT_EQ(successResultOf(ds[0]), 7);
}

TEST_F(DeferTest, PauseAndUnpause) {
  Deferred<int> d;
  int seen = 0;
  d.pause();
  d.addCallback([&](int v) { seen = v; });
  d.callback(3);
  EXPECT_EQ(seen, 0);
  d.pause();
  d.unpause();
  EXPECT_EQ(seen, 0) << "pauses nest";
  d.unpause();
  EXPECT_EQ(seen, 3);
}

TEST_F(DeferTest, CancelWithoutCancellerFailsWithCancelledError) {
  Deferred<int> d;
  d.cancel();
  EXPECT_TRUE(failureResultOf(d).check<error::CancelledError>());
  // The producer's later fire is swallowed once (Twisted's _suppressAlreadyCalled).
  EXPECT_NO_THROW(d.callback(1));
  EXPECT_THROW(d.callback(1), error::AlreadyCalledError);
}

TEST_F(DeferTest, CancellerIsCalledAndMayFire) {
  int cancellerCalls = 0;
  Deferred<int> d([&](Deferred<int>& self) {
    ++cancellerCalls;
    self.callback(99);  // a canceller may choose the result
  });
  d.cancel();
  EXPECT_EQ(cancellerCalls, 1);
  EXPECT_EQ(successResultOf(d), 99);
}

TEST_F(DeferTest, CancellerThatDoesNotFireGivesCancelledError) {
  bool called = false;
  Deferred<int> d([&](Deferred<int>&) { called = true; });
  d.cancel();
  EXPECT_TRUE(called);
  EXPECT_TRUE(failureResultOf(d).check<error::CancelledError>());
  EXPECT_THROW(d.callback(1), error::AlreadyCalledError) << "no suppression with a canceller";
}

TEST_F(DeferTest, CancelAfterFiringDoesNothing) {
  bool called = false;
  Deferred<int> d([&](Deferred<int>&) { called = true; });
  d.callback(1);
  d.cancel();
  EXPECT_FALSE(called);
  EXPECT_EQ(successResultOf(d), 1);
}

TEST_F(DeferTest, CancellingOuterCancelsChainedInner) {
  bool innerCancelled = false;
  Deferred<int> inner([&](Deferred<int>&) { innerCancelled = true; });
  Deferred<int> outer;
  auto r = outer.addCallback([&](int) { return inner; });
  outer.callback(0);
  r.cancel();
  EXPECT_TRUE(innerCancelled);
  EXPECT_TRUE(failureResultOf(r).check<error::CancelledError>());
}

TEST_F(DeferTest, UnhandledFailureIsLoggedOnceWhenLastReferenceGoes) {
  {
    Deferred<int> d;
    d.errback(std::runtime_error("nobody handles me"));
    EXPECT_EQ(logs.flushErrors<std::runtime_error>(), 0u) << "not before the last reference goes";
  }
  auto events = logs.events();
  ASSERT_EQ(logs.flushErrors<std::runtime_error>(), 1u);
  bool found = false;
  for (auto& e : events) {
    if (e.format.find("Unhandled error in Deferred") != std::string::npos) found = true;
  }
  EXPECT_TRUE(found);
}

TEST_F(DeferTest, HandledFailureIsNotLogged) {
  {
    Deferred<int> d;
    d.addErrback([](const Failure&) { return 0; });
    d.errback(std::runtime_error("handled"));
  }
  EXPECT_EQ(logs.flushErrors<std::runtime_error>(), 0u);
}

TEST_F(DeferTest, DebuggingReportsWhereCreatedAndFired) {
  detail::setDebugging(true);
  {
    Deferred<int> d;
    d.errback(std::runtime_error("debug me"));
  }
  detail::setDebugging(false);
  auto events = logs.events();
  ASSERT_EQ(logs.flushErrors<std::runtime_error>(), 1u);
  std::string text;
  for (auto& e : events) {
    if (e.failure) text = logger::formatEvent(e);
  }
  EXPECT_NE(text.find("test_defer.cpp"), std::string::npos) << text;
  EXPECT_NE(text.find("fired at"), std::string::npos) << text;
}

TEST_F(DeferTest, StaleHandleIsCaught) {
  Deferred<int> d;
  // Discarding the Deferred<std::string> is a compile-time warning
  // (tests/compile_fail/discarded_type_change.cpp); ignored on purpose here.
  (void)d.addCallback([](int v) { return std::to_string(v); });
  EXPECT_THROW(d.addCallback([](int) {}), std::logic_error);
  Deferred<std::string> wrong(detail::stateOf(d));
  EXPECT_THROW(wrong.callback("x"), std::logic_error);
  d.callback(1);
}

TEST_F(DeferTest, SucceedFailMaybeDeferred) {
  EXPECT_EQ(successResultOf(succeed(4)), 4);
  successResultOf(succeed());
  EXPECT_TRUE(
      failureResultOf(fail<int>(Failure::of(error::TimeoutError()))).check<error::TimeoutError>());
  EXPECT_EQ(successResultOf(maybeDeferred([] { return 5; })), 5);
  EXPECT_EQ(successResultOf(maybeDeferred([] { return succeed(6); })), 6);
  auto thrown = maybeDeferred([]() -> int { throw std::runtime_error("maybe"); });
  EXPECT_EQ(failureResultOf(thrown).getErrorMessage(), "maybe");
}

TEST_F(DeferTest, DeferredListCollectsInOrder) {
  Deferred<int> a, b, c;
  auto all = DeferredList<int>({a, b, c}, {.consumeErrors = true});
  c.callback(3);
  a.callback(1);
  EXPECT_TRUE(hasNoResult(all));
  b.errback(std::runtime_error("b failed"));
  auto results = successResultOf(all);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].value(), 1);
  EXPECT_FALSE(results[1].succeeded());
  EXPECT_EQ(results[1].failure().getErrorMessage(), "b failed");
  EXPECT_EQ(results[2].value(), 3);
}

TEST_F(DeferTest, DeferredListEmptyFiresAtOnce) {
  EXPECT_TRUE(successResultOf(DeferredList<int>({})).empty());
}

TEST_F(DeferTest, DeferredListFireOnOneErrback) {
  Deferred<int> a, b;
  auto all = DeferredList<int>({a, b}, {.fireOnOneErrback = true, .consumeErrors = true});
  b.errback(error::TimeoutError());
  Failure f = failureResultOf(all);
  ASSERT_TRUE(f.check<FirstError>());
  try {
    f.raiseException();
  } catch (const FirstError& e) {
    EXPECT_EQ(e.index, 1u);
    EXPECT_TRUE(e.subFailure.check<error::TimeoutError>());
  }
  a.callback(1);  // later results are ignored
}

TEST_F(DeferTest, DeferredListWithoutConsumeErrorsLeavesFailuresUnhandled) {
  {
    Deferred<int> a;
    auto all = DeferredList<int>({a});
    a.errback(std::runtime_error("still unhandled"));
    EXPECT_FALSE(successResultOf(all)[0].succeeded());
  }
  EXPECT_EQ(logs.flushErrors<std::runtime_error>(), 1u);
}

TEST_F(DeferTest, CancellingDeferredListCancelsItsDeferreds) {
  int cancelled = 0;
  Deferred<int> a([&](Deferred<int>&) { ++cancelled; });
  Deferred<int> b([&](Deferred<int>&) { ++cancelled; });
  b.callback(2);
  auto all = DeferredList<int>({a, b}, {.consumeErrors = true});
  all.cancel();
  EXPECT_EQ(cancelled, 1) << "only the one still running";
  auto results = successResultOf(all);
  EXPECT_TRUE(results[0].failure().check<error::CancelledError>());
  EXPECT_EQ(results[1].value(), 2);
}

TEST_F(DeferTest, CancellingGatherResultsFailsWithFirstError) {
  Deferred<int> a, b;
  auto all = gatherResults<int>({a, b}, /*consumeErrors=*/true);
  all.cancel();
  Failure f = failureResultOf(all);
  ASSERT_TRUE(f.check<FirstError>());
}

TEST_F(DeferTest, GatherResults) {
  Deferred<int> a, b;
  auto all = gatherResults<int>({a, b});
  b.callback(2);
  a.callback(1);
  EXPECT_EQ(successResultOf(all), (std::vector<int>{1, 2}));

  Deferred<int> c, d;
  auto failing = gatherResults<int>({c, d}, /*consumeErrors=*/true);
  c.errback(std::runtime_error("c"));
  EXPECT_TRUE(failureResultOf(failing).check<FirstError>());
  d.callback(0);
}

TEST_F(DeferTest, RaceTakesFirstSuccessAndCancelsTheRest) {
  bool bCancelled = false;
  Deferred<int> a;
  Deferred<int> b([&](Deferred<int>&) { bCancelled = true; });
  auto winner = race<int>({a, b});
  a.callback(10);
  auto [index, value] = successResultOf(winner);
  EXPECT_EQ(index, 0u);
  EXPECT_EQ(value, 10);
  EXPECT_TRUE(bCancelled);
}

TEST_F(DeferTest, DeferredListFireOnOneCallback) {
  bool aCancelled = false;
  Deferred<int> a([&](Deferred<int>&) { aCancelled = true; });
  Deferred<int> b;
  auto first = DeferredList<int>({a, b}, fireOnOneCallback, /*consumeErrors=*/true);
  b.callback(5);
  auto [index, value] = successResultOf(first);
  EXPECT_EQ(index, 1u);
  EXPECT_EQ(value, 5);
  EXPECT_FALSE(aCancelled) << "unlike race, the others go on";
  a.callback(1);
}

TEST_F(DeferTest, DeferredListFireOnOneCallbackNoneSucceeds) {
  Deferred<int> a, b;
  auto first = DeferredList<int>({a, b}, fireOnOneCallback, /*consumeErrors=*/true);
  a.errback(std::runtime_error("a"));
  EXPECT_TRUE(hasNoResult(first));
  b.errback(std::runtime_error("b"));
  Failure f = failureResultOf(first);
  ASSERT_TRUE(f.check<FailureGroup>());
  try {
    f.raiseException();
  } catch (const FailureGroup& g) {
    EXPECT_EQ(g.failures.size(), 2u);
  }
}

TEST_F(DeferTest, RaceAllFailing) {
  Deferred<int> a, b;
  auto r = race<int>({a, b});
  a.errback(std::runtime_error("a"));
  b.errback(std::runtime_error("b"));
  Failure f = failureResultOf(r);
  ASSERT_TRUE(f.check<FailureGroup>());
}

TEST_F(DeferTest, AddTimeoutFiresTimeoutError) {
  testing::Clock clock;
  bool cancelled = false;
  Deferred<int> d([&](Deferred<int>&) { cancelled = true; });
  auto t = d.addTimeout(5, clock);
  clock.advance(4.9);
  EXPECT_TRUE(hasNoResult(t));
  clock.advance(0.1);
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(failureResultOf(t).check<error::TimeoutError>());
}

TEST_F(DeferTest, AddTimeoutCancelledWhenResultComesFirst) {
  testing::Clock clock;
  Deferred<int> d;
  auto t = d.addTimeout(5, clock);
  d.callback(1);
  EXPECT_TRUE(clock.getDelayedCalls().empty());
  EXPECT_EQ(successResultOf(t), 1);
}

TEST_F(DeferTest, AddTimeoutKeepsOtherCancellations) {
  testing::Clock clock;
  Deferred<int> d;
  auto t = d.addTimeout(5, clock);
  t.cancel();  // a user cancel, not a timeout
  EXPECT_TRUE(failureResultOf(t).check<error::CancelledError>());
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

}  // namespace
}  // namespace twisted::test

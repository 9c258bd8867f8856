// Deferred chaining corners from Twisted's test_defer.py: callbacks that
// return Deferreds (paused, fired, nested), DeferredList and gatherResults
// over already-fired inputs or cancellers that call back, re-entrant
// callbacks, the debugging switch, and what is (not) logged once chained
// failures are dropped. Each test is named in docs/conformance.md.
#include <gtest/gtest.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "reactor_test.hpp"
#include "twisted/internet/defer.hpp"
#include "twisted/testing/deferred.hpp"

namespace twisted::test {
namespace {

using testing::failureResultOf;
using testing::hasNoResult;
using testing::successResultOf;

struct GenericError : std::runtime_error {
  explicit GenericError(const std::string& what) : std::runtime_error(what) {}
};

class DeferChainTest : public NoLoggedErrorsTest {};

/// Twisted's fakeCallbackCanceller: cancelling calls back with a fixed value.
void fakeCallbackCanceller(Deferred<std::string>& d) {
  d.callback("Callback Result");
}

/// An errback that records the failure ("cancelled" for a CancelledError,
/// else its message) and passes it on.
auto recordFailure(std::vector<std::string>& seen) {
  return [&seen](const Failure& f) {
    seen.push_back(f.check<error::CancelledError>() ? "cancelled" : f.getErrorMessage());
    return f;
  };
}

/// The exception of type E that `f` wraps; throws if it wraps another.
template <class E>
E errorOf(const Failure& f) {
  try {
    f.raiseException();
  } catch (const E& e) {
    return e;
  } catch (...) {
  }
  throw std::logic_error("the failure is not of the expected type: " + f.brief());
}

std::string join(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

/// Turns Deferred debugging off again however the test ends.
struct DebuggingOff {
  DebuggingOff() = default;
  DebuggingOff(const DebuggingOff&) = delete;
  DebuggingOff& operator=(const DebuggingOff&) = delete;
  ~DebuggingOff() { detail::setDebugging(false); }
};

// ---- DeferredList, gatherResults, race -------------------------------------------------

// testEmptyDeferredList (the plain half is DeferTest.DeferredListEmptyFiresAtOnce).
// Twisted's empty fireOnOneCallback list never fires; this one fails at once
// with an empty FailureGroup (no input succeeded), as defer_helpers.hpp says.
TEST_F(DeferChainTest, AnEmptyFireOnOneCallbackListFailsAtOnceWithAnEmptyFailureGroup) {
  std::vector<std::size_t> plain;
  DeferredList<int>({}).addCallback(
      [&](std::vector<Outcome<int>> results) { plain.push_back(results.size()); });
  EXPECT_EQ(plain, (std::vector<std::size_t>{0}));

  auto first = DeferredList<int>({}, fireOnOneCallback);
  ASSERT_FALSE(hasNoResult(first)) << "fired at construction";
  Failure f = failureResultOf(first);
  ASSERT_TRUE(f.check<FailureGroup>()) << f.brief();
  EXPECT_TRUE(errorOf<FailureGroup>(f).failures.empty());
}

// testDeferredListFireOnOneErrorWithAlreadyFiredDeferreds
TEST_F(DeferChainTest, AFireOnOneErrbackListOfAnAlreadyFailedDeferredFailsAtConstruction) {
  Deferred<void> d1;
  Deferred<void> d2;
  d1.errback(GenericError("Bang"));
  auto list = DeferredList<void>({d1, d2}, {.fireOnOneErrback = true});
  ASSERT_FALSE(hasNoResult(list)) << "failed at construction";
  Failure f = failureResultOf(list);
  ASSERT_TRUE(f.check<FirstError>()) << f.brief();
  FirstError e = errorOf<FirstError>(f);
  EXPECT_EQ(e.index, 0u);
  EXPECT_TRUE(e.subFailure.check<GenericError>());
  EXPECT_EQ(e.subFailure.getErrorMessage(), "Bang");
  EXPECT_TRUE(hasNoResult(d2)) << "the other input is not touched";
  // Without consumeErrors the failure is still d1's: swallow it.
  d1.addErrback([](const Failure&) {});
}

// testDeferredListWithAlreadyFiredDeferreds (consumeErrors here, where Twisted
// swallows d1's failure afterwards: the list has retyped d1's chain).
TEST_F(DeferChainTest, AListOfAlreadyFiredDeferredsFiresAtConstruction) {
  Deferred<int> d1;
  Deferred<int> d2;
  d1.errback(GenericError("Bang"));
  d2.callback(2);
  auto list = DeferredList<int>({d1, d2}, {.consumeErrors = true});
  ASSERT_TRUE(list.called());
  auto results = successResultOf(list);
  ASSERT_EQ(results.size(), 2u);
  ASSERT_FALSE(results[0].succeeded());
  EXPECT_TRUE(results[0].failure().check<GenericError>());
  EXPECT_EQ(results[0].failure().getErrorMessage(), "Bang");
  ASSERT_TRUE(results[1].succeeded());
  EXPECT_EQ(results[1].value(), 2);
}

// test_cancelDeferredListCallback
TEST_F(DeferChainTest, CancellingAListKeepsTheValueAnInputsCancellerCalledBackWith) {
  Deferred<std::string> one(fakeCallbackCanceller);
  Deferred<std::string> two;
  std::vector<std::string> twoSaw;
  two.addErrback(recordFailure(twoSaw));
  auto list = DeferredList<std::string>({one, two}, {.consumeErrors = true});
  list.cancel();
  EXPECT_EQ(twoSaw, (std::vector<std::string>{"cancelled"}));
  auto results = successResultOf(list);
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].succeeded());
  EXPECT_EQ(results[0].value(), "Callback Result");
  ASSERT_FALSE(results[1].succeeded());
  EXPECT_TRUE(results[1].failure().check<error::CancelledError>());
}

// test_cancelDeferredListWithFireOnOneCallback (and race's cancel()). Twisted's
// list then succeeds with the two (False, CancelledError) pairs; this one,
// with no input succeeding, fails with a FailureGroup of them.
TEST_F(DeferChainTest, CancellingAFireOnOneCallbackListCancelsEveryPendingInput) {
  Deferred<int> one;
  Deferred<int> two;
  std::vector<std::string> oneSaw;
  std::vector<std::string> twoSaw;
  one.addErrback(recordFailure(oneSaw));
  two.addErrback(recordFailure(twoSaw));
  auto list = DeferredList<int>({one, two}, fireOnOneCallback, /*consumeErrors=*/true);
  list.cancel();
  EXPECT_EQ(oneSaw, (std::vector<std::string>{"cancelled"}));
  EXPECT_EQ(twoSaw, (std::vector<std::string>{"cancelled"}));
  Failure f = failureResultOf(list);
  ASSERT_TRUE(f.check<FailureGroup>()) << f.brief();
  auto failures = errorOf<FailureGroup>(f).failures;
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_TRUE(failures[0].check<error::CancelledError>());
  EXPECT_TRUE(failures[1].check<error::CancelledError>());

  Deferred<int> a;
  Deferred<int> b;
  std::vector<std::string> raceSaw;
  a.addErrback(recordFailure(raceSaw));
  b.addErrback(recordFailure(raceSaw));
  auto winner = race<int>({a, b});
  winner.cancel();
  EXPECT_EQ(raceSaw, (std::vector<std::string>{"cancelled", "cancelled"}));
  Failure r = failureResultOf(winner);
  ASSERT_TRUE(r.check<FailureGroup>()) << r.brief();
  EXPECT_EQ(errorOf<FailureGroup>(r).failures.size(), 2u);
}

// test_cancelDeferredListWithFireOnOneCallbackAndDeferredCallback. The result
// is (index, value) here, (value, index) in Twisted.
TEST_F(DeferChainTest, CancellingAFireOnOneCallbackListFiresWithTheInputItsCancellerCalledBack) {
  Deferred<std::string> one(fakeCallbackCanceller);
  Deferred<std::string> two;
  std::vector<std::string> twoSaw;
  two.addErrback(recordFailure(twoSaw));
  auto list = DeferredList<std::string>({one, two}, fireOnOneCallback, /*consumeErrors=*/true);
  list.cancel();
  EXPECT_EQ(twoSaw, (std::vector<std::string>{"cancelled"}))
      << "the list's cancel() goes on to the other input";
  EXPECT_EQ(successResultOf(list), (std::pair<std::size_t, std::string>{0, "Callback Result"}));
}

// test_cancelDeferredListWithFireOnOneErrbackAllDeferredsCallback
TEST_F(DeferChainTest, CancellingAFireOnOneErrbackListWhoseCancellersCallBackSucceeds) {
  Deferred<std::string> one(fakeCallbackCanceller);
  Deferred<std::string> two(fakeCallbackCanceller);
  auto list = DeferredList<std::string>({one, two}, {.fireOnOneErrback = true});
  list.cancel();
  auto results = successResultOf(list);
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].succeeded());
  EXPECT_EQ(results[0].value(), "Callback Result");
  ASSERT_TRUE(results[1].succeeded());
  EXPECT_EQ(results[1].value(), "Callback Result");
}

// test_cancelGatherResultsWithAllDeferredsCallback
TEST_F(DeferChainTest, CancellingGatherResultsWhoseCancellersCallBackSucceeds) {
  Deferred<std::string> one(fakeCallbackCanceller);
  Deferred<std::string> two(fakeCallbackCanceller);
  auto all = gatherResults<std::string>({one, two});
  all.cancel();
  EXPECT_EQ(successResultOf(all), (std::vector<std::string>{"Callback Result", "Callback Result"}));
}

// ---- returning a paused Deferred -------------------------------------------------------

// testReturnDeferred
TEST_F(DeferChainTest, TheOuterWaitsUntilTheReturnedDeferredIsFiredAndUnpaused) {
  Deferred<int> d1;
  Deferred<int> d2;
  d2.pause();
  std::vector<int> seen;
  d1.addCallback([&](int) { return d2; });
  d1.addCallback([&](int v) {
    seen.push_back(v);
    return v;
  });
  d1.callback(1);
  EXPECT_TRUE(seen.empty()) << "d2 has not fired";
  d2.callback(2);
  EXPECT_TRUE(seen.empty()) << "d2 is still paused";
  d2.unpause();
  EXPECT_EQ(seen, std::vector<int>{2});
}

// test_chainedPausedDeferredWithResult
TEST_F(DeferChainTest, TheOuterWaitsForAFiredButPausedReturnedDeferredToBeUnpaused) {
  Deferred<std::string> paused;
  paused.callback("expected");
  paused.pause();
  Deferred<void> chained;
  Deferred<std::string> rest = chained.addCallback([&] { return paused; });
  chained.callback();
  std::vector<std::string> seen;
  rest.addCallback([&](std::string v) {
    seen.push_back(v);
    return v;
  });
  EXPECT_TRUE(seen.empty());
  EXPECT_TRUE(hasNoResult(rest));
  paused.unpause();
  EXPECT_EQ(seen, std::vector<std::string>{"expected"});
}

// test_pausedDeferredChained. In Twisted `second` then holds None and takes
// more callbacks; here its result went to `first`, so adding to it throws.
TEST_F(DeferChainTest, APausedOuterDoesNotStopTheInnerAndRunsOnceUnpaused) {
  std::vector<std::string> events;
  Deferred<int> first;
  Deferred<int> second;
  second.addCallback([&](int v) {
    events.push_back("second " + std::to_string(v));
    return v + 1;
  });
  first.addCallback([&](int) { return second; });
  first.callback(0);
  first.pause();
  second.callback(7);
  EXPECT_EQ(events, std::vector<std::string>{"second 7"}) << "the inner ran despite the pause";
  first.addCallback([&](int v) {
    events.push_back("first " + std::to_string(v));
    return v;
  });
  EXPECT_EQ(events, std::vector<std::string>{"second 7"}) << "the paused outer waits";
  EXPECT_THROW(second.addCallback([](int v) { return v; }), std::logic_error);
  first.unpause();
  EXPECT_EQ(events, (std::vector<std::string>{"second 7", "first 8"}));
}

// ---- nested chains ---------------------------------------------------------------------

// test_innerCallbacksPreserved
TEST_F(DeferChainTest, InnerCallbacksRunBeforeTheOuterGetsTheResult) {
  std::vector<std::string> results;
  std::vector<std::string> failures;
  Deferred<std::string> inner;
  Deferred<std::string> outer = succeed<std::string>("outer");
  outer.addCallback([&](std::string result) {
    results.push_back("start-of-cb " + result);
    Deferred<std::string> d = succeed<std::string>("inner");
    d.addCallback([&](std::string) {
       results.push_back("firstCallback inner");
       return inner;
     }).addCallback([&](std::string r) {
      results.push_back("secondCallback " + r);
      return r + r;
    });
    d.addErrback(recordFailure(failures));
    return d;
  });
  inner.callback("orange");
  outer.addCallback([&](std::string r) {
    results.push_back(r);
    return r;
  });
  outer.addErrback(recordFailure(failures));
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(results, (std::vector<std::string>{"start-of-cb outer", "firstCallback inner",
                                               "secondCallback orange", "orangeorange"}));
}

// test_callbackOrderPreserved
TEST_F(DeferChainTest, OuterCallbacksRunAfterTheMiddleDeferredsRemainingCallbacks) {
  std::vector<std::string> results;
  std::vector<std::string> failures;
  Deferred<std::string> a;
  Deferred<std::string> outer;
  Deferred<void> afterCb = outer.addCallback([&](std::string result) {
    results.push_back("cb " + result);
    Deferred<void> d;
    Deferred<std::vector<std::string>> gathered = d.addCallback([&] {
      results.push_back("firstCallback");
      return gatherResults<std::string>({a});
    });
    Deferred<void> rest = gathered.addCallback(
        [&](std::vector<std::string> r) { results.push_back("secondCallback " + join(r)); });
    rest.addErrback(recordFailure(failures));
    d.callback();
    return rest;
  });
  afterCb.addCallback([&] { results.push_back("final"); });
  afterCb.addErrback(recordFailure(failures));
  outer.callback("outer");
  EXPECT_EQ(results, (std::vector<std::string>{"cb outer", "firstCallback"}));
  a.callback("withers");
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(results, (std::vector<std::string>{"cb outer", "firstCallback",
                                               "secondCallback [withers]", "final"}));
}

// test_nestedAsynchronousChainedDeferreds. Twisted then adds an errback to
// `inner` (its result is None by then); here the result went to the middle
// Deferred, so that throws.
TEST_F(DeferChainTest, ANestedChainGoesOnWhenTheInnermostFiresLater) {
  std::vector<std::string> results;
  std::vector<std::string> failures;
  Deferred<std::string> inner;
  Deferred<std::string> outer = succeed<std::string>("outer");
  outer.addCallback([&](std::string result) {
    results.push_back("start-of-cb " + result);
    Deferred<std::string> d = succeed<std::string>("inner");
    d.addCallback([&](std::string) {
       results.push_back("firstCallback inner");
       return inner;
     }).addCallback([&](std::string r) {
      results.push_back("secondCallback " + r);
      return r + r;
    });
    d.addErrback(recordFailure(failures));
    return d;
  });
  outer.addCallback([&](std::string r) {
    results.push_back(r);
    return r;
  });
  EXPECT_EQ(results, (std::vector<std::string>{"start-of-cb outer", "firstCallback inner"}));
  inner.callback("orange");
  EXPECT_THROW(inner.addErrback(recordFailure(failures)), std::logic_error);
  outer.addErrback(recordFailure(failures));
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(results, (std::vector<std::string>{"start-of-cb outer", "firstCallback inner",
                                               "secondCallback orange", "orangeorange"}));
}

// test_nestedAsynchronousChainedDeferredsWithExtraCallbacks
TEST_F(DeferChainTest, ANestedChainRunsTheInnermostsOwnCallbacksFirst) {
  std::vector<std::string> results;
  std::vector<std::string> failures;
  Deferred<std::string> inner;
  Deferred<std::string> outer = succeed<std::string>("outer");
  Deferred<std::vector<std::string>> rest = outer.addCallback([&](std::string result) {
    results.push_back("start-of-cb " + result);
    Deferred<std::string> d = succeed<std::string>("inner");
    Deferred<std::vector<std::string>> transformed = d.addCallback([&](std::string r) {
      results.push_back("firstCallback " + r);
      return inner.addCallback([](std::string v) { return std::vector<std::string>{v}; });
    });
    transformed.addCallback([&](std::vector<std::string> r) {
      results.push_back("secondCallback " + join(r));
      std::vector<std::string> twice = r;
      twice.insert(twice.end(), r.begin(), r.end());
      return twice;
    });
    transformed.addErrback(recordFailure(failures));
    return transformed;
  });
  rest.addCallback([&](std::vector<std::string> r) {
    results.push_back(join(r));
    return r;
  });
  EXPECT_EQ(results, (std::vector<std::string>{"start-of-cb outer", "firstCallback inner"}));
  inner.callback("withers");
  rest.addErrback(recordFailure(failures));
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(results, (std::vector<std::string>{"start-of-cb outer", "firstCallback inner",
                                               "secondCallback [withers]", "[withers, withers]"}));
}

// ---- re-entrancy -----------------------------------------------------------------------

// test_reentrantRunCallbacksWithFailure
TEST_F(DeferChainTest, ACallbackAddedWhileRunningThatThrowsFailsTheChain) {
  Deferred<void> d;
  d.addCallback(
      [&d] { d.addCallback([] { throw std::runtime_error("callback raised exception"); }); });
  d.callback();
  Failure f = failureResultOf(d);
  EXPECT_TRUE(f.check<std::runtime_error>()) << f.brief();
  EXPECT_EQ(f.getErrorMessage(), "callback raised exception");
}

// ---- the debugging switch --------------------------------------------------------------

// testSwitchDebugging
TEST_F(DeferChainTest, SwitchingDebuggingBetweenAddingAndFiringIsHarmless) {
  DebuggingOff restore;
  std::vector<std::string> events;
  detail::setDebugging(false);
  Deferred<int> d;
  d.addBoth([&](Outcome<int> o) { events.push_back("first " + std::to_string(o.value())); });
  detail::setDebugging(true);
  d.callback(1);
  detail::setDebugging(false);
  Deferred<int> d2;
  d2.callback(2);
  detail::setDebugging(true);
  d2.addBoth([&](Outcome<int> o) { events.push_back("second " + std::to_string(o.value())); });
  EXPECT_EQ(events, (std::vector<std::string>{"first 1", "second 2"}));
}

// testSwitchDebugging, with failures: the report made while debugging is on
// names where the Deferred was created, and where it was fired only if
// debugging was on at the fire.
TEST_F(DeferChainTest, TheFiringPlaceIsRecordedOnlyWhenDebuggingIsOnAtTheFire) {
  DebuggingOff restore;
  detail::setDebugging(false);
  {
    Deferred<int> d;
    d.addErrback([](const Failure& f) { return f; });
    detail::setDebugging(true);
    d.errback(std::runtime_error("fired while on"));
  }
  detail::setDebugging(false);
  {
    Deferred<int> d;
    d.errback(std::runtime_error("fired while off"));
    detail::setDebugging(true);
    d.addErrback([](const Failure& f) { return f; });
  }
  detail::setDebugging(false);
  auto events = logs.events();
  ASSERT_EQ(logs.flushErrors<std::runtime_error>(), 2u);
  std::string firedOn;
  std::string firedOff;
  for (auto& e : events) {
    if (!e.failure) continue;
    if (e.failure->getErrorMessage() == "fired while on") firedOn = logger::formatEvent(e);
    if (e.failure->getErrorMessage() == "fired while off") firedOff = logger::formatEvent(e);
  }
  const std::string file = "test_defer_chain.cpp";
  auto created = firedOn.find("created at ");
  auto fired = firedOn.find("fired at ");
  ASSERT_NE(created, std::string::npos) << firedOn;
  ASSERT_NE(fired, std::string::npos) << firedOn;
  EXPECT_LT(firedOn.find(file, created), fired) << firedOn;
  EXPECT_NE(firedOn.find(file, fired), std::string::npos) << firedOn;
  EXPECT_EQ(firedOn.find("fired at -"), std::string::npos) << firedOn;

  created = firedOff.find("created at ");
  ASSERT_NE(created, std::string::npos) << firedOff;
  fired = firedOff.find("fired at -");
  ASSERT_NE(fired, std::string::npos) << firedOff;
  EXPECT_LT(firedOff.find(file, created), fired) << firedOff;
}

// ---- what is logged --------------------------------------------------------------------

// test_synchronousImplicitErrorChain. Twisted's `first` then holds None; here
// its result went to `second`, so adding to it throws.
TEST_F(DeferChainTest, ReturningAnAlreadyFailedDeferredFailsTheOuterAndLogsNothing) {
  {
    Deferred<void> first = fail<void>(Failure::of(std::runtime_error("First Deferred's Failure")));
    Deferred<void> second;
    second.addCallback([&] { return first; });
    second.callback();
    EXPECT_THROW(first.addCallback([] {}), std::logic_error);
    Failure f = failureResultOf(second);
    EXPECT_TRUE(f.check<std::runtime_error>()) << f.brief();
    EXPECT_EQ(f.getErrorMessage(), "First Deferred's Failure");
  }
  EXPECT_EQ(logs.flushErrors<std::runtime_error>(), 0u) << "first's failure was handed on";
}

// test_chainedErrorCleanup
TEST_F(DeferChainTest, AFailedDeferredReturnedFromACallbackIsNotLoggedWhenDropped) {
  {
    Deferred<void> d;
    d.addCallback([] { return fail<void>(Failure::of(std::runtime_error("zoop"))); });
    d.callback();
    std::vector<std::string> results;
    std::vector<std::string> errors;
    d.addCallbacks([&] { results.push_back("value"); },
                   [&](const Failure& f) { errors.push_back(f.getErrorMessage()); });
    EXPECT_TRUE(results.empty());
    EXPECT_EQ(errors, std::vector<std::string>{"zoop"});
  }
  EXPECT_TRUE(logs.unflushedErrors().empty()) << logs.unflushedErrors().front();
}

// test_errorClearedByChaining
TEST_F(DeferChainTest, AnErrbackChainingToAnUnfiredDeferredClearsTheFailure) {
  {
    Deferred<int> bad = fail<int>(Failure::of(std::runtime_error("oh no")));
    Deferred<int> good;
    bad.addErrback([good](const Failure&) { return good; });
    EXPECT_TRUE(hasNoResult(bad)) << "bad now waits on good";
  }
  EXPECT_TRUE(logs.unflushedErrors().empty()) << logs.unflushedErrors().front();
}

}  // namespace
}  // namespace twisted::test

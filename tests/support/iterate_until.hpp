// Turning a reactor until something happens, with a bound: a regression
// shows as a failed assertion naming what never happened, not as ctest's
// timeout. The bound is generous (a loaded 2-core machine finishes each
// wait in milliseconds) and is never what a test decides by.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>

#include "twisted/internet/reactor.hpp"

namespace twisted::test {

inline constexpr double kIterateLimitSeconds = 60;

/// Iterates `reactor` (at most `step` seconds per turn) until `done()`.
template <class Pred>
::testing::AssertionResult iterateUntil(Reactor& reactor, Pred done, const char* what,
                                        double step = 0.01,
                                        double limitSeconds = kIterateLimitSeconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limitSeconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return ::testing::AssertionFailure()
             << "still waiting after " << limitSeconds << " s for: " << what;
    }
    reactor.iterate(step);
  }
  return ::testing::AssertionSuccess();
}

/// Stops `port` and turns `reactor` until its Deferred has fired.
inline void stopAndWait(Reactor& reactor, const std::shared_ptr<IListeningPort>& port) {
  bool done = false;
  port->stopListening().addBoth([&](Outcome<void>) { done = true; });
  ASSERT_TRUE(iterateUntil(
      reactor, [&] { return done; }, "stopListening's Deferred"));
}

/// Turns `reactor` until `d` has fired: a failure names the Failure.
inline ::testing::AssertionResult fires(Reactor& reactor, Deferred<void> d) {
  struct State {
    bool done = false;
    std::optional<Failure> failed;
  };
  auto state = std::make_shared<State>();  // outlives a wait that gives up
  d.addBoth([state](Outcome<void> o) {
    state->done = true;
    if (!o.succeeded()) state->failed = o.failure();
  });
  ::testing::AssertionResult waited = iterateUntil(
      reactor, [&] { return state->done; }, "the Deferred");
  if (!waited) return waited;
  if (state->failed) return ::testing::AssertionFailure() << state->failed->getErrorMessage();
  return ::testing::AssertionSuccess();
}

}  // namespace twisted::test

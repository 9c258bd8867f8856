// task::react (Twisted's test_task.py ReactTests and
// ReactCoroutineFunctionTests): each case with a main that returns a
// Deferred, and again with a main that is a coroutine. Every backend; the
// reactor is a real one, so "time passed" is checked by order, not by clock.
#include "twisted/internet/react.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "reactor_test.hpp"
#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/task.hpp"

namespace twisted::test {
namespace {

struct ExpectedException : std::runtime_error {
  ExpectedException() : std::runtime_error("expected") {}
};

class ReactTest : public ReactorTest {};

// test_runsUntilAsyncCallback: runs until main's Deferred fires, then stops.
TEST_P(ReactTest, RunsUntilAsyncCallback) {
  std::vector<std::string> events;
  int status = task::react(*reactor, [&](Reactor& r) {
    Deferred<void> finished;
    r.callLater(0.01, [&] { events.push_back("timer"); });
    r.callLater(0.02, [&, finished]() mutable {
      events.push_back("finished");
      finished.callback();
    });
    return finished;
  });
  EXPECT_EQ(status, 0);
  EXPECT_EQ(events, (std::vector<std::string>{"timer", "finished"}));
  EXPECT_FALSE(reactor->running());
}

TEST_P(ReactTest, CoroutineRunsUntilAsyncCallback) {
  std::vector<std::string> events;
  int status = task::react(*reactor, [&](Reactor& r) -> Deferred<void> {
    r.callLater(0.01, [&] { events.push_back("timer"); });
    co_await task::deferLater(r, 0.02, [] {});
    events.push_back("finished");
  });
  EXPECT_EQ(status, 0);
  EXPECT_EQ(events, (std::vector<std::string>{"timer", "finished"}));
}

// test_runsUntilSyncCallback: an already-fired Deferred returns at once.
TEST_P(ReactTest, RunsUntilSyncCallback) {
  EXPECT_EQ(task::react(*reactor, [](Reactor&) { return succeed(42); }), 0);
}

TEST_P(ReactTest, CoroutineRunsUntilSyncCallback) {
  EXPECT_EQ(task::react(*reactor, [](Reactor&) -> Deferred<int> { co_return 42; }), 0);
}

// test_runsUntilAsyncErrback: a failure later: status 1, logged once.
TEST_P(ReactTest, RunsUntilAsyncErrback) {
  int status = task::react(*reactor, [](Reactor& r) {
    Deferred<void> finished;
    r.callLater(0.01, [finished]() mutable { finished.errback(ExpectedException()); });
    return finished;
  });
  EXPECT_EQ(status, 1);
  EXPECT_EQ(logs->flushErrors<ExpectedException>(), 1u);
}

TEST_P(ReactTest, CoroutineRunsUntilAsyncErrback) {
  int status = task::react(*reactor, [](Reactor& r) -> Deferred<void> {
    co_await task::deferLater(r, 0.01, [] {});
    throw ExpectedException();
  });
  EXPECT_EQ(status, 1);
  EXPECT_EQ(logs->flushErrors<ExpectedException>(), 1u);
}

// test_runsUntilSyncErrback: an already-failed Deferred.
TEST_P(ReactTest, RunsUntilSyncErrback) {
  int status =
      task::react(*reactor, [](Reactor&) { return fail<void>(Failure::of(ExpectedException())); });
  EXPECT_EQ(status, 1);
  EXPECT_EQ(logs->flushErrors<ExpectedException>(), 1u);
}

TEST_P(ReactTest, CoroutineRunsUntilSyncErrback) {
  int status = task::react(*reactor, [](Reactor&) -> Deferred<void> {
    throw ExpectedException();
    co_return;
  });
  EXPECT_EQ(status, 1);
  EXPECT_EQ(logs->flushErrors<ExpectedException>(), 1u);
}

// test_singleStopCallback / test_singleStopErrback: main stops the reactor
// itself and its Deferred fires during shutdown: react does not stop again.
Deferred<void> stopsItselfThenFires(Reactor& r, bool fail) {
  r.callLater(0.01, [&r] { r.stop(); });
  Deferred<void> finished;
  r.addSystemEventTrigger(Phase::During, "shutdown", [finished, fail]() mutable {
    if (fail) {
      finished.errback(ExpectedException());
    } else {
      finished.callback();
    }
  });
  return finished;
}

TEST_P(ReactTest, SingleStopCallback) {
  EXPECT_EQ(task::react(*reactor, [](Reactor& r) { return stopsItselfThenFires(r, false); }), 0);
  EXPECT_FALSE(reactor->running());
}

TEST_P(ReactTest, SingleStopErrback) {
  EXPECT_EQ(task::react(*reactor, [](Reactor& r) { return stopsItselfThenFires(r, true); }), 1);
  EXPECT_EQ(logs->flushErrors<ExpectedException>(), 1u);
}

TEST_P(ReactTest, CoroutineSingleStopCallback) {
  int status = task::react(
      *reactor, [](Reactor& r) -> Deferred<void> { co_await stopsItselfThenFires(r, false); });
  EXPECT_EQ(status, 0);
}

TEST_P(ReactTest, CoroutineSingleStopErrback) {
  int status = task::react(
      *reactor, [](Reactor& r) -> Deferred<void> { co_await stopsItselfThenFires(r, true); });
  EXPECT_EQ(status, 1);
  EXPECT_EQ(logs->flushErrors<ExpectedException>(), 1u);
}

// test_arguments: the arguments after main are passed to it.
TEST_P(ReactTest, Arguments) {
  std::vector<int> args;
  int status = task::react(
      *reactor,
      [&](Reactor&, int x, int y, int z) {
        args = {x, y, z};
        return succeed();
      },
      1, 2, 3);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(args, (std::vector<int>{1, 2, 3}));
}

TEST_P(ReactTest, CoroutineArguments) {
  std::vector<std::string> args;
  int status = task::react(
      *reactor,
      [&](Reactor&, std::string a, std::string b) -> Deferred<void> {
        args = {a, b};
        co_return;
      },
      std::string("alice"), std::string("secret"));
  EXPECT_EQ(status, 0);
  EXPECT_EQ(args, (std::vector<std::string>{"alice", "secret"}));
}

// test_defaultReactor: without a reactor, react builds its own.
TEST_P(ReactTest, WithoutAReactorReactBuildsOne) {
  Reactor* passed = nullptr;
  int status = task::react([&](Reactor& r) {
    passed = &r;
    return succeed();
  });
  EXPECT_EQ(status, 0);
  EXPECT_NE(passed, nullptr);
  EXPECT_NE(passed, reactor.get());
}

TEST_P(ReactTest, CoroutineWithoutAReactorReactBuildsOne) {
  bool ran = false;
  int status = task::react([&](Reactor& r) -> Deferred<void> {
    co_await task::deferLater(r, 0, [] {});
    ran = true;
  });
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(ran);
}

// test_exitWithDefinedCode: a SystemExit's code, nothing logged.
TEST_P(ReactTest, ExitWithDefinedCode) {
  int status =
      task::react(*reactor, [](Reactor&) { return fail<void>(Failure::of(task::SystemExit(23))); });
  EXPECT_EQ(status, 23);
  EXPECT_TRUE(logs->unflushedErrors().empty());
}

TEST_P(ReactTest, CoroutineExitWithDefinedCode) {
  int status = task::react(*reactor, [](Reactor& r) -> Deferred<void> {
    co_await task::deferLater(r, 0, [] {});
    throw task::SystemExit(23);
  });
  EXPECT_EQ(status, 23);
}

// test_synchronousStop: the reactor is stopped just before the Deferred
// fires.
Deferred<void> stopThenFire(Reactor& r) {
  Deferred<void> d;
  r.callWhenRunning([&r, d]() mutable {
    r.stop();
    d.callback();
  });
  return d;
}

TEST_P(ReactTest, SynchronousStop) {
  EXPECT_EQ(task::react(*reactor, stopThenFire), 0);
}

TEST_P(ReactTest, CoroutineSynchronousStop) {
  EXPECT_EQ(task::react(*reactor, [](Reactor& r) -> Deferred<void> { co_await stopThenFire(r); }),
            0);
}

// test_asynchronousStop: the reactor is stopped and the Deferred never
// fires: status 0.
TEST_P(ReactTest, AsynchronousStop) {
  Deferred<void> never;
  int status = task::react(*reactor, [&](Reactor& r) {
    r.callLater(0.01, [&r] { r.stop(); });
    return never;
  });
  EXPECT_EQ(status, 0);
  never.callback();  // fired after react returned: nothing happens
}

TEST_P(ReactTest, CoroutineAsynchronousStop) {
  Deferred<void> never;
  int status = task::react(*reactor, [&](Reactor& r) -> Deferred<void> {
    r.callLater(0.01, [&r] { r.stop(); });
    co_await never;
  });
  EXPECT_EQ(status, 0);
  never.callback();  // the coroutine finishes after react returned: harmless
}

TWISTED_ALL_BACKENDS(ReactTest);

}  // namespace
}  // namespace twisted::test

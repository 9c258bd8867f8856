// IReactorCore: run, stop, crash, iterate, system event triggers.
// Covers twisted/internet/test/test_core.py (see docs/conformance.md).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "reactor_test.hpp"
#include "twisted/python/threadpool.hpp"

namespace twisted::test {
namespace {

using Events = std::vector<std::string>;

class CoreTest : public ReactorTest {};

// What stop() says when it refuses: each case names what is true.
std::string stopError(Reactor& reactor) {
  try {
    reactor.stop();
  } catch (const error::ReactorNotRunning& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_P(CoreTest, StopWhenNotStartedRaises) {
  EXPECT_THROW(reactor->stop(), error::ReactorNotRunning);
  EXPECT_EQ(stopError(*reactor), "The reactor cannot be stopped: it is not running");
}

TEST_P(CoreTest, StopWhenAlreadyStoppedRaises) {
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor();
  EXPECT_THROW(reactor->stop(), error::ReactorNotRunning);
  EXPECT_EQ(stopError(*reactor), "The reactor cannot be stopped: it is not running");
}

TEST_P(CoreTest, StopTwiceInOneRunRaises) {
  std::string second, duringShutdown;
  reactor->addSystemEventTrigger(Phase::Before, "shutdown",
                                 [&] { duringShutdown = stopError(*reactor); });
  reactor->callWhenRunning([&] {
    reactor->stop();
    second = stopError(*reactor);
  });
  runReactor();
  EXPECT_EQ(second, "The reactor cannot be stopped: it is already stopping");
  EXPECT_EQ(duringShutdown, "The reactor cannot be stopped: it is already stopping");
}

TEST_P(CoreTest, CallWhenRunningOrder) {
  Events events;
  reactor->callWhenRunning([&] { events.push_back("first"); });
  reactor->callWhenRunning([&] { events.push_back("second"); });
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor();
  EXPECT_EQ(events, (Events{"first", "second"}));
}

TEST_P(CoreTest, CallWhenRunningWhileRunningCallsAtOnce) {
  bool inner = false;
  reactor->callWhenRunning([&] {
    reactor->callWhenRunning([&] { inner = true; });
    EXPECT_TRUE(inner);
    reactor->stop();
  });
  runReactor();
}

TEST_P(CoreTest, RunningForStartupEvents) {
  std::vector<std::pair<std::string, bool>> state;
  reactor->addSystemEventTrigger(Phase::Before, "startup",
                                 [&] { state.emplace_back("before", reactor->running()); });
  reactor->addSystemEventTrigger(Phase::During, "startup",
                                 [&] { state.emplace_back("during", reactor->running()); });
  reactor->addSystemEventTrigger(Phase::After, "startup",
                                 [&] { state.emplace_back("after", reactor->running()); });
  reactor->callWhenRunning([&] { reactor->stop(); });
  EXPECT_TRUE(state.empty());
  runReactor();
  std::vector<std::pair<std::string, bool>> expected{
      {"before", false}, {"during", true}, {"after", true}};
  EXPECT_EQ(state, expected);
  EXPECT_FALSE(reactor->running());
}

TEST_P(CoreTest, SignalHandlersInstalledDuringStartup) {
  auto handlerInstalled = [] {
    struct sigaction sa {};
    ::sigaction(SIGINT, nullptr, &sa);
    return sa.sa_handler != SIG_DFL;
  };
  struct sigaction before {};
  ::sigaction(SIGINT, nullptr, &before);
  ASSERT_EQ(before.sa_handler, SIG_DFL);
  bool inBefore = true;
  bool inAfter = false;
  reactor->addSystemEventTrigger(Phase::Before, "startup", [&] { inBefore = handlerInstalled(); });
  reactor->addSystemEventTrigger(Phase::After, "startup", [&] { inAfter = handlerInstalled(); });
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor(10, /*signals=*/true);
  EXPECT_FALSE(inBefore);
  EXPECT_TRUE(inAfter);
  EXPECT_FALSE(handlerInstalled()) << "handlers are restored when run() returns";
}

TEST_P(CoreTest, StopFiresShutdownPhasesInOrder) {
  Events events;
  reactor->addSystemEventTrigger(Phase::After, "shutdown", [&] { events.push_back("after"); });
  reactor->addSystemEventTrigger(Phase::During, "shutdown", [&] { events.push_back("during"); });
  reactor->addSystemEventTrigger(Phase::Before, "shutdown", [&] { events.push_back("before"); });
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor();
  EXPECT_EQ(events, (Events{"before", "during", "after"}));
}

TEST_P(CoreTest, ShutdownFiresTriggersAsynchronously) {
  Events events;
  reactor->addSystemEventTrigger(Phase::Before, "shutdown",
                                 [&] { events.push_back("before shutdown"); });
  reactor->callWhenRunning([&] {
    reactor->stop();
    events.push_back("stopped");
  });
  runReactor();
  EXPECT_EQ(events, (Events{"stopped", "before shutdown"}));
}

TEST_P(CoreTest, ShutdownDisconnectsEveryDescriptorEvenIfOneThrows) {
  auto [a, b] = socketPair();
  auto bad = std::make_shared<FakeDescriptor>(a.get());
  auto good = std::make_shared<FakeDescriptor>(b.get());
  bad->onLost = [](const Failure&) { throw std::runtime_error("simulated connectionLost error"); };
  reactor->addReader(bad);
  reactor->addWriter(good);
  good->onWrite = [] { return std::nullopt; };
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor();
  ASSERT_EQ(bad->lost.size(), 1u);
  ASSERT_EQ(good->lost.size(), 1u);
  EXPECT_TRUE(good->lost[0].check<error::ConnectionLost>());
  EXPECT_EQ(logs->flushErrors<std::runtime_error>(), 1u);
}

TEST_P(CoreTest, RunInsideRunRaisesAlreadyRunning) {
  Events events;
  reactor->callWhenRunning([&] {
    EXPECT_THROW(reactor->run(false), error::ReactorAlreadyRunning);
    events.push_back("tested");
  });
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor();
  EXPECT_EQ(events, (Events{"tested"}));
}

TEST_P(CoreTest, BeforeStartupHoldDelaysRunningButLoopServesTimers) {
  // Twisted: a "before startup" trigger returning an unfired Deferred.
  Events events;
  reactor->addSystemEventTrigger(Phase::Before, "startup", [&](EventHold hold) {
    events.push_back("trigger");
    reactor->callLater(0, [&, hold]() mutable {
      events.push_back(reactor->running() ? "running" : "not running yet");
      hold.release();
    });
  });
  reactor->callWhenRunning([&] {
    events.push_back("started");
    reactor->stop();
  });
  runReactor();
  EXPECT_EQ(events, (Events{"trigger", "not running yet", "started"}));
}

TEST_P(CoreTest, BeforeShutdownHoldKeepsLoopServingUntilReleased) {
  Events events;
  auto [a, b] = socketPair();
  auto reader = std::make_shared<FakeDescriptor>(a.get());
  reader->onRead = [&]() -> IOResult {
    char c;
    while (::read(reader->fd, &c, 1) == 1) events.push_back("read during shutdown");
    return std::nullopt;
  };
  reactor->addSystemEventTrigger(Phase::Before, "shutdown", [&](EventHold hold) {
    events.push_back("before");
    reactor->addReader(reader);
    sendByte(b);
    reactor->callLater(0.05, [&, hold]() mutable {
      events.push_back("released");
      hold.release();
    });
  });
  reactor->addSystemEventTrigger(Phase::During, "shutdown", [&] { events.push_back("during"); });
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor();
  EXPECT_EQ(events, (Events{"before", "read during shutdown", "released", "during"}));
  ASSERT_EQ(reader->lost.size(), 1u) << "disconnected during shutdown";
}

TEST_P(CoreTest, BeforeShutdownTriggerReturningDeferredDelaysShutdown) {
  // Twisted's asynchronous "before" trigger, with a real Deferred.
  Events events;
  reactor->addSystemEventTrigger(Phase::Before, "shutdown", [&]() -> Deferred<int> {
    events.push_back("before");
    Deferred<int> d;
    reactor->callLater(0.02, [&, d]() mutable {
      events.push_back("fired");
      d.callback(1);
    });
    return d;
  });
  reactor->addSystemEventTrigger(Phase::During, "shutdown", [&] { events.push_back("during"); });
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor();
  EXPECT_EQ(events, (Events{"before", "fired", "during"}));
}

TEST_P(CoreTest, FailingTriggerDeferredIsLoggedAndShutdownGoesOn) {
  bool during = false;
  reactor->addSystemEventTrigger(Phase::Before, "shutdown", [&]() -> Deferred<void> {
    Deferred<void> d;
    reactor->callLater(0, [d]() mutable { d.errback(std::runtime_error("cleanup failed")); });
    return d;
  });
  reactor->addSystemEventTrigger(Phase::During, "shutdown", [&] { during = true; });
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor();
  EXPECT_TRUE(during);
  EXPECT_EQ(logs->flushErrors<std::runtime_error>(), 1u);
}

TEST_P(CoreTest, HoldReleasedOnAnotherThread) {
  Events events;
  std::thread worker;
  reactor->addSystemEventTrigger(Phase::Before, "shutdown", [&](EventHold hold) {
    worker = std::thread([hold]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      hold.release();
    });
  });
  reactor->addSystemEventTrigger(Phase::After, "shutdown", [&] { events.push_back("after"); });
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor();
  worker.join();
  EXPECT_EQ(events, (Events{"after"}));
}

TEST_P(CoreTest, HoldOutlivingItsReactorIsHarmless) {
  EventHold kept;
  {
    Reactor other(GetParam());
    other.addSystemEventTrigger(Phase::Before, "custom", [&](EventHold hold) { kept = hold; });
    other.fireSystemEvent("custom");
  }
  kept.release();  // must not touch the destroyed reactor (ASan checks)
}

TEST_P(CoreTest, IterateDoesNotBlock) {
  DelayedCall t = reactor->callLater(5, [] {});
  auto start = std::chrono::steady_clock::now();
  reactor->iterate(0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  t.cancel();
}

TEST_P(CoreTest, IterateRunsDueCalls) {
  int n = 0;
  reactor->callLater(0, [&] { ++n; });
  reactor->iterate(0);
  EXPECT_EQ(n, 1);
}

TEST_P(CoreTest, CrashStopsWithoutShutdownTriggers) {
  Events events;
  reactor->addSystemEventTrigger(Phase::Before, "shutdown", [&] { events.push_back("before"); });
  reactor->callWhenRunning([&] { reactor->callLater(0, [&] { reactor->crash(); }); });
  runReactor();
  EXPECT_FALSE(reactor->running());
  EXPECT_TRUE(events.empty());
}

TEST_P(CoreTest, RunAfterCrash) {
  std::vector<std::pair<std::string, bool>> events;
  reactor->callWhenRunning([&] {
    events.emplace_back("crash", reactor->running());
    reactor->crash();
  });
  runReactor();
  reactor->callWhenRunning([&] {
    events.emplace_back("stop", reactor->running());
    reactor->stop();
  });
  runReactor();
  std::vector<std::pair<std::string, bool>> expected{{"crash", true}, {"stop", true}};
  EXPECT_EQ(events, expected);
}

TEST_P(CoreTest, RunAfterStopRestarts) {
  // Unlike Twisted (ReactorNotRestartable), a stopped reactor runs again,
  // firing startup and shutdown each time; callWhenRunning is one-shot.
  int startups = 0;
  int shutdowns = 0;
  int whenRunning = 0;
  reactor->addSystemEventTrigger(Phase::After, "startup", [&] { ++startups; });
  reactor->addSystemEventTrigger(Phase::After, "shutdown", [&] { ++shutdowns; });
  reactor->callWhenRunning([&] { ++whenRunning; });
  for (int i = 0; i < 3; ++i) {
    reactor->callLater(0, [&] { reactor->stop(); });
    runReactor();
  }
  EXPECT_EQ(startups, 3);
  EXPECT_EQ(shutdowns, 3);
  EXPECT_EQ(whenRunning, 1);
}

TEST_P(CoreTest, RemoveSystemEventTrigger) {
  Events events;
  TriggerId id =
      reactor->addSystemEventTrigger(Phase::During, "custom", [&] { events.push_back("removed"); });
  reactor->addSystemEventTrigger(Phase::During, "custom", [&] { events.push_back("kept"); });
  reactor->removeSystemEventTrigger(id);
  reactor->fireSystemEvent("custom");
  EXPECT_EQ(events, (Events{"kept"}));
  EXPECT_THROW(reactor->removeSystemEventTrigger(id), std::invalid_argument);
}

TEST_P(CoreTest, TriggerRemovedByEarlierTriggerDoesNotRun) {
  Events events;
  TriggerId second = 0;
  reactor->addSystemEventTrigger(Phase::Before, "custom", [&] {
    events.push_back("first");
    reactor->removeSystemEventTrigger(second);
  });
  second =
      reactor->addSystemEventTrigger(Phase::Before, "custom", [&] { events.push_back("second"); });
  reactor->fireSystemEvent("custom");
  EXPECT_EQ(events, (Events{"first"}));
}

TEST_P(CoreTest, TriggerAddedWhileFiringRunsInSamePhase) {
  Events events;
  reactor->addSystemEventTrigger(Phase::During, "custom", [&] {
    events.push_back("first");
    reactor->addSystemEventTrigger(Phase::During, "custom", [&] { events.push_back("added"); });
  });
  reactor->fireSystemEvent("custom");
  EXPECT_EQ(events, (Events{"first", "added"}));
}

TEST_P(CoreTest, ThrowingTriggerIsLoggedAndOthersRun) {
  Events events;
  reactor->addSystemEventTrigger(Phase::Before, "custom",
                                 [] { throw std::runtime_error("trigger failed"); });
  reactor->addSystemEventTrigger(Phase::Before, "custom", [&] { events.push_back("before"); });
  reactor->addSystemEventTrigger(Phase::After, "custom", [&] { events.push_back("after"); });
  reactor->fireSystemEvent("custom");
  EXPECT_EQ(events, (Events{"before", "after"}));
  EXPECT_EQ(logs->flushErrors<std::runtime_error>(), 1u);
}

TEST_P(CoreTest, ShutdownWithoutRunStopsThreadPool) {
  // Twisted's test_cleanUpThreadPoolEvenBeforeReactorIsRun: the pool's
  // threads are gone after "shutdown" fires, even if run() never ran.
  const int baseline = threadBaseline();
  ThreadPool& pool = reactor->getThreadPool();
  pool.start();
  std::atomic<bool> ran{false};
  pool.callInThread([&] { ran = true; });
  for (int i = 0; i < 1000 && !ran; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(ran);
  ASSERT_GT(countThreads(), baseline) << "the pool has a worker thread";
  reactor->fireSystemEvent("shutdown");
  EXPECT_EQ(waitForThreadCount(baseline), baseline) << "shutdown joined the pool's threads";
  EXPECT_FALSE(reactor->getThreadPool().started()) << "a new pool is made on demand";
}

TEST_P(CoreTest, ReactorsInSeveralThreadsRunIndependently) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<int> ticks(kThreads, 0);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([i, &ticks, backend = GetParam()] {
      Reactor r(backend);
      std::function<void()> tick = [&] {
        if (++ticks[i] == 20) {
          r.stop();
        } else {
          r.callLater(0.001, [&] { tick(); });
        }
      };
      r.callWhenRunning([&] { tick(); });
      r.run(false);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ticks, std::vector<int>(kThreads, 20));
}

TWISTED_ALL_BACKENDS(CoreTest);

}  // namespace
}  // namespace twisted::test

// SIGINT and SIGTERM stop a reactor that runs with signal handlers.
#include <signal.h>

#include <thread>

#include "reactor_test.hpp"

namespace twisted::test {
namespace {

class SignalsTest : public ReactorTest {};

TEST_P(SignalsTest, SigintAndSigtermStopCleanly) {
  for (int sig : {SIGINT, SIGTERM}) {
    std::vector<std::string> events;
    TriggerId before = reactor->addSystemEventTrigger(Phase::Before, "shutdown",
                                                      [&] { events.push_back("before"); });
    TriggerId after = reactor->addSystemEventTrigger(Phase::After, "shutdown",
                                                     [&] { events.push_back("after"); });
    reactor->callLater(0.01, [sig] { ::raise(sig); });
    runReactor(10, /*signals=*/true);
    EXPECT_EQ(reactor->exitSignal(), sig);
    EXPECT_EQ(events, (std::vector<std::string>{"before", "after"}));
    reactor->removeSystemEventTrigger(before);
    reactor->removeSystemEventTrigger(after);
  }
}

TEST_P(SignalsTest, SignalDuringIdleWaitWakesTheLoop) {
  // Nothing is scheduled after the signal: only the handler's write to the
  // eventfd can wake the sleeping loop.
  std::thread t;
  reactor->callWhenRunning([&] {
    t = std::thread([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ::kill(::getpid(), SIGTERM);
    });
  });
  runReactor(10, /*signals=*/true);
  t.join();
  EXPECT_EQ(reactor->exitSignal(), SIGTERM);
}

TEST_P(SignalsTest, OnlyOneReactorOwnsTheHandlers) {
  Reactor other(GetParam());
  bool otherRan = false;
  reactor->callWhenRunning([&] {
    // Run a second reactor with handlers inside this one's turn: it must
    // not take the handlers over.
    other.callWhenRunning([&] {
      otherRan = true;
      other.stop();
    });
    other.run(true);
    reactor->callLater(0, [] { ::raise(SIGINT); });
  });
  runReactor(10, /*signals=*/true);
  EXPECT_TRUE(otherRan);
  EXPECT_EQ(reactor->exitSignal(), SIGINT);
  struct sigaction sa {};
  ::sigaction(SIGINT, nullptr, &sa);
  EXPECT_EQ(sa.sa_handler, SIG_DFL) << "previous handler restored";
}

TWISTED_ALL_BACKENDS(SignalsTest);

}  // namespace
}  // namespace twisted::test

namespace twisted::test {
namespace {

// ReactorBaseSignalTests.test_exitSignalDefaultsToNone: no signal ended a
// run yet, and a run ended by stop() leaves none.
TEST_P(SignalsTest, ExitSignalIsEmptyUntilASignalStopsARun) {
  EXPECT_FALSE(reactor->exitSignal().has_value());
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor(60);
  EXPECT_FALSE(reactor->exitSignal().has_value());
}

}  // namespace
}  // namespace twisted::test

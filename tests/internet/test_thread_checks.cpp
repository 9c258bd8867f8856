// Thread affinity in debug builds: a reactor (while it runs), a Deferred and
// a DelayedCall used from a thread that does not own them abort with a
// message naming what was misused (twisted/python/thread_check.hpp).
#include <gtest/gtest.h>

#include <thread>

#include "twisted/internet/deferred.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/python/thread_check.hpp"

namespace twisted::test {
namespace {

class ThreadChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!detail::kThreadChecks) GTEST_SKIP() << "release build (NDEBUG): no thread checks";
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

// Runs `misuse` on another thread while a reactor runs on this one.
template <class F>
void fromAnotherThreadWhileRunning(F misuse) {
  Reactor reactor(Backend::Poll);
  reactor.callWhenRunning([&] {
    std::thread([&] { misuse(reactor); }).join();
    reactor.stop();
  });
  reactor.run(false);
}

TEST_F(ThreadChecksTest, CallLaterFromAnotherThreadWhileRunningAborts) {
  EXPECT_DEATH(fromAnotherThreadWhileRunning([](Reactor& r) { r.callLater(1, [] {}); }),
               "Reactor::callLater used from a thread that does not own it");
}

TEST_F(ThreadChecksTest, StopFromAnotherThreadWhileRunningAborts) {
  EXPECT_DEATH(fromAnotherThreadWhileRunning([](Reactor& r) { r.stop(); }),
               "Reactor::stop used from a thread");
}

TEST_F(ThreadChecksTest, CallFromThreadIsTheWayIn) {
  bool ran = false;
  fromAnotherThreadWhileRunning([&ran](Reactor& r) { r.callFromThread([&ran] { ran = true; }); });
  // It ran on the reactor's thread, on the turn before stop() took effect.
  EXPECT_TRUE(ran);
}

TEST_F(ThreadChecksTest, AReactorThatIsNotRunningMayBeHandedToAnotherThread) {
  Reactor reactor(Backend::Poll);
  std::thread([&] { reactor.callLater(0, [&] { reactor.stop(); }); }).join();
  reactor.run(false);
  SUCCEED();
}

TEST_F(ThreadChecksTest, ADeferredOfARunningLoopCopiedOnAnotherThreadAborts) {
  EXPECT_DEATH(
      {
        Reactor reactor(Backend::Poll);
        reactor.callWhenRunning([&] {
          Deferred<int> d;  // made by the loop: the loop's thread owns it
          std::thread([&d] { Deferred<int> copy = d; }).join();
          reactor.stop();
        });
        reactor.run(false);
      },
      "a Deferred used from a thread that does not own it");
}

TEST_F(ThreadChecksTest, ADeferredMadeBeforeRunMayBeFiredByAReactorOnAnotherThread) {
  Reactor reactor(Backend::Poll);
  Deferred<int> d;
  int got = 0;
  d.addCallback([&got](int v) { got = v; });
  reactor.callLater(0, [&] {
    d.callback(7);
    reactor.stop();
  });
  std::thread([&] { reactor.run(false); }).join();
  EXPECT_EQ(got, 7);
}

TEST_F(ThreadChecksTest, ADelayedCallCopiedOnAnotherThreadWhileItsReactorRunsAborts) {
  EXPECT_DEATH(
      {
        Reactor reactor(Backend::Poll);
        DelayedCall call = reactor.callLater(5, [] {});
        reactor.callWhenRunning([&] {
          std::thread([&call] { DelayedCall copy = call; }).join();
          reactor.stop();
        });
        reactor.run(false);
      },
      "a DelayedCall used from a thread that does not own it");
}

TEST_F(ThreadChecksTest, ADelayedCallCancelledOnAnotherThreadWhileItsReactorRunsAborts) {
  EXPECT_DEATH(
      {
        Reactor reactor(Backend::Poll);
        DelayedCall call = reactor.callLater(5, [] {});
        reactor.callWhenRunning([&] {
          std::thread([&call] { call.cancel(); }).join();
          reactor.stop();
        });
        reactor.run(false);
      },
      "a DelayedCall used from a thread that does not own it");
}

}  // namespace
}  // namespace twisted::test

// deferToThread: results come back on the reactor thread (run under TSan).
#include <atomic>
#include <thread>

#include "reactor_test.hpp"
#include "twisted/internet/defer.hpp"

namespace twisted::test {
namespace {

class DeferToThreadTest : public ReactorTest {};

TEST_P(DeferToThreadTest, ValueArrivesOnTheReactorThread) {
  std::thread::id reactorThread = std::this_thread::get_id();
  std::thread::id workerThread;
  std::thread::id callbackThread;
  int result = 0;
  reactor->callWhenRunning([&] {
    deferToThread(*reactor, [&] {
      workerThread = std::this_thread::get_id();
      return 6 * 7;
    }).addCallback([&](int v) {
      result = v;
      callbackThread = std::this_thread::get_id();
      reactor->stop();
    });
  });
  runReactor();
  EXPECT_EQ(result, 42);
  EXPECT_NE(workerThread, reactorThread);
  EXPECT_EQ(callbackThread, reactorThread);
}

TEST_P(DeferToThreadTest, ExceptionBecomesFailure) {
  std::string message;
  reactor->callWhenRunning([&] {
    deferToThread(*reactor, []() -> int {
      throw std::runtime_error("worker failed");
    }).addErrback([&](const Failure& f) {
      message = f.getErrorMessage();
      reactor->stop();
      return 0;
    });
  });
  runReactor();
  EXPECT_EQ(message, "worker failed");
}

TEST_P(DeferToThreadTest, ManyConcurrentCallsAndCoroutines) {
  constexpr int kCalls = 200;
  std::atomic<int> ran{0};
  int sum = 0;
  reactor->callWhenRunning([&] {
    std::vector<Deferred<int>> ds;
    for (int i = 0; i < kCalls; ++i) {
      ds.push_back(deferToThread(*reactor, [&ran, i] {
        ++ran;
        return i;
      }));
    }
    [](std::vector<Deferred<int>> all, int& total, Reactor& r) -> Deferred<void> {
      for (int v : co_await gatherResults(std::move(all))) total += v;
      r.stop();
    }(std::move(ds), sum, *reactor);
  });
  runReactor(30);
  EXPECT_EQ(ran.load(), kCalls);
  EXPECT_EQ(sum, kCalls * (kCalls - 1) / 2);
}

TEST_P(DeferToThreadTest, VoidFunctions) {
  std::atomic<bool> ran{false};
  reactor->callWhenRunning(
      [&] { deferToThread(*reactor, [&] { ran = true; }).addCallback([&] { reactor->stop(); }); });
  runReactor();
  EXPECT_TRUE(ran);
}

TWISTED_ALL_BACKENDS(DeferToThreadTest);

}  // namespace
}  // namespace twisted::test

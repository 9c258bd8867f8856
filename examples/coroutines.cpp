// Sequential asynchronous code with coroutines (Twisted's inlineCallbacks /
// async def + ensureDeferred), over a real reactor: timers, the thread pool,
// a timeout, and cancellation.
#include <chrono>
#include <iostream>
#include <thread>

#include "twisted/twisted.hpp"

using namespace twisted;

// Blocking work goes to the thread pool; the coroutine waits without blocking.
Deferred<long> slowSum(Reactor& reactor, long n) {
  co_return co_await deferToThread(reactor, [n] {
    long s = 0;
    for (long i = 0; i < n; ++i) s += i;
    return s;
  });
}

Deferred<void> program(Reactor& reactor) {
  std::cout << "sleeping 50 ms...\n";
  co_await task::deferLater(reactor, 0.05, [] {});

  long sum = co_await slowSum(reactor, 10'000'000);
  std::cout << "sum computed in a worker thread: " << sum << "\n";

  // A Deferred that never fires on its own, with a timeout.
  Deferred<int> never;
  try {
    co_await never.addTimeout(0.05, reactor);
  } catch (const error::TimeoutError& e) {
    std::cout << "timed out as expected: " << e.what() << "\n";
  }

  // Several at once.
  std::vector<Deferred<int>> tasks;
  for (int i = 1; i <= 3; ++i) {
    tasks.push_back(task::deferLater(reactor, 0.01 * i, [i] { return i * i; }));
  }
  for (int v : co_await gatherResults(std::move(tasks))) std::cout << "square " << v << "\n";
}

int main() {
  Reactor reactor;
  reactor.callWhenRunning([&] {
    program(reactor).addBoth([&](Outcome<void> o) {
      if (!o.succeeded()) std::cout << "program failed: " << o.failure().brief() << "\n";
      reactor.stop();
    });
  });
  reactor.run();
}

// Timers and threads: callLater, DelayedCall, callInThread and callFromThread.
#include <iostream>

#include "twisted/twisted.hpp"

int main() {
  twisted::Reactor reactor;
  int ticks = 0;
  std::function<void()> tick = [&] {
    std::cout << "tick " << ++ticks << " at " << reactor.seconds() << "\n";
    if (ticks < 3) reactor.callLater(0.1, [&] { tick(); });
  };
  reactor.callWhenRunning([&] { tick(); });

  // A timeout that never fires because it is cancelled first.
  twisted::DelayedCall timeout = reactor.callLater(10, [] { std::cout << "never\n"; });
  reactor.callLater(0.05, [&] { timeout.cancel(); });

  // Blocking work in the pool; the result comes back on the reactor thread.
  reactor.callInThread([&] {
    long sum = 0;
    for (long i = 0; i < 1000000; ++i) sum += i;
    reactor.callFromThread([&, sum] {
      std::cout << "sum from a worker thread: " << sum << "\n";
      reactor.callLater(0.3, [&] { reactor.stop(); });
    });
  });
  reactor.run();
  std::cout << "done\n";
}

// LoopingCall: a heartbeat every 100 ms, stopped after five beats.
#include <iostream>

#include "twisted/twisted.hpp"

int main() {
  twisted::Reactor reactor;
  int beats = 0;
  twisted::task::LoopingCall heartbeat(reactor, [&] { std::cout << "beat " << ++beats << "\n"; });
  reactor.callWhenRunning([&] {
    heartbeat.start(0.1).addCallback([&] {
      std::cout << "heartbeat stopped\n";
      reactor.stop();
    });
  });
  reactor.callLater(0.45, [&] { heartbeat.stop(); });
  reactor.run();
}

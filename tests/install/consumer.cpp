// Built outside the tree against an installed twisted-cpp.
#include <twisted/twisted.hpp>

#include <iostream>

int main() {
  twisted::Reactor reactor;
  int fired = 0;
  reactor.callLater(0.01, [&] {
    ++fired;
    reactor.stop();
  });
  reactor.run(false);
  std::cout << "consumer ran on " << twisted::backendName(reactor.backend()) << "\n";
  return fired == 1 ? 0 : 1;
}

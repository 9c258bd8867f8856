// Deferreds without a reactor: chains, errors, chaining, DeferredList.
// Each block prints what Twisted would print for the same code.
#include <iostream>
#include <string>

#include "twisted/twisted.hpp"

using namespace twisted;

int main() {
  // d.addCallback(f).addErrback(g); d.callback(x)
  Deferred<int> d;
  d.addCallback([](int n) { return "got " + std::to_string(n); })
      .addCallback([](const std::string& s) { std::cout << s << "\n"; })
      .addErrback([](const Failure& f) { std::cout << "failed: " << f.getErrorMessage() << "\n"; });
  d.callback(42);  // prints "got 42"

  // An exception in a callback goes to the next errback; an errback that
  // returns a value recovers.
  Deferred<int> risky;
  risky
      .addCallback([](int n) -> int {
        if (n < 0) throw std::invalid_argument("negative");
        return n;
      })
      .addErrback([](const Failure& f) {
        std::cout << "recovering from " << f.typeName() << "\n";
        return 0;
      })
      .addCallback([](int n) { std::cout << "value " << n << "\n"; });
  risky.callback(-1);

  // A callback returning a Deferred pauses the chain until it fires.
  Deferred<std::string> slow;
  Deferred<int> outer;
  outer.addCallback([&](int) { return slow; }).addCallback([](const std::string& s) {
    std::cout << "chained result: " << s << "\n";
  });
  outer.callback(1);  // nothing printed yet: waiting for `slow`
  slow.callback("later");

  // gatherResults: all values, or the first failure.
  Deferred<int> a, b;
  gatherResults<int>({a, b}).addCallback(
      [](std::vector<int> v) { std::cout << "gathered " << v[0] << " and " << v[1] << "\n"; });
  b.callback(2);
  a.callback(1);

  // Cancellation with a canceller.
  Deferred<int> cancellable([](Deferred<int>&) { std::cout << "canceller called\n"; });
  cancellable.addErrback([](const Failure& f) {
    std::cout << "cancelled: " << f.check<error::CancelledError>() << "\n";
    return 0;
  });
  cancellable.cancel();
}

// expect-error: none
// The forms the docs show compile cleanly (-Werror): chaining on the
// returned Deferred, same-type steps on separate lines, and a chain that
// ends in a callback returning nothing.
#include <string>

#include "twisted/internet/deferred.hpp"

int main() {
  twisted::Deferred<int> d;
  d.addCallback([](int n) { return n + 1; });
  d.addCallback([](int n) { return n * 2; });
  d.addErrback([](const twisted::Failure&) { return 0; });
  d.addCallback([](int n) { return std::to_string(n); })
      .addCallback([](const std::string& s) { (void)s; })
      .addErrback([](const twisted::Failure&) {});
  twisted::Deferred<int> e;
  e.addCallback([](int) {});
  e.addBoth([](twisted::Outcome<int>) {});
  d.callback(1);
}

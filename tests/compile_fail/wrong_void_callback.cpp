// expect-error: addCallback: the callback cannot be called with this Deferred's result type
// A Deferred<void>'s callbacks take nothing.
#include "twisted/internet/deferred.hpp"

int main() {
  twisted::Deferred<void> d;
  d.addCallback([](int n) { return n; });
}

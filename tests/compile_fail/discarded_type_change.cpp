// expect-error: changes the Deferred's result type
// Twisted's habit, `d.addCallback(f); d.addCallback(g)`, with an f that
// changes the type: the second call would throw "stale Deferred handle" at
// run time, so discarding the first call's Deferred is a diagnostic.
#include <string>

#include "twisted/internet/deferred.hpp"

int main() {
  twisted::Deferred<int> d;
  d.addCallback([](int n) { return std::to_string(n); });
  d.addCallback([](int) {});
}

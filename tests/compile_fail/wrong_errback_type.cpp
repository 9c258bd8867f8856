// expect-error: addErrback: the errback must return the Deferred's type T
// A logging errback that returns nothing cannot end a Deferred<int>'s
// failure path: it must recover with an int or pass a Failure on.
#include "twisted/internet/deferred.hpp"

int main() {
  twisted::Deferred<int> d;
  d.addErrback([](const twisted::Failure&) {});
}

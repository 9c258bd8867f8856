// expect-error: addBoth: the callable must take Outcome<T>
#include "twisted/internet/deferred.hpp"

int main() {
  twisted::Deferred<int> d;
  d.addBoth([](int n) { return n; });
}

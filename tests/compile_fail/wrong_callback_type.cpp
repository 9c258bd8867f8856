// expect-error: addCallback: the callback cannot be called with this Deferred's result type
// A callback of the wrong type: the first diagnostic is addCallback's own.
#include <string>

#include "twisted/internet/deferred.hpp"

int main() {
  twisted::Deferred<int> d;
  d.addCallback([](const std::string& s) { return s.size(); }).addCallback([](std::size_t) {});
}

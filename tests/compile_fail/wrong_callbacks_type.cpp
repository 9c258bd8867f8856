// expect-error: addCallbacks: the callback cannot be called with this Deferred's result type
#include <string>

#include "twisted/internet/deferred.hpp"

int main() {
  twisted::Deferred<int> d;
  d.addCallbacks([](const std::string&) {}, [](const twisted::Failure&) {});
}

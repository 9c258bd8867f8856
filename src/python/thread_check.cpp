// wrongThread (twisted/python/thread_check.hpp).
#include "twisted/python/thread_check.hpp"

#include <cstdio>
#include <cstdlib>

namespace twisted::detail {

void wrongThread(const char* what) {
  std::fprintf(stderr,
               "twisted: %s used from a thread that does not own it. A reactor, its "
               "Deferreds and DelayedCalls belong to the thread that runs it (or made "
               "them); from another thread, use reactor.callFromThread.\n",
               what);
  std::abort();
}

}  // namespace twisted::detail

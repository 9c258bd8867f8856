// Thread affinity, checked in debug builds: a reactor, a Deferred and a
// DelayedCall belong to one thread (their counts are not atomic), and a
// call from another thread aborts with a message naming what was misused,
// instead of corrupting them silently. Release builds (NDEBUG) check
// nothing; the owner is recorded either way, so both kinds of build share
// one layout.
#pragma once

#include <pthread.h>

namespace twisted::detail {

#ifdef NDEBUG
inline constexpr bool kThreadChecks = false;
#else
inline constexpr bool kThreadChecks = true;
#endif

/// Prints what was used from the wrong thread, and how to do it right, then
/// aborts.
[[noreturn, gnu::cold]] void wrongThread(const char* what);

/// In debug builds, aborts unless the calling thread is `owner`.
inline void checkThread(pthread_t owner, const char* what) {
  if constexpr (kThreadChecks) {
    if (!::pthread_equal(owner, ::pthread_self())) wrongThread(what);
  }
}

}  // namespace twisted::detail

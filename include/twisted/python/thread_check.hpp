// Thread affinity, checked in debug builds: a running reactor, its
// DelayedCalls and the Deferreds made by its loop belong to its thread
// (their counts are not atomic), and a call from another thread aborts with
// a message naming what was misused, instead of corrupting them silently.
// Release builds (NDEBUG) check nothing; the owner field exists either way,
// so both kinds of build share one layout. The checks follow NDEBUG where
// the inline functions are compiled: an application built without NDEBUG
// checks its own inline uses even against a release library.
#pragma once

#include <pthread.h>

namespace twisted::detail {

#ifdef NDEBUG
inline constexpr bool kThreadChecks = false;
#else
inline constexpr bool kThreadChecks = true;
#endif

/// True on a thread while it runs a reactor's loop (Reactor::run).
inline thread_local bool t_inReactorLoop = false;

/// The owner a new Deferred records: the calling thread if it runs a
/// reactor's loop (a Deferred made there belongs to that loop); otherwise
/// none, and the Deferred is not checked (one made before run() may be
/// fired by a reactor on another thread).
inline pthread_t loopOwner() {
  if constexpr (kThreadChecks) {
    if (t_inReactorLoop) return ::pthread_self();
  }
  return pthread_t{};
}

/// Prints what was used from the wrong thread, and how to do it right, then
/// aborts.
[[noreturn, gnu::cold]] void wrongThread(const char* what);

/// In debug builds, aborts unless the calling thread is `owner` (or there
/// is no owner: pthread_t{}).
inline void checkThread(pthread_t owner, const char* what) {
  if constexpr (kThreadChecks) {
    if (owner != pthread_t{} && !::pthread_equal(owner, ::pthread_self())) wrongThread(what);
  }
}

}  // namespace twisted::detail

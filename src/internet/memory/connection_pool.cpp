// The process's connection pool (twisted/internet/pool.hpp) and its fork
// safety.
//
// A pre-forked server forks at any moment, possibly while another thread is
// allocating, or is making the pool's first use. So the pool has no lazy
// construction that a fork could split (a child inherits a function-local
// static's guard held by a thread it does not have, and waits on it
// forever): it is constant-initialized, and its fork handlers are
// registered while the library is loaded, before main and its threads.
#include "connection_pool.hpp"

#include <pthread.h>

#include <cstdint>

#include "../sanitizers.hpp"
#include "thread_cache.hpp"

namespace twisted {

namespace {
#ifdef TWISTED_SANITIZED
constexpr bool kPooled = false;
#else
constexpr bool kPooled = true;
#endif

// Never destroyed: a transport may be released after static destructors
// have run (a protocol kept by a global).
union ProcessPool {
  detail::BlockPool pool;
  constexpr ProcessPool() : pool() {}
  ~ProcessPool() {}  // NOLINT(modernize-use-equals-default): must not destroy `pool`
};
constinit ProcessPool g_process;

// Held by the forking thread across fork(), so that neither side inherits
// it held by another thread; released in both.
void lockForFork() {
  g_process.pool.lockForFork();
}
void unlockAfterFork() {
  g_process.pool.unlockAfterFork();
}

[[gnu::constructor]] void registerForkHandlers() {
  ::pthread_atfork(lockForFork, unlockAfterFork, unlockAfterFork);
}

// Each thread's cache in front of the pool: constant-initialized and
// trivially destructible, so reaching it is one thread-local access with no
// guard. Its blocks go back to the pool when the thread ends (Drainer, made
// on the thread's first allocation); what is freed after that, by a later
// thread-local destructor or a static one, goes to the pool directly. A
// child of fork() has the forking thread's cache, whole (that thread was not
// inside the pool: the fork handlers hold its lock), and none of the
// others': their blocks are lost to the child, not corrupted.
enum class CacheState : std::uint8_t { New, Live, Ended };
struct ThreadState {
  detail::ThreadCache cache;
  CacheState state = CacheState::New;
};
constinit thread_local ThreadState t_thread;

struct Drainer {
  ~Drainer() {
    t_thread.cache.drain(g_process.pool);
    t_thread.state = CacheState::Ended;
  }
};

[[maybe_unused, gnu::cold, gnu::noinline]] void startCache() {  // unused when not pooled
  static thread_local Drainer drainer;
  (void)&drainer;
  t_thread.state = CacheState::Live;
}
}  // namespace

void* allocateConnectionMemory(std::size_t size, std::size_t align) {
  if constexpr (kPooled) {
    ThreadState& t = t_thread;
    if (t.state != CacheState::Live) [[unlikely]] {
      if (t.state == CacheState::Ended) return g_process.pool.allocate(size, align);
      startCache();
    }
    return t.cache.allocate(g_process.pool, size, align);
  } else {
    return ::operator new (size, std::align_val_t{align});
  }
}

void deallocateConnectionMemory(void* p, std::size_t size, std::size_t align) noexcept {
  if constexpr (kPooled) {
    ThreadState& t = t_thread;
    if (t.state != CacheState::Live) [[unlikely]] {
      // A thread that never allocated frees into its cache only once it
      // has one; until then, and after it ended, into the pool.
      g_process.pool.deallocate(p, size, align);
      return;
    }
    t.cache.deallocate(g_process.pool, p, size, align);
  } else {
    ::operator delete (p, std::align_val_t{align});
  }
}

bool connectionPoolEnabled() {
  return kPooled;
}

namespace detail {
const BlockPool& connectionPool() {
  return g_process.pool;
}
std::size_t connectionPoolCachedHere() {
  return t_thread.cache.cached();
}
}  // namespace detail

}  // namespace twisted

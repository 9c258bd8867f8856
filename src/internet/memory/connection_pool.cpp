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

#include "../sanitizers.hpp"

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
}  // namespace

void* allocateConnectionMemory(std::size_t size, std::size_t align) {
  if constexpr (kPooled) {
    return g_process.pool.allocate(size, align);
  } else {
    return ::operator new (size, std::align_val_t{align});
  }
}

void deallocateConnectionMemory(void* p, std::size_t size, std::size_t align) noexcept {
  if constexpr (kPooled) {
    g_process.pool.deallocate(p, size, align);
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
}  // namespace detail

}  // namespace twisted

// The process's connection pool, for the library's own objects: its
// BlockPool, and class-scope operator new in it for the loop's hot state.
#pragma once

#include <new>

#include "block_pool.hpp"
#include "twisted/internet/pool.hpp"

namespace twisted::detail {

/// The pool behind allocateConnectionMemory (for tests and diagnostics).
const BlockPool& connectionPool();
/// How many free blocks the calling thread's cache holds.
std::size_t connectionPoolCachedHere();

}  // namespace twisted::detail

/// Class-scope operator new and delete in the connection pool, for the
/// loop's own objects that every message touches. For a final class aligned
/// beyond operator new's default: new and delete of such a class (and the
/// delete after a constructor throws) use only the aligned forms.
#define TWISTED_POOLED_NEW(Type)                                             \
  static void* operator new(std::size_t, std::align_val_t) {                 \
    static_assert(alignof(Type) > __STDCPP_DEFAULT_NEW_ALIGNMENT__,          \
                  "only the aligned forms are declared");                    \
    return ::twisted::allocateConnectionMemory(sizeof(Type), alignof(Type)); \
  }                                                                          \
  static void operator delete(void* p, std::align_val_t) noexcept {          \
    ::twisted::deallocateConnectionMemory(p, sizeof(Type), alignof(Type));   \
  }

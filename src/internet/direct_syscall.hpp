// The three system calls of every turn of a busy loop (epoll_wait, read,
// send), issued with the `syscall` instruction rather than through libc.
//
// Why: when the loop wakes after other work has run on its core, each page
// and cache line it touches is a miss, and these misses, not instructions,
// are the gap to a raw epoll loop (docs/performance.md). libc's three
// wrappers live on three pages of libc's code, read a flag on a fourth (for
// thread cancellation, which a reactor does not use) and are reached
// through three GOT entries. Issued directly, they cost the instruction.
//
// Sanitizer builds keep libc's functions: ASan checks the buffers and TSan
// derives happens-before from them. Other architectures do too.
// Results follow libc's: -1 with errno set on failure.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "sanitizers.hpp"

#if (defined(__x86_64__) || defined(__aarch64__)) && !defined(TWISTED_SANITIZED)
#define TWISTED_DIRECT_SYSCALLS 1
#else
#define TWISTED_DIRECT_SYSCALLS 0
#endif

namespace twisted::detail::sys {

#if TWISTED_DIRECT_SYSCALLS
[[gnu::always_inline]] inline long call6(long nr, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
  long ret;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
#else
  register long x8 asm("x8") = nr;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  register long x2 asm("x2") = c;
  register long x3 asm("x3") = d;
  register long x4 asm("x4") = e;
  register long x5 asm("x5") = f;
  asm volatile("svc 0"
               : "+r"(x0)
               : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
               : "memory");
  return x0;
#endif
}

// The kernel returns -errno; libc's convention is -1 and errno.
[[gnu::always_inline]] inline long result(long r) {
  if (r < 0 && r > -4096) [[unlikely]] {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}
#endif

/// read(2).
[[gnu::always_inline]] inline ssize_t read(int fd, void* buf, std::size_t n) {
#if TWISTED_DIRECT_SYSCALLS
  return result(call6(SYS_read, fd, reinterpret_cast<long>(buf), static_cast<long>(n), 0, 0, 0));
#else
  return ::read(fd, buf, n);
#endif
}

/// send(2), as sendto with no address.
[[gnu::always_inline]] inline ssize_t send(int fd, const void* buf, std::size_t n, int flags) {
#if TWISTED_DIRECT_SYSCALLS
  return result(
      call6(SYS_sendto, fd, reinterpret_cast<long>(buf), static_cast<long>(n), flags, 0, 0));
#else
  return ::send(fd, buf, n, flags);
#endif
}

/// epoll_wait(2); epoll_pwait with no mask where there is no epoll_wait.
[[gnu::always_inline]] inline int epollWait(int epfd, epoll_event* events, int max, int timeoutMs) {
#if TWISTED_DIRECT_SYSCALLS && defined(SYS_epoll_wait)
  return static_cast<int>(
      result(call6(SYS_epoll_wait, epfd, reinterpret_cast<long>(events), max, timeoutMs, 0, 0)));
#elif TWISTED_DIRECT_SYSCALLS
  return static_cast<int>(result(
      call6(SYS_epoll_pwait, epfd, reinterpret_cast<long>(events), max, timeoutMs, 0, _NSIG / 8)));
#else
  return ::epoll_wait(epfd, events, max, timeoutMs);
#endif
}

}  // namespace twisted::detail::sys

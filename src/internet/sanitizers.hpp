// TWISTED_SANITIZED: defined in ASan, TSan and MSan builds, where the
// library takes the plain path that the sanitizers can see (libc's system
// call wrappers, operator new instead of the connection pool).
// TWISTED_TSAN: 1 in ThreadSanitizer builds, else 0.
#pragma once

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define TWISTED_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TWISTED_SANITIZED 1
#endif

#if defined(__SANITIZE_THREAD__)
#define TWISTED_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TWISTED_TSAN 1
#endif
#endif
#ifndef TWISTED_TSAN
#define TWISTED_TSAN 0
#endif

// TWISTED_SANITIZED: defined in ASan, TSan and MSan builds, where the
// library takes the plain path that the sanitizers can see (libc's system
// call wrappers, operator new instead of the connection pool).
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

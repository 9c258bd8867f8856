// OpenSSL's error queue, read into the typed errors of twisted/tls/error.hpp.
//
// The queue is thread-local and shared by every connection of a thread, so
// the engine clears it before each SSL_* call (clearErrors) and reads it
// right after one fails (drainErrors): one connection's error can never
// surface on another.
#pragma once

#include <string>

namespace twisted::tls::detail {

/// Empties this thread's OpenSSL error queue.
void clearErrors() noexcept;

/// Empties the queue and returns its entries, "; "-separated (OpenSSL's
/// own text, e.g. "error:0A00010B:SSL routines::wrong version number"),
/// or `fallback` if it was empty.
std::string drainErrors(const char* fallback = "no reason given by OpenSSL");

/// Throws E(what + ": " + drainErrors()).
template <class E>
[[noreturn]] void throwWithErrors(const std::string& what) {
  throw E(what + ": " + drainErrors());
}

}  // namespace twisted::tls::detail

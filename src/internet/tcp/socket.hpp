// Small socket helpers shared by the TCP files. Not installed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "twisted/internet/address.hpp"
#include "twisted/python/failure.hpp"

namespace twisted::tcp::detail {

/// strerror(err), thread-safe.
std::string errnoText(int err);
/// A new non-blocking, close-on-exec stream socket. @throws std::system_error
int makeSocket(int family);
/// The failure for a connect() error number, as Twisted's getConnectError
/// (ECONNREFUSED -> ConnectionRefusedError, ETIMEDOUT -> TCPTimedOutError,
/// ENETUNREACH/EHOSTUNREACH -> NoRouteError, else ConnectError).
Failure connectError(int err, const std::string& where);
/// getsockname / getpeername as Address; nullopt if the call fails.
std::optional<Address> localAddress(int fd);
std::optional<Address> remoteAddress(int fd);
/// An IP literal ("127.0.0.1", "::1", "fe80::1%lo") with a port; nullopt if
/// `host` is not a literal.
std::optional<Address> literalAddress(std::string_view host, int port);
/// "host:port" ("[::1]:80" for IPv6), for messages.
std::string describe(std::string_view host, int port);

/// A descriptor kept open to be released when the process runs out of
/// descriptors, so that a listening port can accept and close the
/// connections waiting in its backlog instead of spinning on EMFILE
/// (Twisted's and libuv's trick). Process-wide and thread-safe; open while
/// at least one port listens.
class ReservedFd {
 public:
  /// A port starts listening: opens the reserve for the first one.
  static void addUser();
  /// A port stops: closes the reserve after the last one.
  static void removeUser();
  /// Closes the reserve; false if it was not open (or another thread holds it).
  static bool release();
  /// Reopens it after release() (or after a reopen that failed: still out
  /// of descriptors); does nothing while it is open or no port listens.
  static void restore();
  /// The reserve's descriptor, -1 when it is not open (for tests).
  static int descriptor();
};

}  // namespace twisted::tcp::detail

// Small socket helpers shared by the TCP files. Not installed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "../errno_text.hpp"
#include "twisted/internet/address.hpp"
#include "twisted/python/failure.hpp"

namespace twisted::tcp::detail {

using twisted::detail::errnoText;
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

}  // namespace twisted::tcp::detail

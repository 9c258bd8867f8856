// Socket addresses as values, as twisted.internet.address.
//
// What getHost()/getPeer() return and what Factory::buildProtocol receives:
// an IPv4Address, IPv6Address or UNIXAddress, held together as Address.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace twisted {

/// "TCP" or "UDP", as in Twisted.
enum class Transport { TCP, UDP };

/// An IPv4 socket endpoint (Twisted's IPv4Address).
struct IPv4Address {
  Transport type = Transport::TCP;  ///< The socket's protocol, TCP or UDP.
  std::string host;                 ///< The host as a dotted quad, e.g. "127.0.0.1".
  std::uint16_t port = 0;           ///< The port number, in host byte order.
  /// True if type, host and port are all equal.
  friend bool operator==(const IPv4Address&, const IPv4Address&) = default;
};

/// An IPv6 socket endpoint (Twisted's IPv6Address). `scopeID` is the
/// interface index for link-local addresses (0 otherwise).
struct IPv6Address {
  Transport type = Transport::TCP;  ///< The socket's protocol, TCP or UDP.
  std::string host;                 ///< The host in IPv6 text form, e.g. "::1".
  std::uint16_t port = 0;           ///< The port number, in host byte order.
  std::uint32_t flowInfo = 0;       ///< The IPv6 flow information, in host byte order.
  std::uint32_t scopeID = 0;        ///< The interface index of a link-local host, else 0.
  /// True if all five fields are equal.
  friend bool operator==(const IPv6Address&, const IPv6Address&) = default;
};

/// A UNIX socket endpoint (Twisted's UNIXAddress); `name` is empty for an
/// unnamed socket and starts with '\0' for an abstract one (Linux).
struct UNIXAddress {
  std::string name;  ///< The socket's path, or abstract name with its leading '\0'.
  /// True if the names are equal.
  friend bool operator==(const UNIXAddress&, const UNIXAddress&) = default;
};

/// The address of a transport over pipes (Twisted's PipeAddress): both
/// ends of StandardIO, and of a child process's stdin and stdout
/// (ProcessEndpoint). It has no parts.
struct PipeAddress {
  /// Always true: there is one such address.
  friend bool operator==(const PipeAddress&, const PipeAddress&) = default;
};

/// Any address a transport reports (getHost, getPeer) or buildProtocol gets.
using Address = std::variant<IPv4Address, IPv6Address, UNIXAddress, PipeAddress>;

/// Twisted's repr: "IPv4Address(type='TCP', host='127.0.0.1', port=8000)".
std::string toString(const Address& address);

/// True if `text` is a dotted-quad IPv4 address (Twisted's isIPAddress).
bool isIPAddress(std::string_view text);
/// True if `text` is an IPv6 address, with or without a "%scope" suffix
/// (Twisted's isIPv6Address).
bool isIPv6Address(std::string_view text);

/// A sockaddr big enough for any of the three, with its length.
struct SocketAddress {
  sockaddr_storage storage{};  ///< The raw address, of any family.
  socklen_t length = 0;        ///< How many bytes of `storage` are in use.
  /// Returns `storage` as the sockaddr pointer the socket calls take.
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  /// Returns `storage` as a writable sockaddr pointer (for accept, getsockname).
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

/// The sockaddr for `address`. @throws std::invalid_argument if the host is
/// not a numeric address of its family (resolve names first), or a UNIX
/// path is too long.
SocketAddress toSocketAddress(const Address& address);

/// The Address for a sockaddr the kernel gave (accept, getsockname,
/// getpeername, recvfrom). @throws std::invalid_argument for other families.
Address fromSocketAddress(const sockaddr* sa, socklen_t length, Transport type = Transport::TCP);

}  // namespace twisted

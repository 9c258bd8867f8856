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
  Transport type = Transport::TCP;
  std::string host;  // dotted quad, e.g. "127.0.0.1"
  std::uint16_t port = 0;
  friend bool operator==(const IPv4Address&, const IPv4Address&) = default;
};

/// An IPv6 socket endpoint (Twisted's IPv6Address). `scopeID` is the
/// interface index for link-local addresses (0 otherwise).
struct IPv6Address {
  Transport type = Transport::TCP;
  std::string host;  // e.g. "::1"
  std::uint16_t port = 0;
  std::uint32_t flowInfo = 0;
  std::uint32_t scopeID = 0;
  friend bool operator==(const IPv6Address&, const IPv6Address&) = default;
};

/// A UNIX socket endpoint (Twisted's UNIXAddress); `name` is empty for an
/// unnamed socket and starts with '\0' for an abstract one (Linux).
struct UNIXAddress {
  std::string name;
  friend bool operator==(const UNIXAddress&, const UNIXAddress&) = default;
};

using Address = std::variant<IPv4Address, IPv6Address, UNIXAddress>;

/// Twisted's repr: "IPv4Address(type='TCP', host='127.0.0.1', port=8000)".
std::string toString(const Address& address);

/// True if `text` is a dotted-quad IPv4 address (Twisted's isIPAddress).
bool isIPAddress(std::string_view text);
/// True if `text` is an IPv6 address, with or without a "%scope" suffix
/// (Twisted's isIPv6Address).
bool isIPv6Address(std::string_view text);

/// A sockaddr big enough for any of the three, with its length.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
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

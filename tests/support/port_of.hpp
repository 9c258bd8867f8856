// The port number of an address or a listening port, for tests of every
// kind of socket.
#pragma once

#include "twisted/internet/address.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted::test {

/// The port number of an IPv4 or IPv6 address (-1 for any other).
inline int portOf(const Address& a) {
  if (auto* v4 = std::get_if<IPv4Address>(&a)) return v4->port;
  if (auto* v6 = std::get_if<IPv6Address>(&a)) return v6->port;
  return -1;
}

/// The port number a listening port is bound to.
inline int portOf(const IListeningPort& port) {
  return portOf(port.getHost());
}

}  // namespace twisted::test

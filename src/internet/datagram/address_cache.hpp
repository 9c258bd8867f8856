// AddressCache: the last few peers of a datagram port, as both a sockaddr
// and an Address, so that a busy port does not format (inet_ntop) every
// sender's address, nor parse (inet_pton) every reply's. Internal.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "twisted/internet/address.hpp"

namespace twisted::detail {

class AddressCache {
 public:
  /// The Address for a sockaddr the kernel gave (recvmmsg).
  const Address& fromSockaddr(const sockaddr* sa, socklen_t length, Transport type) {
    last_ = slot(sa, length);
    Entry& e = entries_[last_];
    if (!e.valid || e.sa.length != length || std::memcmp(&e.sa.storage, sa, length) != 0) {
      e.address = fromSocketAddress(sa, length, type);
      std::memcpy(&e.sa.storage, sa, length);
      e.sa.length = length;
      e.valid = true;
    }
    return e.address;
  }

  /// The sockaddr for `address` (a reply to a recent sender is found
  /// without parsing); valid until the next call. @throws std::invalid_argument as toSocketAddress.
  const SocketAddress& toSockaddr(const Address& address) {
    // Most often a reply to the datagram just delivered.
    if (entries_[last_].valid && entries_[last_].address == address) return entries_[last_].sa;
    for (Entry& e : entries_) {
      if (e.valid && e.address == address) return e.sa;
    }
    // Not kept: a sender's entry may be what datagramReceived was given.
    miss_ = toSocketAddress(address);
    return miss_;
  }

 private:
  static constexpr std::size_t kSize = 16;
  struct Entry {
    SocketAddress sa;
    Address address;
    bool valid = false;
  };

  static std::size_t slot(const sockaddr* sa, socklen_t length) {
    // FNV-1a over the bytes that name the peer (family, port, address).
    const auto* p = reinterpret_cast<const unsigned char*>(sa);
    std::uint32_t h = 2166136261u;
    for (socklen_t i = 0; i < length && i < 28; ++i) h = (h ^ p[i]) * 16777619u;
    return h % kSize;
  }

  std::array<Entry, kSize> entries_{};
  SocketAddress miss_;
  std::size_t last_ = 0;
};

}  // namespace twisted::detail

// AddressCache: the recent peers of a datagram port, as both a sockaddr
// and an Address, so that a busy port does not format (inet_ntop) every
// sender's address, nor parse (inet_pton) every reply's. Internal.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "twisted/internet/address.hpp"

namespace twisted::detail {

class AddressCache {
 public:
  /// The Address for a sockaddr the kernel gave (recvmmsg); valid until
  /// the next call.
  const Address& fromSockaddr(const sockaddr* sa, socklen_t length, Transport type) {
    // An IPv4 sender seen before, inline: a set's tags are adjacent.
    if (table_ && length == sizeof(sockaddr_in) && sa->sa_family == AF_INET) {
      Tag key = exactIPv4(sa);
      if (key.length != 0) {
        std::size_t first = setOf(key.key) * kWays;
        for (std::size_t i = first; i < first + kWays; ++i) {
          if (table_->tags[i] == key) {
            last_ = &table_->entries[i];
            return last_->address;
          }
        }
      }
    }
    return find(sa, length, type);
  }

  /// The sockaddr of `address` if it is the Address fromSockaddr handed
  /// out last (a reply to the sender being delivered); else nullptr. Only
  /// the last: another entry may have been given to another peer since,
  /// or freed by a growth (an Address kept past its call is a copy's job).
  const SocketAddress* handedOut(const Address& address) const {
    if (last_ && &address == &last_->address) return &last_->sa;
    return nullptr;
  }

  /// The sockaddr for `address` (a reply to a recent sender is found
  /// without parsing); valid until the next call. @throws std::invalid_argument as toSocketAddress.
  const SocketAddress& toSockaddr(const Address& address) {
    if (const SocketAddress* sa = handedOut(address)) return *sa;
    // A copy of the last sender's.
    if (last_ && last_->address == address) return last_->sa;
    // Not kept: a sender's entry may be what datagramReceived was given.
    miss_ = toSocketAddress(address);
    return miss_;
  }

 private:
  /// Ways per set, and how many sets the table may grow to: room for
  /// 256 peers, of ~200 bytes each.
  static constexpr std::size_t kWays = 4;
  static constexpr std::size_t kMinSets = 4;
  static constexpr std::size_t kMaxSets = 64;

  /// What a set is searched by: for an IPv4 sockaddr (whose padding is
  /// zero, as the kernel gives it) its first 8 bytes, exactly; for others
  /// a hash, which the entry's bytes then confirm.
  struct Tag {
    std::uint64_t key = 0;
    socklen_t length = 0;  // 0: empty; kExact set: `key` is the sockaddr
    static constexpr socklen_t kExact = 1u << 31;
    bool exact() const { return (length & kExact) != 0; }
    friend bool operator==(const Tag&, const Tag&) = default;
  };
  struct Entry {
    SocketAddress sa;
    Address address;
  };
  struct Table {
    explicit Table(std::size_t n)
        : sets(n),
          shift(64 - std::countr_zero(n)),
          tags(new Tag[n * kWays]),
          entries(new Entry[n * kWays]),
          next(new std::uint8_t[n]()) {}
    std::size_t sets;  // a power of two
    int shift;
    std::unique_ptr<Tag[]> tags;
    std::unique_ptr<Entry[]> entries;
    std::unique_ptr<std::uint8_t[]> next;  // per set: the way to replace next
    std::size_t evictions = 0;
  };

  /// An IPv4 sockaddr's exact tag; length 0 if its padding is not zero.
  static Tag exactIPv4(const sockaddr* sa) {
    std::uint64_t head, padding;
    std::memcpy(&head, sa, 8);
    std::memcpy(&padding, reinterpret_cast<const char*>(sa) + 8, 8);
    if (padding != 0) return {};
    return {head, static_cast<socklen_t>(sizeof(sockaddr_in)) | Tag::kExact};
  }
  static Tag tagOf(const sockaddr* sa, socklen_t length) {
    if (length == sizeof(sockaddr_in) && sa->sa_family == AF_INET) {
      if (Tag key = exactIPv4(sa); key.length != 0) return key;
    }
    // FNV-1a over the bytes that name the peer (family, port, address).
    const auto* p = reinterpret_cast<const unsigned char*>(sa);
    std::uint64_t h = 14695981039346656037u;
    // (All of a UNIX name: paths that share a prefix must not share a set.)
    socklen_t hashed = sa->sa_family == AF_UNIX ? length : std::min<socklen_t>(length, 28);
    for (socklen_t i = 0; i < hashed; ++i) h = (h ^ p[i]) * 1099511628211u;
    return {h, length};
  }
  std::size_t setOf(std::uint64_t key) const {
    // Fibonacci hashing: the product's top bits depend on every bit of
    // the key (port and address).
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15u) >> table_->shift);
  }

  /// fromSockaddr for what its inline part does not find.
  [[gnu::noinline]] const Address& find(const sockaddr* sa, socklen_t length, Transport type) {
    Tag key = tagOf(sa, length);
    if (!table_) grow();
    std::size_t first = setOf(key.key) * kWays;
    for (std::size_t i = first; i < first + kWays; ++i) {
      if (table_->tags[i] == key &&
          (key.exact() || std::memcmp(&table_->entries[i].sa.storage, sa, length) == 0)) {
        last_ = &table_->entries[i];
        return last_->address;
      }
    }
    last_ = &replace(first, key, sa, length, type);
    return last_->address;
  }

  Entry& replace(std::size_t first, Tag key, const sockaddr* sa, socklen_t length, Transport type) {
    std::size_t set = first / kWays;
    std::size_t way = table_->next[set];
    Entry* e = &table_->entries[first + way];
    if (table_->tags[first + way].length != 0 && ++table_->evictions >= table_->sets * kWays &&
        table_->sets < kMaxSets) {
      // The peers outnumber the table (it turned over once): a larger one.
      grow();
      first = setOf(key.key) * kWays;
      set = first / kWays;
      way = 0;
      e = &table_->entries[first];
    }
    // The Address first: an unsupported family throws before the tag says
    // the entry is this peer's.
    if (key.exact()) {
      setIPv4(e->address, reinterpret_cast<const sockaddr_in*>(sa), type);
    } else {
      e->address = fromSocketAddress(sa, length, type);
    }
    std::memcpy(&e->sa.storage, sa, length);
    e->sa.length = length;
    table_->tags[first + way] = key;
    table_->next[set] = static_cast<std::uint8_t>((way + 1) % kWays);
    return *e;
  }

  void grow() {
    last_ = nullptr;
    table_ = std::make_unique<Table>(table_ ? table_->sets * 2 : kMinSets);
  }

  /// fromSocketAddress for IPv4, in place (the host fits the string's own
  /// buffer) and without inet_ntop's printf.
  static void setIPv4(Address& out, const sockaddr_in* sin, Transport type) {
    char text[16];
    char* p = text;
    const auto* b = reinterpret_cast<const unsigned char*>(&sin->sin_addr);
    for (int i = 0; i < 4; ++i) {
      unsigned v = b[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
      if (i < 3) *p++ = '.';
    }
    auto* v4 = std::get_if<IPv4Address>(&out);
    if (!v4) v4 = &out.emplace<IPv4Address>();
    v4->type = type;
    v4->host.assign(text, static_cast<std::size_t>(p - text));
    v4->port = ntohs(sin->sin_port);
  }

  std::unique_ptr<Table> table_;
  const Entry* last_ = nullptr;
  SocketAddress miss_;
};

}  // namespace twisted::detail

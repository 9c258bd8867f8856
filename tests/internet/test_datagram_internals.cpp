// The datagram port's two containers, alone: the send queue (a ring of
// reused slots) keeps order across growth and wrap-around; the address
// cache names each sender as fromSocketAddress would, however many there
// are, and gives a reply's sockaddr without parsing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "internet/datagram/address_cache.hpp"
#include "internet/datagram/send_queue.hpp"

namespace twisted::test {
namespace {

using detail::AddressCache;
using detail::SendQueue;

std::vector<std::string> drain(SendQueue& q) {
  std::vector<std::string> out;
  while (!q.empty()) {
    out.emplace_back(q.front().view());
    q.pop_front();
  }
  return out;
}

TEST(SendQueue, KeepsOrderAcrossWrapAroundAndGrowth) {
  SendQueue q;
  std::string borrowedBytes = "borrowed";
  int next = 0, expect = 0;
  std::vector<std::string> got;
  // Push and pop unevenly so that the oldest is mid-ring when it grows.
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 7 * (round + 1); ++i) q.push_back(std::to_string(next++), nullptr, false);
    for (int i = 0; i < 5 * (round + 1) && !q.empty(); ++i) {
      EXPECT_EQ(q.front().view(), std::to_string(expect++));
      q.pop_front();
    }
  }
  for (std::size_t i = 0; i < q.size(); ++i) EXPECT_EQ(q[i].view(), std::to_string(expect + i));
  q.push_back(borrowedBytes, nullptr, true);
  EXPECT_EQ(q[q.size() - 1].view().data(), borrowedBytes.data());  // not copied
  std::vector<std::string> rest = drain(q);
  ASSERT_EQ(rest.size(), static_cast<std::size_t>(next - expect) + 1);
  EXPECT_EQ(rest.back(), "borrowed");
}

TEST(SendQueue, KeepsTheDestinationsUsedBytes) {
  SendQueue q;
  SocketAddress to = toSocketAddress(IPv6Address{Transport::UDP, "::1", 53});
  q.push_back("x", &to, false);
  q.push_back("y", nullptr, false);
  EXPECT_TRUE(q[0].hasTo);
  EXPECT_EQ(q[0].to.length, to.length);
  EXPECT_EQ(std::memcmp(&q[0].to.storage, &to.storage, to.length), 0);
  EXPECT_FALSE(q[1].hasTo);
  q.pop_front(2);
  EXPECT_TRUE(q.empty());
  // A reused slot holds what it is given now, not what it held.
  q.push_back("z", nullptr, false);
  EXPECT_FALSE(q.front().hasTo);
  EXPECT_EQ(q.front().view(), "z");
}

SocketAddress ipv4(std::uint32_t host, std::uint16_t port) {
  SocketAddress sa;
  auto* sin = reinterpret_cast<sockaddr_in*>(&sa.storage);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  sin->sin_addr.s_addr = htonl(host);
  sa.length = sizeof(sockaddr_in);
  return sa;
}

TEST(AddressCache, NamesEverySenderAsFromSocketAddressDoes) {
  AddressCache cache;
  // More senders than the table can grow to, twice over, with addresses
  // that need every digit count.
  std::vector<SocketAddress> senders;
  for (std::uint32_t i = 0; i < 600; ++i) {
    senders.push_back(ipv4(0x0A000000u | (i * 2654435761u >> 8), static_cast<std::uint16_t>(i)));
  }
  senders.push_back(ipv4(0, 0));
  senders.push_back(ipv4(0xFFFFFFFFu, 65535));
  for (int pass = 0; pass < 2; ++pass) {
    for (const SocketAddress& sa : senders) {
      const Address& a = cache.fromSockaddr(sa.get(), sa.length, Transport::UDP);
      ASSERT_EQ(a, fromSocketAddress(sa.get(), sa.length, Transport::UDP));
      // The very Address handed out: its sockaddr, without parsing.
      const SocketAddress* back = cache.handedOut(a);
      ASSERT_NE(back, nullptr);
      ASSERT_EQ(back->length, sa.length);
      ASSERT_EQ(std::memcmp(&back->storage, &sa.storage, sa.length), 0);
    }
  }
  // A few recent ones, again: found (the same entry, not a new one made
  // equal), and still right.
  for (std::size_t i = senders.size() - 8; i < senders.size(); ++i) {
    const SocketAddress& sa = senders[i];
    const Address& first = cache.fromSockaddr(sa.get(), sa.length, Transport::UDP);
    const Address& again = cache.fromSockaddr(sa.get(), sa.length, Transport::UDP);
    EXPECT_EQ(&first, &again);
    EXPECT_EQ(again, fromSocketAddress(sa.get(), sa.length, Transport::UDP));
  }
  // Only the Address handed out last is known by identity: an earlier one
  // may since name another peer.
  const SocketAddress& a = senders[0];
  const SocketAddress& b = senders[1];
  const Address& fromA = cache.fromSockaddr(a.get(), a.length, Transport::UDP);
  cache.fromSockaddr(b.get(), b.length, Transport::UDP);
  EXPECT_EQ(cache.handedOut(fromA), nullptr);
}

// UNIX senders whose paths share a long prefix are told apart by all of
// their name (more of them than a set holds, each found again).
TEST(AddressCache, UNIXNamesWithACommonPrefixAreEachFound) {
  AddressCache cache;
  std::vector<std::pair<sockaddr_un, socklen_t>> names;
  for (int i = 0; i < 12; ++i) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::string path = "/run/user/1000/application/client-" + std::to_string(i);
    std::strcpy(un.sun_path, path.c_str());
    names.emplace_back(un,
                       static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1));
  }
  for (auto& [un, length] : names) {
    cache.fromSockaddr(reinterpret_cast<const sockaddr*>(&un), length, Transport::UDP);
  }
  for (auto& [un, length] : names) {
    const Address& first =
        cache.fromSockaddr(reinterpret_cast<const sockaddr*>(&un), length, Transport::UDP);
    const Address& again =
        cache.fromSockaddr(reinterpret_cast<const sockaddr*>(&un), length, Transport::UDP);
    EXPECT_EQ(&first, &again);
    EXPECT_EQ(first, Address(UNIXAddress{un.sun_path}));
  }
}

TEST(AddressCache, ACopyOrAnotherAddressIsParsed) {
  AddressCache cache;
  SocketAddress sa = ipv4(0x7F000001u, 4000);
  Address copy = cache.fromSockaddr(sa.get(), sa.length, Transport::UDP);
  EXPECT_EQ(cache.handedOut(copy), nullptr);
  const SocketAddress& same = cache.toSockaddr(copy);
  EXPECT_EQ(std::memcmp(&same.storage, &sa.storage, sa.length), 0);
  Address other = IPv4Address{Transport::UDP, "10.1.2.3", 7};
  SocketAddress expected = toSocketAddress(other);
  const SocketAddress& parsed = cache.toSockaddr(other);
  EXPECT_EQ(parsed.length, expected.length);
  EXPECT_EQ(std::memcmp(&parsed.storage, &expected.storage, expected.length), 0);
  EXPECT_THROW(cache.toSockaddr(IPv4Address{Transport::UDP, "not.an.address", 7}),
               std::invalid_argument);
}

TEST(AddressCache, OtherFamiliesAndOddSockaddrs) {
  AddressCache cache;
  SocketAddress v6 = toSocketAddress(IPv6Address{Transport::UDP, "fe80::1", 53, 0, 2});
  SocketAddress v4 = ipv4(0x7F000001u, 4000);
  // IPv4 with padding that is not zero: looked up by its bytes, not cut.
  SocketAddress padded = v4;
  reinterpret_cast<sockaddr_in*>(&padded.storage)->sin_zero[3] = 1;
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, "/tmp/some.sock");
  auto unLength = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 15);
  for (int pass = 0; pass < 2; ++pass) {
    EXPECT_EQ(cache.fromSockaddr(v6.get(), v6.length, Transport::UDP),
              fromSocketAddress(v6.get(), v6.length, Transport::UDP));
    EXPECT_EQ(cache.fromSockaddr(v4.get(), v4.length, Transport::UDP),
              fromSocketAddress(v4.get(), v4.length, Transport::UDP));
    EXPECT_EQ(cache.fromSockaddr(padded.get(), padded.length, Transport::UDP),
              fromSocketAddress(padded.get(), padded.length, Transport::UDP));
    const Address& local =
        cache.fromSockaddr(reinterpret_cast<const sockaddr*>(&un), unLength, Transport::UDP);
    EXPECT_EQ(local, Address(UNIXAddress{"/tmp/some.sock"}));
    const SocketAddress& back = cache.toSockaddr(local);
    EXPECT_EQ(back.length, unLength);
  }
  // An unsupported family throws and leaves the cache as it was: the
  // entry known before is the same entry after.
  const Address& before = cache.fromSockaddr(v4.get(), v4.length, Transport::UDP);
  sockaddr odd{};
  odd.sa_family = AF_APPLETALK;
  EXPECT_THROW(cache.fromSockaddr(&odd, sizeof odd, Transport::UDP), std::invalid_argument);
  const Address& after = cache.fromSockaddr(v4.get(), v4.length, Transport::UDP);
  EXPECT_EQ(&before, &after);
  EXPECT_EQ(after, fromSocketAddress(v4.get(), v4.length, Transport::UDP));
}

}  // namespace
}  // namespace twisted::test

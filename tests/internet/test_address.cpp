// Address values (twisted/internet/test/test_address.py behaviours) and the
// sockaddr round trip, checked against real sockets on loopback.
#include "twisted/internet/address.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace twisted {
namespace {

TEST(Address, Repr) {
  EXPECT_EQ(toString(IPv4Address{Transport::TCP, "127.0.0.1", 8000}),
            "IPv4Address(type='TCP', host='127.0.0.1', port=8000)");
  EXPECT_EQ(toString(IPv6Address{Transport::UDP, "::1", 53}),
            "IPv6Address(type='UDP', host='::1', port=53, flowInfo=0, scopeID=0)");
  EXPECT_EQ(toString(UNIXAddress{"/tmp/s"}), "UNIXAddress('/tmp/s')");
  EXPECT_EQ(toString(UNIXAddress{std::string("\0abs", 4)}), "UNIXAddress('@abs')");
}

TEST(Address, Equality) {
  Address a = IPv4Address{Transport::TCP, "127.0.0.1", 1};
  Address b = IPv4Address{Transport::TCP, "127.0.0.1", 1};
  Address c = IPv4Address{Transport::UDP, "127.0.0.1", 1};
  Address d = IPv6Address{Transport::TCP, "::1", 1};
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
}

TEST(Address, IsIPAddress) {
  EXPECT_TRUE(isIPAddress("127.0.0.1"));
  EXPECT_TRUE(isIPAddress("255.255.255.255"));
  EXPECT_FALSE(isIPAddress("256.0.0.1"));
  EXPECT_FALSE(isIPAddress("1.2.3"));
  EXPECT_FALSE(isIPAddress("example.com"));
  EXPECT_FALSE(isIPAddress("::1"));
  EXPECT_FALSE(isIPAddress(""));
  EXPECT_TRUE(isIPv6Address("::1"));
  EXPECT_TRUE(isIPv6Address("fe80::1%lo"));
  EXPECT_TRUE(isIPv6Address("::ffff:127.0.0.1"));
  EXPECT_FALSE(isIPv6Address("127.0.0.1"));
  EXPECT_FALSE(isIPv6Address("example.com"));
  EXPECT_FALSE(isIPv6Address(":::"));
}

TEST(Address, BadHostsAreRefusedClearly) {
  try {
    toSocketAddress(IPv4Address{Transport::TCP, "example.com", 80});
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("example.com"), std::string::npos);
  }
  EXPECT_THROW(toSocketAddress(IPv6Address{Transport::TCP, "127.0.0.1", 80}),
               std::invalid_argument);
  EXPECT_THROW(toSocketAddress(UNIXAddress{std::string(200, 'x')}), std::invalid_argument);
}

// Binds a real socket to `address` and reads back what the kernel says.
Address boundAs(const Address& address, int family) {
  int fd = ::socket(family, SOCK_STREAM, 0);
  if (fd < 0) return UNIXAddress{"socket() failed"};
  SocketAddress sa = toSocketAddress(address);
  Address out = UNIXAddress{"bind() failed"};
  if (::bind(fd, sa.get(), sa.length) == 0) {
    SocketAddress got;
    got.length = sizeof got.storage;
    ::getsockname(fd, got.get(), &got.length);
    out = fromSocketAddress(got.get(), got.length);
  }
  ::close(fd);
  return out;
}

TEST(Address, RoundTripThroughTheKernelIPv4) {
  Address bound = boundAs(IPv4Address{Transport::TCP, "127.0.0.1", 0}, AF_INET);
  const auto* v4 = std::get_if<IPv4Address>(&bound);
  ASSERT_NE(v4, nullptr) << toString(bound);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_GT(v4->port, 0) << "port 0 picks a free port";
}

TEST(Address, RoundTripThroughTheKernelIPv6) {
  Address bound = boundAs(IPv6Address{Transport::TCP, "::1", 0}, AF_INET6);
  const auto* v6 = std::get_if<IPv6Address>(&bound);
  if (!v6) GTEST_SKIP() << "no IPv6 loopback here: " << toString(bound);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_GT(v6->port, 0);
}

TEST(Address, RoundTripThroughTheKernelUNIX) {
  std::string path = "/tmp/twisted-address-test-" + std::to_string(::getpid());
  ::unlink(path.c_str());
  Address bound = boundAs(UNIXAddress{path}, AF_UNIX);
  EXPECT_EQ(bound, Address(UNIXAddress{path}));
  ::unlink(path.c_str());
  std::string abstract = std::string("\0twisted-abstract-", 18) + std::to_string(::getpid());
  EXPECT_EQ(boundAs(UNIXAddress{abstract}, AF_UNIX), Address(UNIXAddress{abstract}));
}

TEST(Address, UnsupportedFamily) {
  sockaddr sa{};
  sa.sa_family = AF_APPLETALK;
  EXPECT_THROW(fromSocketAddress(&sa, sizeof sa), std::invalid_argument);
}

}  // namespace
}  // namespace twisted

// twisted.protocols.haproxy: the behaviours of Twisted's
// protocols/haproxy/test/ (test_v1parser.py, test_v2parser.py,
// test_wrapper.py, test_parser.py; see docs/conformance.md), over
// StringTransport and MemoryReactor, plus what Twisted leaves untested:
// every split of a header, early refusal, the bounds, TLVs, half-close.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "reactor_test.hpp"
#include "splits.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/protocols/haproxy.hpp"
#include "twisted/testing/memory_reactor.hpp"
#include "twisted/testing/string_transport.hpp"

namespace twisted::test {
namespace {

using haproxy::HAProxyProtocolWrapper;
using haproxy::HAProxyServerEndpoint;
using haproxy::HAProxyWrappingFactory;
using haproxy::InvalidNetworkProtocol;
using haproxy::InvalidProxyHeader;
using haproxy::MissingAddressData;
using haproxy::ParsedHeader;
using haproxy::ProxyInfo;
using haproxy::V1Parser;
using haproxy::V2Parser;
using testing::StringTransportWithDisconnection;

// ---- v2 headers, built field by field ------------------------------------------------

const std::string kSignature(V2Parser::kSignature);

std::string be16(std::size_t n) {
  return {static_cast<char>(n >> 8 & 0xFF), static_cast<char>(n & 0xFF)};
}

struct V2 {
  std::string signature = kSignature;
  char versionCommand = '\x21';  // version 2, PROXY
  char familyProtocol = '\x11';  // INET, STREAM
  std::string addresses = std::string("\x7F\x00\x00\x01\x7F\x00\x00\x01", 8) + "\x1F\x90\x22\xB8";
  std::string tlvs;
  std::optional<std::size_t> length;  // unset: the true length
  std::string bytes() const {
    return signature + versionCommand + familyProtocol +
           be16(length.value_or(addresses.size() + tlvs.size())) + addresses + tlvs;
  }
};

// 127.0.0.1:8080 -> 127.0.0.1:8888, as Twisted's default headers.
V2 ipv4() {
  return V2{};
}
// ::1:8080 -> ::1:8888.
V2 ipv6() {
  V2 h;
  h.familyProtocol = '\x21';
  std::string loopback = std::string(15, '\0') + '\x01';
  h.addresses = loopback + loopback + "\x1F\x90\x22\xB8";
  return h;
}
const std::string kSockPath = "/home/tests/mysockets/sock";
// kSockPath -> kSockPath, each NUL-padded to 108 bytes.
V2 unixHeader() {
  V2 h;
  h.familyProtocol = '\x31';
  std::string padded = kSockPath + std::string(108 - kSockPath.size(), '\0');
  h.addresses = padded + padded;
  return h;
}

IPv4Address v4(const std::string& host, std::uint16_t port, Transport type = Transport::TCP) {
  return IPv4Address{type, host, port};
}
IPv6Address v6(const std::string& host, std::uint16_t port, Transport type = Transport::TCP) {
  IPv6Address a;
  a.type = type;
  a.host = host;
  a.port = port;
  return a;
}

// Feeds `chunks` one by one: the header must come with the chunk that
// completes its `headerSize` bytes, not before; what follows it, in that
// chunk and the later ones, is the returned `remaining`.
ParsedHeader feedAll(haproxy::IProxyParser& parser, const std::vector<std::string_view>& chunks,
                     std::size_t headerSize) {
  std::size_t fed = 0;
  std::optional<ParsedHeader> parsed;
  for (std::string_view chunk : chunks) {
    if (parsed) {
      parsed->remaining.append(chunk);
      continue;
    }
    std::string copy(chunk);  // the view dies after the call, as a socket buffer's would
    parsed = parser.feed(copy);
    fed += chunk.size();
    EXPECT_EQ(parsed.has_value(), fed >= headerSize) << "after " << fed << " bytes";
  }
  EXPECT_TRUE(parsed);
  return parsed.value_or(ParsedHeader{});
}

// ---- errors --------------------------------------------------------------------------

TEST(HAProxyErrors, AreTypedAndShareTheProjectsBase) {
  EXPECT_THROW(throw MissingAddressData(), InvalidProxyHeader);
  EXPECT_THROW(throw InvalidNetworkProtocol(), InvalidProxyHeader);
  EXPECT_THROW(throw InvalidProxyHeader(), error::Error);
  EXPECT_EQ(std::string(InvalidProxyHeader("why").what()), "Invalid PROXY protocol header: why");
}

// ---- V1Parser ------------------------------------------------------------------------

TEST(HAProxyV1Parser, ALineNotStartingWithPROXYIsInvalid) {
  EXPECT_THROW(V1Parser::parse("NOTPROXY "), InvalidProxyHeader);
  EXPECT_THROW(V1Parser::parse("PROXY"), InvalidProxyHeader);
  EXPECT_THROW(V1Parser::parse("proxy TCP4 1.1.1.1 2.2.2.2 1 2"), InvalidProxyHeader);
}

TEST(HAProxyV1Parser, AProtocolOtherThanTCPOrUNKNOWNIsInvalidNetworkProtocol) {
  EXPECT_THROW(V1Parser::parse("PROXY WUTPROTO "), InvalidNetworkProtocol);
  EXPECT_THROW(V1Parser::parse("PROXY UDP4 1.1.1.1 2.2.2.2 1 2"), InvalidNetworkProtocol);
  EXPECT_THROW(V1Parser::parse("PROXY  TCP4 1.1.1.1 2.2.2.2 1 2"), InvalidNetworkProtocol);
}

TEST(HAProxyV1Parser, MissingAddressesOrPortsAreMissingAddressData) {
  EXPECT_THROW(V1Parser::parse("PROXY TCP4 "), MissingAddressData);
  EXPECT_THROW(V1Parser::parse("PROXY TCP4"), MissingAddressData);
  EXPECT_THROW(V1Parser::parse("PROXY TCP4 127.0.0.1"), MissingAddressData);
  // The destination is missing: three fields, not four.
  EXPECT_THROW(V1Parser::parse("PROXY TCP4 127.0.0.1 8080 8888"), MissingAddressData);
  EXPECT_THROW(V1Parser::parse("PROXY TCP6 ::1 ::1 8080"), MissingAddressData);
}

TEST(HAProxyV1Parser, MalformedFieldsAreInvalidAndSayWhich) {
  auto why = [](std::string_view line) -> std::string {
    try {
      V1Parser::parse(line);
    } catch (const MissingAddressData& e) {
      return std::string("missing: ") + e.what();
    } catch (const InvalidNetworkProtocol& e) {
      return std::string("protocol: ") + e.what();
    } catch (const InvalidProxyHeader& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(why("PROXY TCP4 1.1.1 2.2.2.2 1 2").find("source address '1.1.1'"), std::string::npos);
  EXPECT_NE(why("PROXY TCP4 1.1.1.1 ::1 1 2").find("destination address '::1'"), std::string::npos);
  EXPECT_NE(why("PROXY TCP6 1.1.1.1 ::1 1 2").find("not an IPv6"), std::string::npos);
  EXPECT_NE(why("PROXY TCP6 fe80::1%eth0 ::1 1 2").find("source address"), std::string::npos);
  EXPECT_NE(why("PROXY TCP4 1.1.1.1 2.2.2.2 65536 2").find("source port '65536'"),
            std::string::npos);
  EXPECT_NE(why("PROXY TCP4 1.1.1.1 2.2.2.2 1 -2").find("destination port '-2'"),
            std::string::npos);
  EXPECT_NE(why("PROXY TCP4 1.1.1.1 2.2.2.2 1 2x").find("destination port"), std::string::npos);
  EXPECT_NE(why("PROXY TCP4 1.1.1.1 2.2.2.2 1 2 3").find("unexpected '3'"), std::string::npos);
  EXPECT_NE(why("PROXY TCP4 1.1.1.1  2.2.2.2 1 2").find("single spaces"), std::string::npos);
  EXPECT_NE(why("PROXY TCP4 1.1.1.1 2.2.2.2 1 2 ").find("single spaces"), std::string::npos);
}

TEST(HAProxyV1Parser, ParsesTCP4) {
  ProxyInfo info = V1Parser::parse("PROXY TCP4 127.0.0.1 127.0.0.2 8080 8888");
  EXPECT_EQ(info.source, Address(v4("127.0.0.1", 8080)));
  EXPECT_EQ(info.destination, Address(v4("127.0.0.2", 8888)));
  EXPECT_EQ(info.header, "PROXY TCP4 127.0.0.1 127.0.0.2 8080 8888");
  // The ends of the port range.
  info = V1Parser::parse("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535");
  EXPECT_EQ(info.destination, Address(v4("255.255.255.255", 65535)));
}

TEST(HAProxyV1Parser, ParsesTCP6) {
  ProxyInfo info = V1Parser::parse("PROXY TCP6 ::1 ::2 8080 8888");
  EXPECT_EQ(info.source, Address(v6("::1", 8080)));
  EXPECT_EQ(info.destination, Address(v6("::2", 8888)));
}

TEST(HAProxyV1Parser, UNKNOWNGivesNoAddressesWhateverFollows) {
  ProxyInfo info = V1Parser::parse("PROXY UNKNOWN anything could go here");
  EXPECT_FALSE(info.source);
  EXPECT_FALSE(info.destination);
  // As HAProxy sends it for a client it cannot name (the spec allows both).
  EXPECT_FALSE(V1Parser::parse("PROXY UNKNOWN").source);
}

TEST(HAProxyV1Parser, FeedWaitsForTheCRLF) {
  V1Parser parser;
  EXPECT_FALSE(parser.feed("PROXY TCP4 127.0.0.1 127.0.0.1 "));
  EXPECT_FALSE(parser.feed("8080 8888"));
  EXPECT_FALSE(parser.feed("\r"));
  auto parsed = parser.feed("\n");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->remaining, "");
  EXPECT_EQ(parsed->info.source, Address(v4("127.0.0.1", 8080)));
  EXPECT_EQ(parsed->info.destination, Address(v4("127.0.0.1", 8888)));
  EXPECT_EQ(parser.bufferedSize(), 0u);
}

TEST(HAProxyV1Parser, EverySplitGivesTheSameHeaderAndRest) {
  const std::string input = "PROXY TCP6 2001:db8::1 ::2 1 65535\r\nGET / HTTP/1.1\r\n\r\n";
  for (const Split& split : allSplits(input)) {
    V1Parser parser;
    ParsedHeader parsed = feedAll(parser, split.chunks, input.find('\n') + 1);
    EXPECT_EQ(parsed.info.source, Address(v6("2001:db8::1", 1))) << split.name;
    EXPECT_EQ(parsed.remaining, input.substr(input.find('\n') + 1)) << split.name;
  }
}

TEST(HAProxyV1Parser, NoCRLFWithin107BytesIsInvalid) {
  V1Parser parser;
  EXPECT_FALSE(parser.feed("PROXY TCP4 127.0.0.1 127.0.0.1 "));
  EXPECT_FALSE(parser.feed("8080 8888"));
  EXPECT_THROW(parser.feed(std::string(100, ' ')), InvalidProxyHeader);
  EXPECT_EQ(parser.bufferedSize(), 0u) << "what was buffered is dropped";
}

TEST(HAProxyV1Parser, TheLimitIs107BytesCRLFIncluded) {
  // The longest header there is: TCP6 with full-length addresses.
  std::string host = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  std::string longest = "PROXY TCP6 " + host + " " + host + " 65535 65535\r\n";
  ASSERT_EQ(longest.size(), 104u);
  // UNKNOWN, whose rest is ignored, padded to 107 bytes with its CRLF is
  // accepted; one byte more is refused as soon as the 107th byte is not
  // the end of a CRLF.
  std::string at107 = "PROXY UNKNOWN" + std::string(107 - 13 - 2, ' ') + "\r\n";
  ASSERT_EQ(at107.size(), 107u);
  const std::string input = at107 + "x";
  for (const Split& split : allSplits(input, 2)) {
    V1Parser parser;
    EXPECT_EQ(feedAll(parser, split.chunks, 107).remaining, "x") << split.name;
  }
  std::string at108 = "PROXY UNKNOWN" + std::string(108 - 13 - 2, ' ') + "\r\n";
  V1Parser parser;
  EXPECT_THROW(parser.feed(at108), InvalidProxyHeader);
  V1Parser bytewise;
  for (std::size_t i = 0; i < 106; ++i) EXPECT_FALSE(bytewise.feed(at108.substr(i, 1))) << i;
  EXPECT_THROW(bytewise.feed(at108.substr(106, 1)), InvalidProxyHeader);
  EXPECT_TRUE(V1Parser().feed(longest));
}

TEST(HAProxyV1Parser, AStreamNotStartingWithPROXYIsRefusedAtOnce) {
  V1Parser parser;
  EXPECT_FALSE(parser.feed("PRO"));
  EXPECT_THROW(parser.feed("Z"), InvalidProxyHeader);
  EXPECT_THROW(V1Parser().feed("GET / HTTP/1.1"), InvalidProxyHeader);
}

TEST(HAProxyV1Parser, BytesAfterTheHeaderAreReturnedAndNotKept) {
  V1Parser parser;
  auto parsed = parser.feed("PROXY TCP4 127.0.0.1 127.0.0.1 8080 8888\r\nHTTP/1.1 GET /\r\n");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->remaining, "HTTP/1.1 GET /\r\n");
  EXPECT_EQ(parser.bufferedSize(), 0u);
}

// ---- V2Parser ------------------------------------------------------------------------

TEST(HAProxyV2Parser, ParsesIPv4) {
  ProxyInfo info = V2Parser::parse(ipv4().bytes());
  EXPECT_EQ(info.source, Address(v4("127.0.0.1", 8080)));
  EXPECT_EQ(info.destination, Address(v4("127.0.0.1", 8888)));
  EXPECT_EQ(info.header, ipv4().bytes());
}

TEST(HAProxyV2Parser, ParsesIPv6InRFC5952Text) {
  ProxyInfo info = V2Parser::parse(ipv6().bytes());
  EXPECT_EQ(info.source, Address(v6("::1", 8080)));
  EXPECT_EQ(info.destination, Address(v6("::1", 8888)));
  V2 h = ipv6();
  h.addresses = std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + '\x01' +
                std::string("\xfe\x80", 2) + std::string(13, '\0') + '\x02' +
                std::string("\x00\x01\x00\x02", 4);
  ASSERT_EQ(h.addresses.size(), 36u);
  info = V2Parser::parse(h.bytes());
  EXPECT_EQ(info.source, Address(v6("2001:db8::1", 1)));
  EXPECT_EQ(info.destination, Address(v6("fe80::2", 2)));
}

TEST(HAProxyV2Parser, ParsesUNIXWithoutThePadding) {
  ProxyInfo info = V2Parser::parse(unixHeader().bytes());
  EXPECT_EQ(info.source, Address(UNIXAddress{kSockPath}));
  EXPECT_EQ(info.destination, Address(UNIXAddress{kSockPath}));
  // An abstract name keeps its leading NUL; an all-NUL one is unnamed.
  V2 h = unixHeader();
  h.addresses = std::string(1, '\0') + "abstract" + std::string(99, '\0') + std::string(108, '\0');
  info = V2Parser::parse(h.bytes());
  EXPECT_EQ(info.source, Address(UNIXAddress{std::string("\0abstract", 9)}));
  EXPECT_EQ(info.destination, Address(UNIXAddress{""}));
}

TEST(HAProxyV2Parser, DatagramAddressesAreUDP) {
  V2 h = ipv4();
  h.familyProtocol = '\x12';
  EXPECT_EQ(V2Parser::parse(h.bytes()).source, Address(v4("127.0.0.1", 8080, Transport::UDP)));
  h = ipv6();
  h.familyProtocol = '\x22';
  EXPECT_EQ(V2Parser::parse(h.bytes()).destination, Address(v6("::1", 8888, Transport::UDP)));
}

TEST(HAProxyV2Parser, AWrongSignatureIsInvalid) {
  V2 h = ipv4();
  h.signature = std::string(12, '\0');
  EXPECT_THROW(V2Parser::parse(h.bytes()), InvalidProxyHeader);
  h.signature = kSignature;
  h.signature[11] = 'X';
  EXPECT_THROW(V2Parser::parse(h.bytes()), InvalidProxyHeader);
}

TEST(HAProxyV2Parser, AVersionOtherThan2IsInvalid) {
  for (char versionCommand : {'\x11', '\x31', '\x01', '\xF1'}) {
    V2 h = ipv4();
    h.versionCommand = versionCommand;
    EXPECT_THROW(V2Parser::parse(h.bytes()), InvalidProxyHeader) << int(versionCommand);
  }
}

TEST(HAProxyV2Parser, ACommandOtherThanLocalOrProxyIsInvalid) {
  for (char versionCommand : {'\x22', '\x23', '\x2F'}) {
    V2 h = ipv4();
    h.versionCommand = versionCommand;
    EXPECT_THROW(V2Parser::parse(h.bytes()), InvalidProxyHeader) << int(versionCommand);
  }
}

TEST(HAProxyV2Parser, AnUndefinedFamilyOrProtocolIsInvalidNetworkProtocol) {
  for (char familyProtocol : {'\x40', '\x41', '\xF1', '\x13', '\x24', '\x1F'}) {
    V2 h = ipv4();
    h.familyProtocol = familyProtocol;
    EXPECT_THROW(V2Parser::parse(h.bytes()), InvalidNetworkProtocol) << int(familyProtocol);
  }
}

TEST(HAProxyV2Parser, LocalGivesNoAddressesWhateverTheFamily) {
  for (V2 h : {ipv4(), ipv6(), unixHeader()}) {
    h.versionCommand = '\x20';
    ProxyInfo info = V2Parser::parse(h.bytes());
    EXPECT_FALSE(info.source);
    EXPECT_FALSE(info.destination);
  }
  // The spec says a receiver ignores a LOCAL header's family, even one it
  // does not define, and HAProxy's health checks send no addresses.
  V2 h = ipv4();
  h.versionCommand = '\x20';
  h.familyProtocol = '\x40';
  h.addresses.clear();
  EXPECT_FALSE(V2Parser::parse(h.bytes()).source);
}

TEST(HAProxyV2Parser, ProxyGivesTheFamilysAddressType) {
  EXPECT_TRUE(std::holds_alternative<IPv4Address>(*V2Parser::parse(ipv4().bytes()).source));
  EXPECT_TRUE(std::holds_alternative<IPv6Address>(*V2Parser::parse(ipv6().bytes()).destination));
  EXPECT_TRUE(std::holds_alternative<UNIXAddress>(*V2Parser::parse(unixHeader().bytes()).source));
}

TEST(HAProxyV2Parser, AnUnspecifiedFamilyGivesNoAddresses) {
  for (V2 h : {ipv4(), ipv6(), unixHeader()}) {
    h.familyProtocol = '\x01';
    EXPECT_FALSE(V2Parser::parse(h.bytes()).source);
    EXPECT_FALSE(V2Parser::parse(h.bytes()).destination);
  }
}

TEST(HAProxyV2Parser, AnUnspecifiedProtocolGivesNoAddresses) {
  std::vector<std::pair<V2, char>> cases{
      {ipv4(), '\x10'}, {ipv6(), '\x20'}, {unixHeader(), '\x30'}};
  for (auto [h, familyProtocol] : cases) {
    h.familyProtocol = familyProtocol;
    EXPECT_FALSE(V2Parser::parse(h.bytes()).source);
    EXPECT_FALSE(V2Parser::parse(h.bytes()).destination);
  }
}

TEST(HAProxyV2Parser, ALengthTooShortForTheFamilyIsMissingAddressData) {
  for (V2 h : {ipv4(), ipv6(), unixHeader()}) {
    h.addresses.pop_back();
    EXPECT_THROW(V2Parser::parse(h.bytes()), MissingAddressData);
  }
  V2 h = ipv4();
  h.addresses.clear();
  EXPECT_THROW(V2Parser::parse(h.bytes()), MissingAddressData);
}

TEST(HAProxyV2Parser, ParseWantsExactlyTheLengthGiven) {
  EXPECT_THROW(V2Parser::parse(kSignature + "\x21\x11"), InvalidProxyHeader);
  V2 h = ipv4();
  EXPECT_THROW(V2Parser::parse(h.bytes() + "x"), InvalidProxyHeader);
  h.length = 13;
  EXPECT_THROW(V2Parser::parse(h.bytes()), InvalidProxyHeader);
}

TEST(HAProxyV2Parser, TLVsAreKeptInTheHeaderAndSkipped) {
  V2 h = ipv4();
  h.tlvs = std::string("\x04\x00\x03", 3) + "abc";  // PP2_TYPE_NOOP, 3 bytes
  ParsedHeader parsed = V2Parser().feed(h.bytes() + "rest").value();
  EXPECT_EQ(parsed.info.source, Address(v4("127.0.0.1", 8080)));
  EXPECT_EQ(parsed.info.header, h.bytes());
  EXPECT_EQ(parsed.remaining, "rest");
}

TEST(HAProxyV2Parser, BytesAfterTheHeaderAreReturnedForEachFamily) {
  const std::string rest = "TEST DATA\r\n\r\nTEST DATA";
  for (const V2& h : {ipv4(), ipv6(), unixHeader()}) {
    V2Parser parser;
    auto parsed = parser.feed(h.bytes() + rest);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->info.source);
    EXPECT_EQ(parsed->remaining, rest);
    EXPECT_EQ(parser.bufferedSize(), 0u);
  }
}

TEST(HAProxyV2Parser, EverySplitGivesTheSameHeaderAndRest) {
  const std::string rest = "GET / HTTP/1.1\r\n\r\n";
  for (const V2& h : {ipv4(), ipv6(), unixHeader()}) {
    const std::string input = h.bytes() + rest;
    ProxyInfo expected = V2Parser::parse(h.bytes());
    for (const Split& split : allSplits(input, 5)) {
      V2Parser parser;
      ParsedHeader parsed = feedAll(parser, split.chunks, h.bytes().size());
      EXPECT_EQ(parsed.info, expected) << split.name;
      EXPECT_EQ(parsed.remaining, rest) << split.name;
    }
  }
}

TEST(HAProxyV2Parser, BadBytesAreRefusedAsSoonAsTheyArrive) {
  // Twisted refuses any first segment under 16 bytes; here a short one
  // waits, unless it already cannot be a header.
  EXPECT_THROW(V2Parser().feed("NEEDMOREDATA"), InvalidProxyHeader);
  V2Parser parser;
  EXPECT_FALSE(parser.feed(kSignature.substr(0, 5)));
  EXPECT_FALSE(parser.feed(kSignature.substr(5)));
  EXPECT_THROW(parser.feed("\x31"), InvalidProxyHeader) << "version 3, before the rest came";
  V2Parser family;
  EXPECT_THROW(family.feed(kSignature + "\x21\x51"), InvalidNetworkProtocol);
  EXPECT_EQ(family.bufferedSize(), 0u);
}

TEST(HAProxyV2Parser, TheLargestLengthIsBufferedUntilComplete) {
  V2 h = ipv4();
  h.tlvs = std::string(0xFFFF - h.addresses.size(), '\0');
  std::string bytes = h.bytes();
  ASSERT_EQ(bytes.size(), V2Parser::kMaxHeaderSize);
  V2Parser parser;
  EXPECT_FALSE(parser.feed(std::string_view(bytes).substr(0, bytes.size() - 1)));
  EXPECT_EQ(parser.bufferedSize(), bytes.size() - 1);
  auto parsed = parser.feed(bytes.substr(bytes.size() - 1) + "x");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->remaining, "x");
}

// ---- HAProxyProtocolWrapper ------------------------------------------------------------

// Records what the wrapped protocol sees (Twisted's StaticProtocol).
class StaticProtocol : public Protocol {
 public:
  std::optional<Address> peerWhenMade, source, destination;
  std::string data;
  int made = 0;
  int lost = 0;
  void connectionMade() override {
    ++made;
    peerWhenMade = transport->getPeer();
  }
  void dataReceived(std::string_view d) override {
    source = transport->getPeer();
    destination = transport->getHost();
    data += d;
  }
  void connectionLost(const Failure&) override { ++lost; }
};

class HalfCloseProtocol : public StaticProtocol, public IHalfCloseableProtocol {
 public:
  int readLost = 0;
  void readConnectionLost() override { ++readLost; }
  void writeConnectionLost() override {}
};

// One connection through an HAProxyWrappingFactory, closed at the end of
// the test (the wrapper and the wrapped protocol hold each other until then).
template <class P = StaticProtocol>
class Connected {
 public:
  explicit Connected(Address peer = v4("127.1.1.1", 8080), Address host = v4("10.0.0.1", 12345)) {
    factory = std::make_shared<HAProxyWrappingFactory>(std::make_shared<Factory>([this] {
      inner = std::make_shared<P>();
      return inner;
    }));
    wrapper = std::dynamic_pointer_cast<HAProxyProtocolWrapper>(factory->buildProtocol(peer));
    transport = std::make_shared<StringTransportWithDisconnection>(host, peer);
    transport->protocol = wrapper;
    wrapper->makeConnection(transport);
  }
  ~Connected() {
    if (!transport->disconnecting()) transport->loseConnection();
  }
  Connected(const Connected&) = delete;
  Connected& operator=(const Connected&) = delete;

  bool open() const { return !transport->disconnecting(); }

  std::shared_ptr<HAProxyWrappingFactory> factory;
  std::shared_ptr<P> inner;
  std::shared_ptr<HAProxyProtocolWrapper> wrapper;
  std::shared_ptr<StringTransportWithDisconnection> transport;
};

TEST(HAProxyWrapperV1, AnInvalidHeaderDisconnects) {
  Connected c;
  c.wrapper->dataReceived("NOTPROXY anything can go here\r\n");
  EXPECT_FALSE(c.open());
  EXPECT_EQ(c.inner->made, 0);
  EXPECT_EQ(c.inner->lost, 0) << "never connected, so never told of a loss";
}

TEST(HAProxyWrapperV1, AnInvalidHeaderInPiecesDisconnects) {
  Connected c;
  c.wrapper->dataReceived("PROXY TCP4 1.1.1.1\r\n");
  c.wrapper->dataReceived("2.2.2.2 8080\r\n");
  EXPECT_FALSE(c.open());
  EXPECT_EQ(c.inner->data, "");
}

TEST(HAProxyWrapperV1, BeforeTheHeaderPeerAndHostAreTheConnections) {
  Connected c(v4("192.0.2.7", 40000), v4("198.51.100.1", 443));
  EXPECT_EQ(c.wrapper->getPeer(), Address(v4("192.0.2.7", 40000)));
  EXPECT_EQ(c.wrapper->getHost(), Address(v4("198.51.100.1", 443)));
  EXPECT_FALSE(c.wrapper->proxyInfo());
}

TEST(HAProxyWrapperV1, AnIPv4HeaderSetsPeerAndHost) {
  Connected c;
  c.wrapper->dataReceived("PROXY TCP4 1.1.1.1 2.2.2.2 8080 8888\r\n");
  EXPECT_EQ(c.wrapper->getPeer(), Address(v4("1.1.1.1", 8080)));
  EXPECT_EQ(c.wrapper->getHost(), Address(v4("2.2.2.2", 8888)));
  ASSERT_EQ(c.inner->made, 1);
  EXPECT_EQ(c.inner->transport->getPeer(), Address(v4("1.1.1.1", 8080)));
  EXPECT_EQ(c.inner->transport->getHost(), Address(v4("2.2.2.2", 8888)));
  EXPECT_EQ(c.inner->peerWhenMade, Address(v4("1.1.1.1", 8080))) << "connectionMade waits";
}

TEST(HAProxyWrapperV1, AnIPv6HeaderSetsPeerAndHost) {
  Connected c(v6("::1", 8080));
  c.wrapper->dataReceived("PROXY TCP6 ::1 ::2 8080 8888\r\n");
  EXPECT_EQ(c.wrapper->getPeer(), Address(v6("::1", 8080)));
  EXPECT_EQ(c.wrapper->getHost(), Address(v6("::2", 8888)));
  EXPECT_EQ(c.inner->transport->getPeer(), Address(v6("::1", 8080)));
  EXPECT_EQ(c.inner->transport->getHost(), Address(v6("::2", 8888)));
}

TEST(HAProxyWrapperV1, BytesAfterTheHeaderGoToTheWrappedProtocol) {
  Connected c;
  c.wrapper->dataReceived("PROXY TCP6 ::1 ::2 8080 8888\r\nHTTP/1.1 / GET");
  EXPECT_EQ(c.inner->data, "HTTP/1.1 / GET");
  EXPECT_EQ(c.inner->source, Address(v6("::1", 8080)));
}

TEST(HAProxyWrapperV1, BytesAfterAHeaderInPiecesGoToTheWrappedProtocol) {
  Connected c;
  c.wrapper->dataReceived("PROXY TCP6 ::1 ::2 ");
  EXPECT_EQ(c.inner->made, 0);
  c.wrapper->dataReceived("8080 8888\r\nHTTP/1.1 / GET");
  EXPECT_EQ(c.inner->data, "HTTP/1.1 / GET");
}

TEST(HAProxyWrapperV1, LaterDataGoesStraightToTheWrappedProtocol) {
  Connected c;
  c.wrapper->dataReceived("PROXY TCP6 ::1 ::2 ");
  c.wrapper->dataReceived("8080 8888\r\nHTTP/1.1 / GET");
  c.wrapper->dataReceived("\r\n\r\n");
  // A second header is data now, not a header.
  c.wrapper->dataReceived("PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\n");
  EXPECT_EQ(c.inner->data, "HTTP/1.1 / GET\r\n\r\nPROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\n");
  EXPECT_EQ(c.wrapper->getPeer(), Address(v6("::1", 8080)));
}

TEST(HAProxyWrapperV1, UNKNOWNKeepsTheConnectionsAddresses) {
  Connected c(v4("192.0.2.7", 40000));
  c.wrapper->dataReceived("PROXY UNKNOWN\r\nhi");
  EXPECT_EQ(c.inner->source, Address(v4("192.0.2.7", 40000)));
  EXPECT_EQ(c.inner->data, "hi");
  EXPECT_TRUE(c.open());
}

TEST(HAProxyWrapperV2, AnInvalidHeaderDisconnects) {
  Connected c;
  c.wrapper->dataReceived(std::string(1, '\0') + ipv4().bytes().substr(1));
  EXPECT_FALSE(c.open());
  Connected v3;
  V2 h = ipv4();
  h.versionCommand = '\x31';
  v3.wrapper->dataReceived(h.bytes());
  EXPECT_FALSE(v3.open());
  EXPECT_EQ(v3.inner->made, 0);
}

TEST(HAProxyWrapperV2, AnIPv4HeaderSetsPeerAndHost) {
  Connected c;
  c.wrapper->dataReceived(ipv4().bytes());
  EXPECT_EQ(c.wrapper->getPeer(), Address(v4("127.0.0.1", 8080)));
  EXPECT_EQ(c.wrapper->getHost(), Address(v4("127.0.0.1", 8888)));
  EXPECT_EQ(c.inner->transport->getPeer(), Address(v4("127.0.0.1", 8080)));
  EXPECT_EQ(c.inner->transport->getHost(), Address(v4("127.0.0.1", 8888)));
}

TEST(HAProxyWrapperV2, AnIPv6HeaderSetsPeerAndHost) {
  Connected c(v4("127.0.0.1", 8080));
  c.wrapper->dataReceived(ipv6().bytes());
  EXPECT_EQ(c.wrapper->getPeer(), Address(v6("::1", 8080)));
  EXPECT_EQ(c.inner->transport->getPeer(), Address(v6("::1", 8080)));
  EXPECT_EQ(c.wrapper->getHost(), Address(v6("::1", 8888)));
  EXPECT_EQ(c.inner->transport->getHost(), Address(v6("::1", 8888)));
}

TEST(HAProxyWrapperV2, AUNIXHeaderSetsPeerAndHost) {
  Connected c(UNIXAddress{"/home/test/sockets/server.sock"});
  c.wrapper->dataReceived(unixHeader().bytes());
  EXPECT_EQ(c.wrapper->getPeer(), Address(UNIXAddress{kSockPath}));
  EXPECT_EQ(c.inner->transport->getPeer(), Address(UNIXAddress{kSockPath}));
  EXPECT_EQ(c.wrapper->getHost(), Address(UNIXAddress{kSockPath}));
  EXPECT_EQ(c.inner->transport->getHost(), Address(UNIXAddress{kSockPath}));
}

TEST(HAProxyWrapperV2, BytesAfterTheHeaderGoToTheWrappedProtocol) {
  Connected c;
  c.wrapper->dataReceived(ipv6().bytes() + "HTTP/1.1 / GET");
  EXPECT_EQ(c.inner->data, "HTTP/1.1 / GET");
}

TEST(HAProxyWrapperV2, BytesAfterAHeaderInPiecesGoToTheWrappedProtocol) {
  Connected c;
  c.wrapper->dataReceived(ipv6().bytes().substr(0, 18));
  c.wrapper->dataReceived(ipv6().bytes().substr(18) + "HTTP/1.1 / GET");
  EXPECT_EQ(c.inner->data, "HTTP/1.1 / GET");
}

TEST(HAProxyWrapperV2, LocalKeepsTheConnectionsAddresses) {
  Connected c(v4("192.0.2.7", 40000));
  V2 h = ipv4();
  h.versionCommand = '\x20';
  c.wrapper->dataReceived(h.bytes() + "hi");
  EXPECT_EQ(c.inner->source, Address(v4("192.0.2.7", 40000)));
  EXPECT_EQ(c.inner->destination, Address(v4("10.0.0.1", 12345)));
  EXPECT_EQ(c.wrapper->proxyInfo()->header, h.bytes());
}

// Twisted needs the first segment to hold 16 (v2) or 8 (v1) bytes.
TEST(HAProxyWrapper, AHeaderInSegmentsOfAnySizeWorks) {
  for (const std::string& header :
       {ipv4().bytes(), std::string("PROXY TCP4 1.1.1.1 2.2.2.2 8080 8888\r\n")}) {
    const std::string input = header + "data";
    for (const Split& split : allSplits(input, 3)) {
      Connected c;
      for (std::string_view chunk : split.chunks) c.wrapper->dataReceived(std::string(chunk));
      EXPECT_EQ(c.inner->data, "data") << split.name;
      EXPECT_EQ(c.inner->made, 1) << split.name;
      EXPECT_TRUE(c.open()) << split.name;
    }
  }
}

TEST(HAProxyWrapper, ARefusalIsLoggedWithItsReasonAndLaterDataDropped) {
  LogCapture logs;
  Connected c(v4("192.0.2.7", 40000));
  c.wrapper->dataReceived("GET / HTTP/1.1\r\n");
  c.wrapper->dataReceived("more");
  EXPECT_FALSE(c.open());
  EXPECT_EQ(c.inner->data, "");
  c.wrapper->dataReceived("PROXY TCP4 1.1.1.1 2.2.2.2 8080 8888\r\n");
  EXPECT_EQ(c.inner->made, 0) << "a header after the refusal changes nothing";
  auto events = logs.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].level, logger::LogLevel::warn);
  EXPECT_EQ(events[0].logNamespace, "twisted.protocols.haproxy");
  std::string text = logger::formatEvent(events[0]);
  EXPECT_NE(text.find("192.0.2.7"), std::string::npos) << text;
  EXPECT_NE(text.find("does not start with a PROXY protocol header"), std::string::npos) << text;

  Connected bad;
  bad.wrapper->dataReceived("PROXY TCP4 1.1.1.1 2.2.2.2 8080 99999\r\n");
  text = logger::formatEvent(logs.events().back());
  EXPECT_NE(text.find("destination port '99999'"), std::string::npos) << text;
}

TEST(HAProxyWrapper, ALossBeforeTheHeaderIsNotShownToTheWrappedProtocol) {
  Connected c;
  c.wrapper->dataReceived("PROXY TCP4 1.1.1.1");
  c.transport->loseConnection();
  EXPECT_EQ(c.inner->made, 0);
  EXPECT_EQ(c.inner->lost, 0);
  EXPECT_FALSE(c.wrapper->wrappedProtocol);
  EXPECT_TRUE(c.factory->protocols().empty());
}

TEST(HAProxyWrapper, ALossAfterTheHeaderIsPassedOn) {
  Connected c;
  c.wrapper->dataReceived("PROXY UNKNOWN\r\n");
  EXPECT_EQ(c.factory->protocols().size(), 1u);
  c.transport->loseConnection();
  EXPECT_EQ(c.inner->lost, 1);
  EXPECT_TRUE(c.factory->protocols().empty());
}

TEST(HAProxyWrapper, AHalfCloseBeforeTheHeaderClosesAfterItIsPassedOn) {
  Connected<HalfCloseProtocol> early;
  auto& earlyHalf = dynamic_cast<IHalfCloseableProtocol&>(*early.wrapper);
  early.wrapper->dataReceived("PROXY TCP4 ");
  earlyHalf.readConnectionLost();
  EXPECT_FALSE(early.open());
  EXPECT_EQ(early.inner->readLost, 0);

  Connected<HalfCloseProtocol> late;
  late.wrapper->dataReceived("PROXY UNKNOWN\r\n");
  dynamic_cast<IHalfCloseableProtocol&>(*late.wrapper).readConnectionLost();
  EXPECT_EQ(late.inner->readLost, 1);
  EXPECT_TRUE(late.open());

  Connected<> plain;
  EXPECT_FALSE(dynamic_cast<IHalfCloseableProtocol*>(plain.wrapper.get()));
}

TEST(HAProxyWrapper, TheWrappedProtocolCanCloseInConnectionMade) {
  class Closer : public StaticProtocol {
    void connectionMade() override { transport->loseConnection(); }
  };
  Connected<Closer> c;
  c.wrapper->dataReceived("PROXY UNKNOWN\r\nignored");
  EXPECT_FALSE(c.open());
  EXPECT_EQ(c.inner->lost, 1);
  EXPECT_EQ(c.inner->data, "") << "a transport that closes at once delivers no more";
}

TEST(HAProxyWrappingFactory, LogPrefixMarksTheProxy) {
  class Named : public Factory {
    std::string logPrefix() const override { return "Echo"; }
  };
  EXPECT_EQ(HAProxyWrappingFactory(std::make_shared<Named>()).logPrefix(), "Echo (PROXY)");
}

// ---- proxyEndpoint and "haproxy:" -------------------------------------------------------

TEST(HAProxyEndpoint, ListensOnTheWrappedEndpointWithAWrappingFactory) {
  testing::MemoryReactor reactor;
  auto user = std::make_shared<Factory>();
  auto ep = haproxy::proxyEndpoint(std::make_shared<TCP4ServerEndpoint>(reactor, 8080));
  EXPECT_EQ(ep->describe(), "haproxy:tcp:8080");
  auto listening = ep->listen(user);
  EXPECT_TRUE(listening.called());
  ASSERT_EQ(reactor.tcpServers.size(), 1u);
  EXPECT_EQ(reactor.tcpServers[0].port, 8080);
  auto wrapping = std::dynamic_pointer_cast<HAProxyWrappingFactory>(reactor.tcpServers[0].factory);
  ASSERT_TRUE(wrapping);
  EXPECT_EQ(wrapping->wrappedFactory, user);
  EXPECT_THROW(haproxy::proxyEndpoint(nullptr), std::invalid_argument);
}

class HAProxyEndpointString : public ::testing::Test {
 protected:
  Reactor reactor;  // a real one: it has UNIX sockets, MemoryReactor has not
  template <class E>
  std::shared_ptr<E> wrapped(std::string_view description) {
    auto ep =
        std::dynamic_pointer_cast<HAProxyServerEndpoint>(serverFromString(reactor, description));
    EXPECT_TRUE(ep) << description;
    if (!ep) return nullptr;
    auto inner = std::dynamic_pointer_cast<E>(ep->wrappedEndpoint());
    EXPECT_TRUE(inner) << description;
    return inner;
  }
  std::string errorOf(std::string_view description) {
    try {
      serverFromString(reactor, description);
    } catch (const error::InvalidEndpointDescription& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST_F(HAProxyEndpointString, WrapsTCP4) {
  auto inner = wrapped<TCP4ServerEndpoint>("haproxy:tcp:8080");
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->port(), 8080);
  EXPECT_FALSE(std::dynamic_pointer_cast<TCP6ServerEndpoint>(inner));
  EXPECT_TRUE(wrapped<TCP4ServerEndpoint>("HAProxy:tcp:8080")) << "types are case-insensitive";
}

TEST_F(HAProxyEndpointString, WrapsTCP6) {
  EXPECT_TRUE(wrapped<TCP6ServerEndpoint>("haproxy:tcp6:8080"));
}

TEST_F(HAProxyEndpointString, WrapsUNIX) {
  auto inner = wrapped<UNIXServerEndpoint>("haproxy:unix:address=/tmp/socket");
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->address(), "/tmp/socket");
}

// Twisted re-assembles the rest of the description from its parsed parts
// (unparseEndpoint); here it is passed on as written, so nothing is lost.
TEST_F(HAProxyEndpointString, TheRestIsPassedOnAsWritten) {
  EXPECT_EQ(wrapped<TCP4ServerEndpoint>("haproxy:tcp:8080")->port(), 8080);  // one word
  auto ep = wrapped<TCP4ServerEndpoint>("haproxy:tcp:8080:127.0.0.1:7");     // arguments
  EXPECT_EQ(ep->interface(), "127.0.0.1");
  EXPECT_EQ(ep->backlog(), 7);
  ep = wrapped<TCP4ServerEndpoint>("haproxy:tcp:backlog=3:port=81:interface=127.0.0.1");
  EXPECT_EQ(ep->port(), 81);  // keywords
  EXPECT_EQ(ep->backlog(), 3);
  auto unix_ = wrapped<UNIXServerEndpoint>(R"(haproxy:unix:/tmp/hello\:colon\:world)");
  EXPECT_EQ(unix_->address(), "/tmp/hello:colon:world");  // an escaped ':' in an argument
  unix_ = wrapped<UNIXServerEndpoint>(R"(haproxy:unix:address=/tmp/a\:b\=c)");
  EXPECT_EQ(unix_->address(), "/tmp/a:b=c");  // escapes in a keyword's value
  auto tcp6 = wrapped<TCP6ServerEndpoint>(R"(haproxy:tcp6:8080:interface=\:\:1)");
  EXPECT_EQ(tcp6->interface(), "::1");
  // An escaped ':' in a keyword's name reaches the inner parser, which
  // names it.
  EXPECT_NE(errorOf(R"(haproxy:tcp:80:\:=hello)").find("unknown parameter ':'"), std::string::npos);
  for (std::string text : {"tcp:8080:interface=127.0.0.1", R"(tcp6:99:interface=\:\:1)",
                           "unix:/tmp/s:mode=600:backlog=50:lockfile=0"}) {
    EXPECT_EQ(serverFromString(reactor, "haproxy:" + text)->describe(),
              "haproxy:" + serverFromString(reactor, text)->describe());
  }
}

TEST_F(HAProxyEndpointString, ErrorsNameWhatIsWrong) {
  EXPECT_NE(errorOf("haproxy").find("haproxy needs a server endpoint"), std::string::npos);
  EXPECT_NE(errorOf("haproxy:").find("haproxy needs a server endpoint"), std::string::npos);
  EXPECT_NE(errorOf("haproxy:tcp:80x").find("port '80x'"), std::string::npos);
  EXPECT_NE(errorOf("haproxy:udp:53").find("'udp' names a datagram transport"), std::string::npos);
  EXPECT_NE(errorOf("foo:80").find("(known: tcp, tcp6, unix, haproxy, systemd, adopted, stdio)"),
            std::string::npos);
}

}  // namespace
}  // namespace twisted::test

// Tests that need a view of the system of their own, run by ctest under
// tests/support/in_namespace.py (which says what it set in the environment):
// host names in their IDNA form from a private /etc/hosts, and TCP over a
// link-local IPv6 address (with its scope) in a private network namespace.
// Run directly, without those, each is skipped.
#include <net/if.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "iterate_until.hpp"
#include "tcp_helpers.hpp"
#include "twisted/internet/resolver.hpp"

namespace twisted::test {
namespace {

class NamespacedTest : public ReactorTest {
 protected:
  std::vector<Address> resolve(const std::string& host) {
    std::vector<Address> found;
    reactor->nameResolver()
        .resolveHostName(host, 80, AddressFamily::IPv4)
        .addCallbacks([&](std::vector<Address> a) { found = std::move(a); },
                      [&](const Failure& f) { ADD_FAILURE() << host << ": " << f.brief(); })
        .addBoth([this](Outcome<void>) { reactor->stop(); });
    runReactor(30);
    return found;
  }
};

Address v4(const char* host, int port) {
  return IPv4Address{Transport::TCP, host, static_cast<std::uint16_t>(port)};
}

// ThreadedResolverTests.test_resolverGivenStr: a name with non-ASCII letters
// is looked up by its IDNA form; an ASCII or already encoded name as given.
TEST_P(NamespacedTest, NonAsciiHostNamesAreLookedUpByTheirIDNAForm) {
  if (!std::getenv("TWISTED_TEST_HOSTS")) GTEST_SKIP() << "needs in_namespace.py --hosts";
  EXPECT_EQ(resolve("example.example"), std::vector<Address>{v4("127.0.0.4", 80)});
  EXPECT_EQ(resolve("v\xc3\xa4\xc3\xa4ntynyt.example"), std::vector<Address>{v4("127.0.0.1", 80)});
  EXPECT_EQ(resolve("\xd1\x80\xd1\x84.example"), std::vector<Address>{v4("127.0.0.2", 80)});
  EXPECT_EQ(resolve("xn----7sbb4ac0ad0be6cf.xn--p1ai"), std::vector<Address>{v4("127.0.0.3", 80)});
}

// ---- a network namespace of our own: the wildcard address, and a link-local
// IPv6 address (fe80::1 on the loopback) whose scope id is kept everywhere ---------

class PrivateNetworkTest : public NamespacedTest {
 protected:
  std::string interface;  // "fe80::1%lo"
  std::string host;       // "fe80::1"
  std::uint32_t scope = 0;
  std::shared_ptr<RecordingFactory> server = std::make_shared<RecordingFactory>();
  std::shared_ptr<RecordingFactory> client = std::make_shared<RecordingFactory>();
  std::shared_ptr<IListeningPort> port;

  void SetUp() override {
    NamespacedTest::SetUp();
    const char* given = std::getenv("TWISTED_TEST_LINK_LOCAL");
    if (!given) GTEST_SKIP() << "needs in_namespace.py --link-local";
    interface = given;
    host = interface.substr(0, interface.find('%'));
    scope = ::if_nametoindex(interface.substr(interface.find('%') + 1).c_str());
    ASSERT_NE(scope, 0u);
  }
  // Listens on the link-local address, connects a client to it, and runs
  // until the server side has its connection.
  std::string serverPrefix;  // the server transport's, while connected
  // (Stopping the reactor closes the connections; their addresses stay.)
  void connectOverLinkLocal() {
    server->setup = [this](ScriptedProtocol& p) {
      p.onMade = [this](ScriptedProtocol& self) {
        serverPrefix = dynamic_cast<IFileDescriptor&>(*self.transport).logPrefix();
        reactor->stop();
      };
    };
    port = reactor->listenTCP(0, server, 50, interface);
    reactor->connectTCP(interface, portOf(*port), client);
    runReactor(30);
    ASSERT_EQ(server->protocols.size(), 1u);
  }
  void TearDown() override {
    for (auto& p : server->protocols) p->transport->loseConnection();
    if (port) {
      bool stopped = false;
      port->stopListening().addCallback([&] { stopped = true; });
      EXPECT_TRUE(iterateUntil(
          *reactor,
          [&] {
            bool closed = stopped;
            for (auto& p : client->protocols) closed = closed && p->closed;
            for (auto& p : server->protocols) closed = closed && p->closed;
            return closed;
          },
          "the port and both sides closed"));
    }
    NamespacedTest::TearDown();
  }
  IPv6Address expected(int port) const {
    return IPv6Address{Transport::TCP, host, static_cast<std::uint16_t>(port), 0, scope};
  }
};

// TCPPortTestsMixin.test_portGetHostOnIPv4: without an interface a port
// listens on every IPv4 address (here, only this namespace's).
TEST_P(PrivateNetworkTest, APortWithoutAnInterfaceListensOnTheIPv4Wildcard) {
  port = reactor->listenTCP(0, server);
  Address bound = port->getHost();
  ASSERT_TRUE(std::holds_alternative<IPv4Address>(bound));
  EXPECT_EQ(std::get<IPv4Address>(bound).host, "0.0.0.0");
  EXPECT_GT(portOf(bound), 0);
}

// TCPPortTestsMixin.test_portGetHostOnIPv6ScopeID
TEST_P(PrivateNetworkTest, APortOnALinkLocalAddressReportsItsScope) {
  port = reactor->listenTCP(0, server, 50, interface);
  EXPECT_EQ(port->getHost(), Address(expected(portOf(*port))));
}

// TCPPortTestsMixin.test_buildProtocolIPv6AddressScopeID and
// TCPTransportServerAddressTestMixin.test_serverAddressTCP6: buildProtocol
// gets the client's IPv6 address with its scope, and the server
// transport's log prefix names the peer.
TEST_P(PrivateNetworkTest, BuildProtocolGetsTheClientsAddressWithItsScope) {
  connectOverLinkLocal();
  if (HasFatalFailure()) return;
  ASSERT_EQ(server->addresses.size(), 1u);
  Address peer = client->protocols.at(0)->transport->getHost();
  EXPECT_EQ(server->addresses[0], peer);
  ASSERT_TRUE(std::holds_alternative<IPv6Address>(peer));
  EXPECT_EQ(std::get<IPv6Address>(peer).host, host);
  EXPECT_EQ(std::get<IPv6Address>(peer).scopeID, scope);
  EXPECT_TRUE(serverPrefix.starts_with("AccumulatingProtocol,")) << serverPrefix;
  EXPECT_TRUE(serverPrefix.ends_with("," + host)) << serverPrefix;
}

// TCPPortTestsMixin.test_serverGetHostOnIPv6ScopeID
TEST_P(PrivateNetworkTest, TheServerTransportsHostHasTheScope) {
  connectOverLinkLocal();
  if (HasFatalFailure()) return;
  EXPECT_EQ(server->protocols[0]->transport->getHost(), Address(expected(portOf(*port))));
}

// TCPPortTestsMixin.test_serverGetPeerOnIPv6ScopeID
TEST_P(PrivateNetworkTest, TheServerTransportsPeerHasTheScope) {
  connectOverLinkLocal();
  if (HasFatalFailure()) return;
  Address peer = server->protocols[0]->transport->getPeer();
  ASSERT_TRUE(std::holds_alternative<IPv6Address>(peer));
  EXPECT_EQ(peer, Address(expected(portOf(client->protocols.at(0)->transport->getHost()))));
}

TWISTED_ALL_BACKENDS(NamespacedTest);
TWISTED_ALL_BACKENDS(PrivateNetworkTest);

}  // namespace
}  // namespace twisted::test

// Tests that need a view of the system of their own, run by ctest under
// tests/support/in_namespace.py (which says what it set in the environment):
// host names in their IDNA form from a private /etc/hosts, TCP over a
// link-local IPv6 address (with its scope) in a private network namespace,
// and multicast that leaves by a veth pair to a second namespace (IPv6
// groups, which the loopback interface does not carry, and loopback mode
// off, which it ignores). Run directly, without those, each is skipped.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "datagram_helpers.hpp"
#include "iterate_until.hpp"
#include "tcp_helpers.hpp"
#include "twisted/internet/reactor_udp.hpp"
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

// ---- a veth pair between this namespace and a peer one --------------------------------------
// A datagram sent to a group by this end's interface reaches the peer's
// members as if from another host; with loopback on, this namespace's own
// members get a copy too.

class VethMulticastTest : public ReactorTest {
 protected:
  struct End {
    std::string interface, ipv4;
  };
  End here, peer;
  std::string linkLocal;  // this end's
  std::string peerNamespace;

  void SetUp() override {
    ReactorTest::SetUp();
    const char* ns = std::getenv("TWISTED_TEST_VETH_PEER_NETNS");
    if (!ns) GTEST_SKIP() << "needs in_namespace.py --veth";
    peerNamespace = ns;
    auto env = [](const char* name) {
      const char* v = std::getenv(name);
      return std::string(v ? v : "");
    };
    here = {env("TWISTED_TEST_VETH"), env("TWISTED_TEST_VETH_IPV4")};
    peer = {env("TWISTED_TEST_VETH_PEER"), env("TWISTED_TEST_VETH_PEER_IPV4")};
    linkLocal = env("TWISTED_TEST_VETH_LINK_LOCAL");
  }

  // Runs `f` with this thread in the peer namespace: the sockets it makes
  // (and the interface names it looks up) are the peer's.
  template <class F>
  auto inPeerNamespace(F f) {
    Fd own(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    Fd other(::open(peerNamespace.c_str(), O_RDONLY | O_CLOEXEC));
    if (own.get() < 0 || other.get() < 0 || ::setns(other.get(), CLONE_NEWNET) != 0) {
      throw std::runtime_error("cannot enter the peer namespace " + peerNamespace);
    }
    struct Back {
      int fd;
      ~Back() {
        if (::setns(fd, CLONE_NEWNET) != 0) std::abort();  // nothing after would be true
      }
    } back{own.get()};
    return f();
  }

  static bool isIPv6(const std::string& group) { return group.find(':') != std::string::npos; }
  // A port on every address of the group's family, joined to `group` on
  // `end`'s interface (its IPv4 address, or for IPv6 its name).
  std::shared_ptr<IMulticastTransport> member(std::shared_ptr<DatagramRecorder> p,
                                              const std::string& group, const End& end,
                                              int port = 0) {
    auto m = reactor->listenMulticast(port, std::move(p), isIPv6(group) ? "::" : "", 65536);
    EXPECT_TRUE(fires(*reactor, m->joinGroup(group, isIPv6(group) ? end.interface : end.ipv4)));
    return m;
  }
  // A port that sends to `group`'s family by this end's interface.
  std::shared_ptr<IMulticastTransport> sender(std::shared_ptr<DatagramRecorder> p,
                                              const std::string& group) {
    auto m = reactor->listenMulticast(0, std::move(p), isIPv6(group) ? "::" : "");
    EXPECT_TRUE(
        fires(*reactor, m->setOutgoingInterface(isIPv6(group) ? here.interface : here.ipv4)));
    return m;
  }
  void waitFor(const std::shared_ptr<DatagramRecorder>& p, std::size_t n, const char* what) {
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return p->packets.size() >= n; }, what));
  }
  void stop(const std::shared_ptr<IListeningPort>& port) { stopAndWait(*reactor, port); }

  // test_loopback, where it can be shown: a member on this end (`near`)
  // gets a copy of what this host sends only while loopback is on, and the
  // member on the peer end (`far`) gets every datagram through the veth.
  // "Not received" is decided by order, not by waiting: once `far` has the
  // datagram sent with loopback off, its copy to `near` (had the kernel
  // made one) is already in `near`'s socket ahead of a marker sent to
  // `near` directly, so `near`'s next datagram must be the marker.
  void loopbackOffReachesOnlyThePeer(const std::string& group, const std::string& localhost) {
    auto nearby = std::make_shared<DatagramRecorder>();
    auto faraway = std::make_shared<DatagramRecorder>();
    auto near = member(nearby, group, here);
    int port = portOf(*near);
    auto far = inPeerNamespace([&] { return member(faraway, group, peer, port); });
    auto from = sender(std::make_shared<DatagramRecorder>(), group);
    auto to = static_cast<std::uint16_t>(port);
    [&] {
      ASSERT_TRUE(from->getLoopbackMode());
      from->write("looped", group, to);
      waitFor(faraway, 1, "the peer's copy, loopback on");
      waitFor(nearby, 1, "this end's copy, loopback on");
      if (HasFatalFailure()) return;
      EXPECT_EQ(nearby->packets[0].first, "looped");

      from->setLoopbackMode(false);
      EXPECT_FALSE(from->getLoopbackMode());
      from->write("not looped", group, to);
      waitFor(faraway, 2, "the peer's copy, loopback off");
      if (HasFatalFailure()) return;
      EXPECT_EQ(faraway->packets[1].first, "not looped");
      from->write("marker", localhost, to);
      waitFor(nearby, 2, "the marker sent to this end's member");
      if (HasFatalFailure()) return;
      EXPECT_EQ(nearby->packets[1].first, "marker") << "this end got a copy with loopback off";
      EXPECT_EQ(nearby->packets.size(), 2u);
      EXPECT_EQ(faraway->packets.size(), 2u);
    }();
    stop(from);
    stop(far);
    stop(near);
  }
};

// An IPv6 group (link-local scope, ff02::) joined on the peer's end of the
// veth gets what a port here sends to it by this end, datagrams longer than
// the link's MTU too (fragmented and put together again); the sender's
// address is this end's link-local one with the receiving interface as
// its scope.
TEST_P(VethMulticastTest, AnIPv6MemberOnThePeerGetsWhatIsSentToTheGroup) {
  const std::string group = "ff02::7a15";
  auto received = std::make_shared<DatagramRecorder>();
  std::uint32_t scope = 0;
  auto far = inPeerNamespace([&] {
    scope = ::if_nametoindex(peer.interface.c_str());
    return member(received, group, peer);
  });
  ASSERT_NE(scope, 0u);
  auto from = sender(std::make_shared<DatagramRecorder>(), group);
  EXPECT_EQ(from->getOutgoingInterface(), here.interface);
  const std::vector<std::size_t> sizes = {1, 100, 1452, 1453, 4000, 9000};
  std::vector<std::string> sent;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    sent.push_back(std::string(sizes[i], static_cast<char>('a' + i)));
    from->write(sent.back(), group, static_cast<std::uint16_t>(portOf(*far)));
  }
  waitFor(received, sent.size(), "every datagram at the peer's member");
  for (std::size_t i = 0; i < received->packets.size(); ++i) {
    EXPECT_EQ(received->packets[i].first, i < sent.size() ? sent[i] : "") << "datagram " << i;
    EXPECT_EQ(received->packets[i].second,
              Address(IPv6Address{Transport::UDP, linkLocal,
                                  static_cast<std::uint16_t>(portOf(*from)), 0, scope}));
  }
  stop(from);
  stop(far);
}

TEST_P(VethMulticastTest, WithIPv6LoopbackOffOnlyThePeerGetsTheGroupsDatagram) {
  loopbackOffReachesOnlyThePeer("ff02::7a16", "::1");
}

TEST_P(VethMulticastTest, WithIPv4LoopbackOffOnlyThePeerGetsTheGroupsDatagram) {
  loopbackOffReachesOnlyThePeer("225.0.0.17", "127.0.0.1");
}

TWISTED_ALL_BACKENDS(NamespacedTest);
TWISTED_ALL_BACKENDS(PrivateNetworkTest);
TWISTED_ALL_BACKENDS(VethMulticastTest);

}  // namespace
}  // namespace twisted::test

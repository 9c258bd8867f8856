// TCP clients: Connector states, failures reaching clientConnectionFailed
// (refused, timeout, DNS, bind), name resolution, ReconnectingClientFactory.
// Covers the client parts of twisted/internet/test/test_tcp.py,
// twisted/test/test_tcp.py and twisted/test/test_factories.py.
#include <netinet/in.h>
#include <sys/socket.h>

#include <map>
#include <set>

#include "endpoint_helpers.hpp"
#include "iterate_until.hpp"
#include "tcp_helpers.hpp"
#include "twisted/internet/defer.hpp"
#include "twisted/internet/reconnecting.hpp"
#include "twisted/testing/clock.hpp"
#include "twisted/testing/deferred.hpp"
#include "twisted/testing/memory_reactor.hpp"

namespace twisted::test {
namespace {

class TCPClientTest : public ReactorTest {
 protected:
  std::shared_ptr<RecordingFactory> client = std::make_shared<RecordingFactory>();

  void stopOnFailure() {
    client->onFailed = [this](IConnector&, const Failure&) { reactor->stop(); };
  }
};

TEST_P(TCPClientTest, RefusedConnectionReachesClientConnectionFailed) {
  ClosedPort closed;
  stopOnFailure();
  auto connector = reactor->connectTCP("127.0.0.1", closed.port(), client);
  runReactor();
  ASSERT_EQ(client->failed.size(), 1u);
  EXPECT_TRUE(client->failed[0].check<error::ConnectionRefusedError>())
      << client->failed[0].getErrorMessage();
  EXPECT_NE(client->failed[0].getErrorMessage().find(std::to_string(closed.port())),
            std::string::npos);
  EXPECT_EQ(client->started, 1);
  EXPECT_EQ(client->stopped, 1) << "stopFactory after a failure the factory did not retry";
  EXPECT_TRUE(client->protocols.empty());
  auto& c = static_cast<tcp::Connector&>(*connector);
  EXPECT_EQ(c.state(), tcp::Connector::State::Disconnected);
  EXPECT_FALSE(c.transport()) << "the connector lets go of the failed transport";
}

TEST_P(TCPClientTest, ConnectTimesOutWithTimeoutError) {
  // A listener whose accept queue is full: further SYNs are dropped, so the
  // attempt hangs until our timeout.
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(listener.get(), 0), 0);
  socklen_t len = sizeof a;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<Fd> fillers;
  for (int i = 0; i < 4; ++i) {
    Fd f(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ::connect(f.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(std::move(f));
  }
  stopOnFailure();
  double started = reactor->seconds();
  reactor->connectTCP("127.0.0.1", ntohs(a.sin_port), client, 0.3);
  runReactor();
  ASSERT_EQ(client->failed.size(), 1u);
  EXPECT_TRUE(client->failed[0].check<error::TimeoutError>())
      << client->failed[0].getErrorMessage();
  EXPECT_TRUE(client->failed[0].check<error::UserError>())
      << "a TimeoutError is a UserError, as Twisted";
  EXPECT_GE(reactor->seconds() - started, 0.29);
}

TEST_P(TCPClientTest, DNSLookupErrorFromTheInstalledResolver) {
  auto resolver = std::make_shared<TableResolver>();
  reactor->installNameResolver(resolver);
  stopOnFailure();
  reactor->connectTCP("no.such.host.invalid", 80, client);
  runReactor();
  ASSERT_EQ(client->failed.size(), 1u);
  EXPECT_TRUE(client->failed[0].check<error::DNSLookupError>());
  EXPECT_EQ(resolver->asked, std::vector<std::string>{"no.such.host.invalid"});
}

TEST_P(TCPClientTest, HostNameIsResolvedBeforeConnecting) {
  auto resolver = std::make_shared<TableResolver>();
  resolver->table["server.test"] = {IPv4Address{Transport::TCP, "127.0.0.1", 0}};
  reactor->installNameResolver(resolver);
  auto server = std::make_shared<RecordingFactory>();
  auto port = reactor->listenTCP(0, server, 50, "127.0.0.1");
  client->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) { self.transport->loseConnection(); };
    p.onLost = [&](ScriptedProtocol&, const Failure&) {
      port->stopListening().addCallback([this] { reactor->stop(); });
    };
  };
  auto connector = reactor->connectTCP("server.test", portOf(*port), client);
  EXPECT_EQ(std::get<IPv4Address>(connector->getDestination()).host, "server.test");
  runReactor();
  ASSERT_EQ(client->protocols.size(), 1u);
  EXPECT_EQ(client->addresses.at(0), port->getHost()) << "buildProtocol gets the resolved address";
}

TEST_P(TCPClientTest, ThreadedResolverResolvesLocalhost) {
  std::vector<Address> found;
  reactor->nameResolver()
      .resolveHostName("localhost", 1234, AddressFamily::IPv4)
      .addCallbacks([&](std::vector<Address> a) { found = std::move(a); },
                    [&](const Failure& f) { ADD_FAILURE() << f.getErrorMessage(); })
      .addBoth([this](Outcome<void>) { reactor->stop(); });
  runReactor();
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0], (Address{IPv4Address{Transport::TCP, "127.0.0.1", 1234}}));
}

TEST_P(TCPClientTest, ThreadedResolverFailsWithDNSLookupError) {
  std::optional<Failure> failure;
  // A name that cannot exist (RFC 6761 ".invalid"); with no network the
  // lookup fails at once either way.
  reactor->nameResolver()
      .resolveHostName("no-such-host.invalid", 80)
      .addCallbacks([&](std::vector<Address>) { ADD_FAILURE() << "resolved"; },
                    [&](const Failure& f) { failure = f; })
      .addBoth([this](Outcome<void>) { reactor->stop(); });
  runReactor(30);
  ASSERT_TRUE(failure);
  EXPECT_TRUE(failure->check<error::DNSLookupError>());
  EXPECT_NE(failure->getErrorMessage().find("no-such-host.invalid"), std::string::npos);
}

TEST_P(TCPClientTest, BindAddressInUseGivesConnectBindError) {
  auto server = std::make_shared<RecordingFactory>();
  auto port = reactor->listenTCP(0, server, 50, "127.0.0.1");
  stopOnFailure();
  // The listening port's own address cannot be bound by a client socket.
  reactor->connectTCP("127.0.0.1", portOf(*port), client, 30,
                      BindAddress{"127.0.0.1", portOf(*port)});
  runReactor();
  ASSERT_EQ(client->failed.size(), 1u);
  EXPECT_TRUE(client->failed[0].check<error::ConnectBindError>())
      << client->failed[0].getErrorMessage();
  port->stopListening();
  reactor->iterate(0);
}

TEST_P(TCPClientTest, BindAddressSetsTheLocalAddress) {
  auto server = std::make_shared<RecordingFactory>();
  auto port = reactor->listenTCP(0, server, 50, "127.0.0.1");
  ClosedPort spare;  // a free port number to bind to
  int local = spare.port();
  { ClosedPort gone = std::move(spare); }
  client->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) { self.transport->loseConnection(); };
    p.onLost = [&](ScriptedProtocol&, const Failure&) {
      port->stopListening().addCallback([this] { reactor->stop(); });
    };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), client, 30, BindAddress{"127.0.0.1", local});
  runReactor();
  ASSERT_EQ(server->addresses.size(), 1u);
  EXPECT_EQ(portOf(server->addresses[0]), local);
}

// TCPClientTestsBase.test_addresses: connected by name from a bound
// address, the client transport's getHost is that address and its getPeer
// the resolved server address; the server sees the mirror image.
TEST_P(TCPClientTest, ConnectedByNameFromABoundAddressBothEndsReportTheirAddresses) {
  auto resolver = std::make_shared<TableResolver>();
  resolver->table["server.test"] = {IPv4Address{Transport::TCP, "127.0.0.1", 0}};
  reactor->installNameResolver(resolver);
  auto server = std::make_shared<RecordingFactory>();
  auto port = reactor->listenTCP(0, server, 50, "127.0.0.1");
  ClosedPort spare;
  int local = spare.port();
  { ClosedPort gone = std::move(spare); }
  Address clientHost, clientPeer, serverHost, serverPeer;
  int lost = 0;
  auto stopWhenBoth = [&](ScriptedProtocol&, const Failure&) {
    if (++lost == 2) port->stopListening().addCallback([this] { reactor->stop(); });
  };
  server->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) {
      serverHost = self.transport->getHost();
      serverPeer = self.transport->getPeer();
    };
    p.onLost = stopWhenBoth;
  };
  client->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) {
      clientHost = self.transport->getHost();
      clientPeer = self.transport->getPeer();
      self.transport->loseConnection();
    };
    p.onLost = stopWhenBoth;
  };
  reactor->connectTCP("server.test", portOf(*port), client, 30, BindAddress{"127.0.0.1", local});
  runReactor();
  Address bound = IPv4Address{Transport::TCP, "127.0.0.1", static_cast<std::uint16_t>(local)};
  EXPECT_EQ(clientHost, bound);
  EXPECT_EQ(clientPeer, port->getHost());
  EXPECT_EQ(serverPeer, bound);
  EXPECT_EQ(serverHost, port->getHost());
}

TEST_P(TCPClientTest, ConnectorStates) {
  auto server = std::make_shared<RecordingFactory>();
  auto port = reactor->listenTCP(0, server, 50, "127.0.0.1");
  auto connector = reactor->connectTCP("127.0.0.1", portOf(*port), client);
  auto& c = static_cast<tcp::Connector&>(*connector);
  EXPECT_EQ(c.state(), tcp::Connector::State::Connecting);
  EXPECT_THROW(connector->connect(), std::logic_error) << "connect() only when disconnected";
  EXPECT_EQ(std::get<IPv4Address>(connector->getDestination()).port, portOf(*port));
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(client->protocols.empty()); }, "client->protocols.empty()", 0.01));
  EXPECT_EQ(c.state(), tcp::Connector::State::Connected);
  EXPECT_THROW(connector->stopConnecting(), error::NotConnectingError);
  EXPECT_THROW(connector->connect(), std::logic_error);
  connector->disconnect();  // loses the connection
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(client->lost.empty()); }, "client->lost.empty()", 0.01));
  EXPECT_EQ(c.state(), tcp::Connector::State::Disconnected);
  EXPECT_TRUE(client->lost[0].check<error::ConnectionDone>());
  // The same connector connects again.
  connector->connect();
  EXPECT_EQ(client->startedConnectingCalls, 2);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(client->protocols.size() < 2); }, "client->protocols.size() < 2",
      0.01));
  connector->disconnect();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(client->lost.size() < 2); }, "client->lost.size() < 2", 0.01));
  EXPECT_EQ(client->started, 2);
  EXPECT_EQ(client->stopped, 2);
  port->stopListening();
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        return server->stopped != 0 && server->protocols.size() >= 2 &&
               server->protocols[1]->closed;
      },
      "the server stops and its second connection closes"));
}

TEST_P(TCPClientTest, StopConnectingGivesUserError) {
  ClosedPort closed;
  auto connector = reactor->connectTCP("127.0.0.1", closed.port(), client);
  connector->stopConnecting();
  ASSERT_EQ(client->failed.size(), 1u);
  EXPECT_TRUE(client->failed[0].check<error::UserError>());
  EXPECT_EQ(client->stopped, 1);
  EXPECT_THROW(connector->stopConnecting(), error::NotConnectingError);
  reactor->iterate(0);  // the cancelled attempt's next-turn start does nothing
  EXPECT_EQ(client->failed.size(), 1u);
  connector->disconnect();  // disconnected: nothing to do
}

TEST_P(TCPClientTest, StopConnectingWhileResolving) {
  // A resolver that never answers: the attempt is stopped while waiting.
  class Never : public IHostnameResolver {
   public:
    Deferred<std::vector<Address>> resolveHostName(const std::string&, int,
                                                   AddressFamily) override {
      return pending;
    }
    Deferred<std::vector<Address>> pending;
  };
  auto never = std::make_shared<Never>();
  reactor->installNameResolver(never);
  auto connector = reactor->connectTCP("slow.test", 80, client);
  reactor->iterate(0);  // the lookup starts on the next turn
  connector->stopConnecting();
  ASSERT_EQ(client->failed.size(), 1u);
  EXPECT_TRUE(client->failed[0].check<error::UserError>());
  EXPECT_FALSE(testing::hasNoResult(never->pending)) << "the lookup was cancelled";
}

TEST_P(TCPClientTest, ClientConnectionFailedMayReconnect) {
  ClosedPort closed;
  int attempts = 0;
  client->onFailed = [&](IConnector& c, const Failure&) {
    if (++attempts < 3) {
      c.connect();
    } else {
      reactor->stop();
    }
  };
  reactor->connectTCP("127.0.0.1", closed.port(), client);
  runReactor();
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(client->started, 1) << "the factory stays started while the connector retries";
  EXPECT_EQ(client->stopped, 1);
}

// TCPConnectorTestsBuilder.test_reconnect: connect() from inside
// clientConnectionLost starts a new attempt (the factory is not stopped in
// between); the server closed its port as it built the first protocol, so
// the retry is refused and reaches clientConnectionFailed.
TEST_P(TCPClientTest, ConnectFromClientConnectionLostMakesANewAttempt) {
  auto server = std::make_shared<RecordingFactory>();
  std::shared_ptr<IListeningPort> port;
  server->setup = [&](ScriptedProtocol& p) {
    port->stopListening();
    p.onMade = [](ScriptedProtocol& self) { self.transport->loseConnection(); };
  };
  port = reactor->listenTCP(0, server, 50, "127.0.0.1");
  int stoppedWhenLost = -1;
  client->onLost = [&](IConnector& c, const Failure&) {
    stoppedWhenLost = client->stopped;
    c.connect();
  };
  stopOnFailure();
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  runReactor();
  ASSERT_EQ(client->protocols.size(), 1u);
  EXPECT_TRUE(client->protocols[0]->made);
  EXPECT_TRUE(client->protocols[0]->closed);
  EXPECT_EQ(stoppedWhenLost, 0);
  ASSERT_EQ(client->failed.size(), 1u);
  EXPECT_TRUE(client->failed[0].check<error::ConnectionRefusedError>())
      << client->failed[0].brief();
  EXPECT_EQ(client->started, 1) << "started once: the reconnect kept it started";
  EXPECT_EQ(client->stopped, 1);
}

TWISTED_ALL_BACKENDS(TCPClientTest);

// ---- ReconnectingClientFactory, on a fake clock and connector ---------------

TEST(ReconnectingClientFactory, DelaysGrowByFactorUpToMaxDelay) {
  testing::MemoryReactor reactor;
  auto factory = std::make_shared<ReconnectingClientFactory>(reactor.clock());
  factory->jitter = 0;
  factory->maxDelay = 10;
  reactor.connectTCP("127.0.0.1", 1, factory);
  auto& connector = *reactor.connectors.at(0);
  std::vector<double> delays;
  for (int i = 0; i < 5; ++i) {
    connector.failConnection(Failure::of(error::ConnectionRefusedError()));
    ASSERT_TRUE(factory->callID());
    delays.push_back(factory->delay());
    reactor.clock().advance(factory->delay());
  }
  EXPECT_NEAR(delays[0], 2.718281828, 1e-6);
  EXPECT_NEAR(delays[1], 7.389056099, 1e-6);
  EXPECT_DOUBLE_EQ(delays[2], 10);
  EXPECT_DOUBLE_EQ(delays[4], 10);
  EXPECT_EQ(connector.connectCalls, 6) << "connectTCP's own call plus one per retry";
  EXPECT_EQ(factory->retries(), 5);
}

TEST(ReconnectingClientFactory, JitterSpreadsTheDelay) {
  testing::MemoryReactor reactor;
  auto factory = std::make_shared<ReconnectingClientFactory>(reactor.clock());
  factory->seed(42);
  factory->maxDelay = 1e9;
  reactor.connectTCP("127.0.0.1", 1, factory);
  auto& connector = *reactor.connectors.at(0);
  std::set<double> seen;
  for (int i = 0; i < 5; ++i) {
    double before = factory->delay();
    connector.failConnection(Failure::of(error::ConnectionRefusedError()));
    double ratio = factory->delay() / (before * factory->factor);
    EXPECT_GT(ratio, 0.4);
    EXPECT_LT(ratio, 1.6);
    seen.insert(ratio);
    reactor.clock().advance(factory->delay());
  }
  EXPECT_GT(seen.size(), 1u) << "jitter varies the delay";
}

TEST(ReconnectingClientFactory, MaxRetriesStopsRetrying) {
  testing::MemoryReactor reactor;
  auto factory = std::make_shared<ReconnectingClientFactory>(reactor.clock());
  factory->maxRetries = 2;
  reactor.connectTCP("127.0.0.1", 1, factory);
  auto& connector = *reactor.connectors.at(0);
  for (int i = 0; i < 3; ++i) {
    connector.failConnection(Failure::of(error::ConnectionRefusedError()));
    reactor.clock().advance(1e6);
  }
  EXPECT_EQ(connector.connectCalls, 3) << "two retries after the first attempt";
  EXPECT_TRUE(reactor.getDelayedCalls().empty());
}

TEST(ReconnectingClientFactory, StopTryingCancelsThePendingRetryAndStopsConnecting) {
  testing::MemoryReactor reactor;
  auto factory = std::make_shared<ReconnectingClientFactory>(reactor.clock());
  reactor.connectTCP("127.0.0.1", 1, factory);
  auto& connector = *reactor.connectors.at(0);
  connector.failConnection(Failure::of(error::ConnectionRefusedError()));
  EXPECT_EQ(reactor.getDelayedCalls().size(), 1u);
  factory->stopTrying();
  EXPECT_TRUE(reactor.getDelayedCalls().empty());
  EXPECT_TRUE(connector.stoppedConnecting);
  EXPECT_FALSE(factory->continueTrying());
  connector.loseConnection(Failure::of(error::ConnectionLost()));
  EXPECT_TRUE(reactor.getDelayedCalls().empty()) << "no retry after stopTrying";
}

TEST(ReconnectingClientFactory, ResetDelayAfterAConnection) {
  testing::MemoryReactor reactor;
  auto factory = std::make_shared<ReconnectingClientFactory>(reactor.clock());
  factory->jitter = 0;
  reactor.connectTCP("127.0.0.1", 1, factory);
  auto& connector = *reactor.connectors.at(0);
  connector.failConnection(Failure::of(error::ConnectionRefusedError()));
  connector.failConnection(Failure::of(error::ConnectionRefusedError()));
  EXPECT_GT(factory->delay(), 7);
  factory->resetDelay();
  EXPECT_DOUBLE_EQ(factory->delay(), factory->initialDelay);
  EXPECT_EQ(factory->retries(), 0);
  reactor.clock().advance(1e6);
}

// ReconnectingFactoryTests.test_stopTryingDoesNotReconnect, over a real
// connector: stopTrying while a retry is connecting stops that attempt,
// whose UserError reaches clientConnectionFailed at once, and that failure
// schedules no further retry. (As in Twisted, the factory knows its
// connector from the first failure on, so the retry is the case.)
TEST_P(TCPClientTest, StopTryingWhileARetryIsConnectingDoesNotReconnect) {
  ClosedPort closed;
  class Recording : public ReconnectingClientFactory {
   public:
    using ReconnectingClientFactory::ReconnectingClientFactory;
    std::vector<Failure> failed;
    void clientConnectionFailed(IConnector& c, const Failure& reason) override {
      failed.push_back(reason);
      ReconnectingClientFactory::clientConnectionFailed(c, reason);
    }
  };
  auto factory = std::make_shared<Recording>(*reactor);
  factory->initialDelay = 0.01;
  factory->resetDelay();  // the delay starts from initialDelay
  auto connector = reactor->connectTCP("127.0.0.1", closed.port(), factory);
  auto& c = static_cast<tcp::Connector&>(*connector);
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] { return factory->failed.size() == 1 && c.state() == tcp::Connector::State::Connecting; },
      "the first attempt refused and the retry connecting", 0.005));
  EXPECT_TRUE(factory->failed[0].check<error::ConnectionRefusedError>());
  factory->stopTrying();
  ASSERT_EQ(factory->failed.size(), 2u) << "reported from inside stopTrying";
  EXPECT_TRUE(factory->failed[1].check<error::UserError>()) << factory->failed[1].brief();
  EXPECT_FALSE(factory->callID() && factory->callID()->active()) << "no retry scheduled";
  for (int i = 0; i < 10; ++i) reactor->iterate(0.01);
  EXPECT_EQ(c.state(), tcp::Connector::State::Disconnected);
  EXPECT_EQ(factory->failed.size(), 2u) << "no further attempt was made";
}

// Over real sockets, on every backend: refused attempts are retried until a
// server appears on the port.
TEST_P(TCPClientTest, ReconnectingClientFactoryReconnectsUntilAServerAppears) {
  ClosedPort closed;
  int number = closed.port();
  auto factory = std::make_shared<ReconnectingClientFactory>(*reactor);
  factory->initialDelay = 0.01;
  factory->maxDelay = 0.05;
  std::shared_ptr<IListeningPort> port;
  auto server = std::make_shared<RecordingFactory>();
  // The server's side ends when the client closes: then everything stops.
  server->setup = [&](ScriptedProtocol& p) {
    p.onLost = [&](ScriptedProtocol&, const Failure&) {
      port->stopListening().addCallback([this] { reactor->stop(); });
    };
  };
  class Hello : public Protocol {
   public:
    std::function<void(Hello&)> made;
    void connectionMade() override { made(*this); }
  };
  factory->protocol = [&] {
    auto p = std::make_shared<Hello>();
    p->made = [&factory](Hello& self) {
      factory->resetDelay();
      factory->stopTrying();
      self.transport->loseConnection();
    };
    return p;
  };
  // After a few refusals, a server appears on the port.
  reactor->callLater(0.03, [&] {
    { ClosedPort gone = std::move(closed); }
    port = reactor->listenTCP(number, server, 50, "127.0.0.1");
  });
  reactor->connectTCP("127.0.0.1", number, factory);  // the handle is dropped: it must live on
  runReactor(60);                                     // a bound for a loaded machine, not a verdict
  ASSERT_TRUE(port);
  EXPECT_EQ(server->addresses.size(), 1u);
}

}  // namespace
}  // namespace twisted::test

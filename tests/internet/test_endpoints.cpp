// Endpoints and ClientCreator over real sockets, on every backend: the TCP
// parts of twisted/internet/test/test_endpoints.py and ClientCreator from
// twisted/test/test_tcp.py / test_internet.py.
#include "endpoint_helpers.hpp"
#include "tcp_helpers.hpp"
#include "twisted/internet/client_creator.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/testing/deferred.hpp"

namespace twisted::test {
namespace {

using testing::failureResultOf;
using testing::hasNoResult;
using testing::successResultOf;

// A client protocol that says hello, and closes when told to.
class Greeter : public Protocol {
 public:
  explicit Greeter(std::string greeting = "hello") : greeting_(std::move(greeting)) {}
  void connectionMade() override {
    madeCalls++;
    transport->write(greeting_);
    if (onMade) onMade(*this);
  }
  void dataReceived(std::string_view data) override {
    received.append(data);
    if (onData) onData(*this);
  }
  void connectionLost(const Failure& reason) override {
    lost = reason;
    if (onLost) onLost(*this);
  }
  int madeCalls = 0;
  std::string received;
  std::optional<Failure> lost;
  std::function<void(Greeter&)> onMade;
  std::function<void(Greeter&)> onData;
  std::function<void(Greeter&)> onLost;
  const std::string& greeting() const { return greeting_; }

 private:
  std::string greeting_;
};

class EndpointTest : public ReactorTest {
 protected:
  std::shared_ptr<RecordingFactory> server = std::make_shared<RecordingFactory>();
  std::shared_ptr<IListeningPort> port;

  // An echo server on 127.0.0.1 (or ::1) through a server endpoint.
  void listen(bool ipv6 = false) {
    server->setup = [](ScriptedProtocol& p) {
      p.onData = [](ScriptedProtocol& self, std::string_view d) { self.transport->write(d); };
    };
    std::shared_ptr<IStreamServerEndpoint> ep;
    if (ipv6) {
      ep = std::make_shared<TCP6ServerEndpoint>(*reactor, 0, 50, "::1");
    } else {
      ep = std::make_shared<TCP4ServerEndpoint>(*reactor, 0, 50, "127.0.0.1");
    }
    port = successResultOf(ep->listen(server));
  }
  // Stops the port (if any) and then the reactor.
  void stopAll() {
    if (!port) {
      reactor->stop();
      return;
    }
    port->stopListening().addCallback([this] { reactor->stop(); });
  }
  // Runs the reactor until `d` fails, and returns the failure (none if it
  // succeeded, which stops the reactor too).
  template <class T>
  std::optional<Failure> runUntilFailed(Deferred<T> d, double delayStop = 0) {
    std::optional<Failure> failure;
    d.addBoth([&, delayStop](Outcome<T> outcome) {
      if (!outcome.succeeded()) failure = outcome.failure();
      reactor->callLater(delayStop, [this] { stopAll(); });
    });
    runReactor();
    return failure;
  }
};

TEST_P(EndpointTest, ServerEndpointListensAndClientEndpointConnects) {
  listen();
  TCP4ClientEndpoint ep(*reactor, "127.0.0.1", portOf(*port));
  auto greeter = std::make_shared<Greeter>();
  bool madeBeforeFired = false;
  std::shared_ptr<Greeter> got;
  connectProtocol(ep, greeter).addCallback([&](std::shared_ptr<Greeter> g) {
    madeBeforeFired = g->madeCalls == 1 && g->connected && g->transport != nullptr;
    got = g;
  });
  greeter->onData = [](Greeter& g) {
    if (g.received == "hello") g.transport->loseConnection();
  };
  greeter->onLost = [this](Greeter&) { stopAll(); };
  runReactor();
  EXPECT_EQ(got, greeter) << "fires with the very protocol instance";
  EXPECT_TRUE(madeBeforeFired) << "fires after connectionMade";
  EXPECT_EQ(greeter->received, "hello");
  ASSERT_TRUE(greeter->lost);
  EXPECT_TRUE(greeter->lost->check<error::ConnectionDone>());
}

TEST_P(EndpointTest, TheUserFactoryIsStartedAndStoppedAndSetsProtocolFactory) {
  listen();
  auto client = std::make_shared<RecordingFactory>();
  client->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->loseConnection(); };
  };
  TCP4ClientEndpoint ep(*reactor, "127.0.0.1", portOf(*port));
  Deferred<std::shared_ptr<Protocol>> d = ep.connect(client);
  client->setup = [this, prev = client->setup](ScriptedProtocol& p) {
    prev(p);
    p.onLost = [this](ScriptedProtocol&, const Failure&) { stopAll(); };
  };
  runReactor();
  auto proto = successResultOf(d);
  ASSERT_EQ(client->protocols.size(), 1u);
  EXPECT_EQ(proto, client->protocols[0]);
  EXPECT_EQ(client->started, 1);
  EXPECT_EQ(client->stopped, 1);
  EXPECT_EQ(client->startedConnectingCalls, 0) << "the endpoint's own factory is told, not ours";
}

TEST_P(EndpointTest, ListenFailureIsCannotListenError) {
  listen();
  TCP4ServerEndpoint again(*reactor, portOf(*port), 50, "127.0.0.1");
  Failure f = failureResultOf(again.listen(server));
  EXPECT_TRUE(f.check<error::CannotListenError>()) << f.getErrorMessage();
  EXPECT_NE(f.getErrorMessage().find(std::to_string(portOf(*port))), std::string::npos);
  stopAll();
  runReactor();
}

TEST_P(EndpointTest, RefusedConnectionFailsTheDeferred) {
  ClosedPort closed;
  auto client = std::make_shared<RecordingFactory>();
  TCP4ClientEndpoint ep(*reactor, "127.0.0.1", closed.port());
  std::optional<Failure> failure = runUntilFailed(ep.connect(client));
  ASSERT_TRUE(failure);
  EXPECT_TRUE(failure->check<error::ConnectionRefusedError>()) << failure->getErrorMessage();
  EXPECT_TRUE(client->protocols.empty());
  EXPECT_EQ(client->started, client->stopped);
}

TEST_P(EndpointTest, CancelWhileConnectingFailsWithConnectingCancelledError) {
  listen();
  auto client = std::make_shared<RecordingFactory>();
  TCP4ClientEndpoint ep(*reactor, "127.0.0.1", portOf(*port));
  Deferred<std::shared_ptr<Protocol>> d = ep.connect(client);
  d.cancel();
  Failure f = failureResultOf(d);
  EXPECT_TRUE(f.check<error::ConnectingCancelledError>());
  EXPECT_TRUE(f.check<error::CancelledError>()) << "a CancelledError, as users catch";
  EXPECT_NE(f.getErrorMessage().find(std::to_string(portOf(*port))), std::string::npos)
      << "names the destination: " << f.getErrorMessage();
  reactor->callLater(0.05, [this] { stopAll(); });
  runReactor();
  EXPECT_TRUE(client->protocols.empty()) << "no protocol is built after a cancel";
  EXPECT_TRUE(server->protocols.empty()) << "the attempt never reached the server";
  EXPECT_EQ(client->started, client->stopped);
}

TEST_P(EndpointTest, BuildProtocolReturningNothingFailsWithNoProtocol) {
  listen();
  auto client = std::make_shared<RecordingFactory>();
  client->refuse = true;
  TCP4ClientEndpoint ep(*reactor, "127.0.0.1", portOf(*port));
  std::optional<Failure> failure = runUntilFailed(ep.connect(client), 0.05);
  ASSERT_TRUE(failure);
  EXPECT_TRUE(failure->check<error::NoProtocol>()) << failure->getErrorMessage();
}

TEST_P(EndpointTest, HalfCloseReachesAProtocolConnectedThroughAnEndpoint) {
  // The wrapper must not hide IHalfCloseableProtocol from the transport.
  class HalfCloser : public Greeter, public IHalfCloseableProtocol {
   public:
    void readConnectionLost() override {
      readLost = true;
      transport->write("bye");
      dynamic_cast<ITCPTransport&>(*transport).loseWriteConnection();
    }
    void writeConnectionLost() override {
      writeLost = true;
      transport->loseConnection();  // both halves closed: as in Twisted, ours to end
    }
    bool readLost = false;
    bool writeLost = false;
  };
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) {
      dynamic_cast<ITCPTransport&>(*self.transport).loseWriteConnection();
    };
  };
  port = reactor->listenTCP(0, server, 50, "127.0.0.1");
  auto proto = std::make_shared<HalfCloser>();
  proto->onLost = [this](Greeter&) { stopAll(); };
  TCP4ClientEndpoint ep(*reactor, "127.0.0.1", portOf(*port));
  connectProtocol(ep, proto);
  runReactor();
  EXPECT_TRUE(proto->readLost);
  EXPECT_TRUE(proto->writeLost);
  ASSERT_EQ(server->protocols.size(), 1u);
  EXPECT_EQ(server->protocols[0]->data, "hellobye") << "the client wrote after the server's EOF";
}

TEST_P(EndpointTest, TCP6EndpointsListenAndConnectOverIPv6) {
  listen(/*ipv6=*/true);
  ASSERT_TRUE(std::holds_alternative<IPv6Address>(port->getHost()));
  TCP6ClientEndpoint ep(*reactor, "::1", portOf(*port));
  auto greeter = std::make_shared<Greeter>("six");
  greeter->onData = [](Greeter& g) {
    if (g.received == "six") g.transport->loseConnection();
  };
  greeter->onLost = [this](Greeter&) { stopAll(); };
  connectProtocol(ep, greeter);
  runReactor();
  EXPECT_EQ(greeter->received, "six");
  EXPECT_TRUE(std::holds_alternative<IPv6Address>(greeter->transport->getPeer()));
}

TEST_P(EndpointTest, TCP6ClientEndpointResolvesNamesToIPv6) {
  listen(/*ipv6=*/true);
  auto resolver = std::make_shared<TableResolver>();
  resolver->table["six.test"] = {IPv4Address{Transport::TCP, "127.0.0.1", 0},
                                 IPv6Address{Transport::TCP, "::1", 0}};
  TCP6ClientEndpoint ep(*reactor, *resolver, "six.test", portOf(*port));
  auto greeter = std::make_shared<Greeter>();
  greeter->onData = [](Greeter& g) { g.transport->loseConnection(); };
  greeter->onLost = [this](Greeter&) { stopAll(); };
  connectProtocol(ep, greeter);
  runReactor();
  ASSERT_EQ(resolver->families.size(), 1u);
  EXPECT_EQ(resolver->families[0], AddressFamily::IPv6);
  EXPECT_EQ(greeter->received, "hello");
}

TEST_P(EndpointTest, HostnameEndpointFallsBackToTheFamilyThatAnswers) {
  // ::1 refuses, 127.0.0.1 listens: the failed attempt starts the next at
  // once, without waiting for the attempt delay.
  listen();
  ClosedPort closedSix(/*ipv6=*/true);
  auto resolver = std::make_shared<TableResolver>();
  resolver->table["dual.test"] = {IPv6Address{Transport::TCP, "::1", 0},
                                  IPv4Address{Transport::TCP, "127.0.0.1", 0}};
  // The same port number on ::1 is closed only if nobody has it; use the
  // closed IPv6 port's number for both by listening there instead.
  port->stopListening();
  port = reactor->listenTCP(closedSix.port(), server, 50, "127.0.0.1");
  HostnameEndpoint ep(*reactor, *reactor, *resolver, "dual.test", closedSix.port(), 5, {},
                      /*attemptDelay=*/5);
  auto greeter = std::make_shared<Greeter>();
  greeter->onData = [](Greeter& g) { g.transport->loseConnection(); };
  greeter->onLost = [this](Greeter&) { stopAll(); };
  double started = reactor->seconds();
  connectProtocol(ep, greeter);
  runReactor();
  EXPECT_EQ(greeter->received, "hello");
  EXPECT_TRUE(std::holds_alternative<IPv4Address>(greeter->transport->getPeer()));
  EXPECT_LT(reactor->seconds() - started, 4.0) << "did not wait for the 5 s attempt delay";
}

TEST_P(EndpointTest, HostnameEndpointConnectsToLocalhostWithTheSystemResolver) {
  listen();
  HostnameEndpoint ep(*reactor, "localhost", portOf(*port), 5);
  auto greeter = std::make_shared<Greeter>();
  greeter->onData = [](Greeter& g) { g.transport->loseConnection(); };
  greeter->onLost = [this](Greeter&) { stopAll(); };
  std::optional<Failure> failure;
  connectProtocol(ep, greeter).addErrback([&](const Failure& f) -> std::shared_ptr<Greeter> {
    failure = f;
    stopAll();
    return nullptr;
  });
  runReactor();
  ASSERT_FALSE(failure) << failure->getErrorMessage();
  EXPECT_EQ(greeter->received, "hello");
}

TEST_P(EndpointTest, HostnameEndpointTimeoutCoversNameResolution) {
  auto resolver = std::make_shared<TableResolver>();
  resolver->hang = {"slow.test"};
  HostnameEndpoint ep(*reactor, *reactor, *resolver, "slow.test", 80, /*timeout=*/0.1);
  std::optional<Failure> failure = runUntilFailed(ep.connect(std::make_shared<RecordingFactory>()));
  ASSERT_TRUE(failure);
  EXPECT_TRUE(failure->check<error::TimeoutError>()) << failure->getErrorMessage();
  EXPECT_NE(failure->getErrorMessage().find("slow.test"), std::string::npos);
  EXPECT_EQ(resolver->cancelled, 1) << "the lookup is abandoned";
}

TEST_P(EndpointTest, HostnameEndpointLookupFailureIsDNSLookupError) {
  auto resolver = std::make_shared<TableResolver>();
  HostnameEndpoint ep(*reactor, *reactor, *resolver, "nowhere.test", 80, 5);
  Failure f = failureResultOf(ep.connect(std::make_shared<RecordingFactory>()));
  EXPECT_TRUE(f.check<error::DNSLookupError>());
  EXPECT_NE(f.getErrorMessage().find("nowhere.test"), std::string::npos);
}

TEST_P(EndpointTest, HostnameEndpointFailsWithTheLastReasonWhenEveryAttemptFails) {
  ClosedPort closed;
  auto resolver = std::make_shared<TableResolver>();
  resolver->table["dead.test"] = {IPv4Address{Transport::TCP, "127.0.0.1", 0},
                                  IPv4Address{Transport::TCP, "127.0.0.1", 0}};
  HostnameEndpoint ep(*reactor, *reactor, *resolver, "dead.test", closed.port(), 5);
  std::optional<Failure> failure = runUntilFailed(ep.connect(std::make_shared<RecordingFactory>()));
  ASSERT_TRUE(failure);
  EXPECT_TRUE(failure->check<error::ConnectionRefusedError>()) << failure->getErrorMessage();
}

// ---- ClientCreator ---------------------------------------------------------------

TEST_P(EndpointTest, ClientCreatorConnectsAProtocolBuiltFromItsArguments) {
  listen();
  ClientCreator<Greeter> creator(*reactor, std::string("hi there"));
  std::shared_ptr<Greeter> got;
  creator.connectTCP("127.0.0.1", portOf(*port), 5).addCallback([&](std::shared_ptr<Greeter> g) {
    got = g;
    g->onData = [](Greeter& self) {
      if (self.received == "hi there") self.transport->loseConnection();
    };
    g->onLost = [this](Greeter&) { stopAll(); };
  });
  runReactor();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->greeting(), "hi there");
  EXPECT_EQ(got->received, "hi there");
  EXPECT_NE(got->factory, nullptr) << "built by a factory, as Twisted's";
}

TEST_P(EndpointTest, ClientCreatorTimeoutFailsWithTimeoutError) {
  // A name that is never resolved keeps the connector connecting until the
  // connectTCP timeout fires.
  auto resolver = std::make_shared<TableResolver>();
  resolver->hang = {"never.test"};
  reactor->installNameResolver(resolver);
  ClientCreator<Greeter> creator(*reactor);
  std::optional<Failure> failure =
      runUntilFailed(creator.connectTCP("never.test", 80, /*timeout=*/0.1));
  ASSERT_TRUE(failure);
  EXPECT_TRUE(failure->check<error::TimeoutError>()) << failure->getErrorMessage();
}

TEST_P(EndpointTest, ClientCreatorCancelStopsConnecting) {
  auto resolver = std::make_shared<TableResolver>();
  resolver->hang = {"never.test"};
  reactor->installNameResolver(resolver);
  ClientCreator<Greeter> creator(*reactor);
  auto d = creator.connectTCP("never.test", 80, 30);
  reactor->callLater(0.02, [&] { d.cancel(); });
  std::optional<Failure> failure = runUntilFailed(d);
  ASSERT_TRUE(failure);
  EXPECT_TRUE(failure->check<error::CancelledError>()) << failure->getErrorMessage();
  EXPECT_EQ(resolver->cancelled, 1) << "the connector's lookup was abandoned";
}

// A protocol that cancels its own ClientCreator Deferred from connectionMade:
// the race of Twisted's ClientCreator docstring (connected, not delivered).
class SelfCanceller;
struct RaceRecord {
  std::optional<Deferred<std::shared_ptr<SelfCanceller>>> deferred;
  bool made = false;
  std::optional<Failure> lost;
  std::function<void()> onLost;
};
class SelfCanceller : public Protocol {
 public:
  explicit SelfCanceller(std::shared_ptr<RaceRecord> record) : record_(std::move(record)) {}
  void connectionMade() override {
    record_->made = true;
    transport->write("partial");
    record_->deferred->cancel();
  }
  void connectionLost(const Failure& reason) override {
    record_->lost = reason;
    if (record_->onLost) record_->onLost();
  }

 private:
  std::shared_ptr<RaceRecord> record_;
};

TEST_P(EndpointTest, ClientCreatorCancelInTheRaceClosesTheConnectionAndStillFails) {
  listen();
  auto record = std::make_shared<RaceRecord>();
  int closedSides = 0;
  auto closed = [this, &closedSides] {
    if (++closedSides == 2) stopAll();
  };
  record->onLost = closed;
  server->setup = [&](ScriptedProtocol& p) {
    p.onData = {};
    p.onLost = [&](ScriptedProtocol&, const Failure&) { closed(); };
  };
  ClientCreator<SelfCanceller> creator(*reactor, record);
  record->deferred = creator.connectTCP("127.0.0.1", portOf(*port), 5);
  std::optional<Failure> failure;
  record->deferred->addErrback([&](const Failure& f) -> std::shared_ptr<SelfCanceller> {
    failure = f;
    return nullptr;
  });
  runReactor();
  EXPECT_TRUE(record->made);
  ASSERT_TRUE(failure);
  EXPECT_TRUE(failure->check<error::CancelledError>()) << failure->getErrorMessage();
  ASSERT_TRUE(record->lost) << "the connection made in the race is closed";
  EXPECT_TRUE(record->lost->check<error::ConnectionDone>());
  ASSERT_EQ(server->protocols.size(), 1u);
  EXPECT_EQ(server->protocols[0]->data, "partial") << "closed cleanly: what was written arrives";
}

}  // namespace

TWISTED_ALL_BACKENDS(EndpointTest);

}  // namespace twisted::test

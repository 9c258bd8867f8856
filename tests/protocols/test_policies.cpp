// twisted.protocols.policies: the behaviours of Twisted's
// twisted/test/test_policies.py (WrapperTests, ThrottlingTests with a fake
// clock instead of the real reactor, LimitTotalConnectionsFactoryTests,
// TimeoutMixinTests, TimeoutProtocolTests, TestLoggingFactory), over
// StringTransport.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "twisted/internet/reconnecting.hpp"
#include "twisted/protocols/policies.hpp"
#include "twisted/testing/accumulating_protocol.hpp"
#include "twisted/testing/clock.hpp"
#include "twisted/testing/string_transport.hpp"

namespace {

using namespace twisted;
using namespace twisted::policies;
using twisted::testing::StringTransport;
using twisted::testing::StringTransportWithDisconnection;

class Recording : public twisted::testing::AccumulatingProtocol {
 public:
  std::vector<std::string> reasons;
  void connectionLost(const Failure& reason) override {
    reasons.push_back(reason.brief());
    twisted::testing::AccumulatingProtocol::connectionLost(reason);
  }
};

class HalfCloseRecording : public Recording, public IHalfCloseableProtocol {
 public:
  bool readLost = false;
  void readConnectionLost() override { readLost = true; }
  void writeConnectionLost() override {}
};

// Connections left open by a test are closed after all tests: a wrapper
// and the protocol it wraps hold each other until connectionLost (as a TCP
// connection and its protocol do), and the leak checker runs at exit.
std::vector<std::shared_ptr<twisted::testing::StringTransportWithDisconnection>>& openTransports() {
  static std::vector<std::shared_ptr<twisted::testing::StringTransportWithDisconnection>> all;
  return all;
}

// The factories stay alive until then too (a port keeps its factory while
// its connections live; here nothing else would).
std::vector<std::shared_ptr<Factory>>& openFactories() {
  static std::vector<std::shared_ptr<Factory>> all;
  return all;
}

class CloseOpenConnections : public ::testing::Environment {
 public:
  void TearDown() override {
    for (auto& t : openTransports()) {
      if (!t->disconnecting()) t->loseConnection();
    }
    openTransports().clear();
    openFactories().clear();
  }
};
const auto* const kCloser = ::testing::AddGlobalTestEnvironment(new CloseOpenConnections);

struct Built {
  std::shared_ptr<Protocol> wrapper;
  std::shared_ptr<StringTransportWithDisconnection> transport;
};

// Builds a protocol from `factory` for a peer at `host` and connects it.
Built connectFrom(const std::shared_ptr<Factory>& factory,
                  const std::string& host = "192.168.1.1") {
  openFactories().push_back(factory);
  Address peer = IPv4Address{Transport::TCP, host, 54321};
  auto p = factory->buildProtocol(peer);
  if (!p) return {};
  auto t = std::make_shared<StringTransportWithDisconnection>(
      IPv4Address{Transport::TCP, "10.0.0.1", 12345}, peer);
  t->protocol = p;
  p->makeConnection(t);
  openTransports().push_back(t);
  return {p, t};
}

std::shared_ptr<Factory> recordingFactory(
    std::vector<std::shared_ptr<Recording>>* built = nullptr) {
  return std::make_shared<Factory>([built] {
    auto p = std::make_shared<Recording>();
    if (built) built->push_back(p);
    return p;
  });
}

// ---- WrappingFactory / ProtocolWrapper ----------------------------------------------

TEST(ProtocolWrapper, IsTheWrappedProtocolsTransportAndPassesEverythingOn) {
  std::vector<std::shared_ptr<Recording>> inner;
  auto wrapping = std::make_shared<WrappingFactory>(recordingFactory(&inner));
  wrapping->doStart();
  EXPECT_EQ(wrapping->wrappedFactory->numPorts(), 1);
  auto [wrapper, t] = connectFrom(wrapping);
  ASSERT_EQ(inner.size(), 1u);
  auto& p = *inner[0];
  EXPECT_TRUE(p.made);
  EXPECT_EQ(p.transport, std::dynamic_pointer_cast<ProtocolWrapper>(wrapper));
  EXPECT_EQ(p.factory, wrapping->wrappedFactory.get());
  EXPECT_EQ(wrapping->protocols().size(), 1u);
  wrapper->dataReceived("in");
  EXPECT_EQ(p.data, "in");
  p.transport->write("out ");
  p.transport->writeSequence({"a", "b"});
  EXPECT_EQ(t->value(), "out ab");
  EXPECT_EQ(std::get<IPv4Address>(p.transport->getPeer()).host, "192.168.1.1");
  EXPECT_FALSE(p.transport->disconnecting());
  p.transport->loseConnection();
  EXPECT_TRUE(p.transport->disconnecting());
  ASSERT_EQ(p.reasons.size(), 1u);
  EXPECT_NE(p.reasons[0].find("ConnectionDone"), std::string::npos) << p.reasons[0];
  EXPECT_TRUE(wrapping->protocols().empty());
  wrapping->doStop();
  EXPECT_EQ(wrapping->wrappedFactory->numPorts(), 0);
}

TEST(ProtocolWrapper, HalfCloseIsPassedOnOnlyToAHalfCloseableProtocol) {
  auto plain = std::make_shared<WrappingFactory>(recordingFactory());
  EXPECT_EQ(dynamic_cast<IHalfCloseableProtocol*>(connectFrom(plain).wrapper.get()), nullptr);
  std::shared_ptr<HalfCloseRecording> inner;
  auto halfCloseable = std::make_shared<WrappingFactory>(std::make_shared<Factory>([&inner] {
    inner = std::make_shared<HalfCloseRecording>();
    return inner;
  }));
  auto built = connectFrom(halfCloseable);
  auto* h = dynamic_cast<IHalfCloseableProtocol*>(built.wrapper.get());
  ASSERT_NE(h, nullptr);
  h->readConnectionLost();
  EXPECT_TRUE(inner->readLost);
}

TEST(ProtocolWrapper, ARefusalByTheWrappedFactoryIsARefusal) {
  auto wrapping = std::make_shared<WrappingFactory>(
      std::make_shared<Factory>([]() -> std::shared_ptr<Protocol> { return nullptr; }));
  EXPECT_EQ(connectFrom(wrapping).wrapper, nullptr);
}

// A wrapped factory whose buildProtocol override does not set `factory`:
// the wrapped protocol gets it all the same, as from a port.
class BareFactory : public Factory {
 public:
  std::shared_ptr<Protocol> buildProtocol(const Address&) override {
    return std::make_shared<Protocol>();
  }
};

TEST(ProtocolWrapper, TheWrappedProtocolKnowsItsFactory) {
  auto bare = std::make_shared<BareFactory>();
  auto wrapping = std::make_shared<WrappingFactory>(bare);
  auto built = wrapping->buildProtocol(IPv4Address{Transport::TCP, "127.0.0.1", 1});
  auto wrapper = std::dynamic_pointer_cast<ProtocolWrapper>(built);
  ASSERT_TRUE(wrapper);
  EXPECT_EQ(wrapper->wrappedProtocol->factory, bare.get());
}

// ---- ThrottlingFactory --------------------------------------------------------------

TEST(ThrottlingFactory, RefusesConnectionsBeyondTheLimit) {
  twisted::testing::Clock clock;
  auto throttling = std::make_shared<ThrottlingFactory>(clock, recordingFactory(), 2);
  auto a = connectFrom(throttling);
  auto b = connectFrom(throttling);
  EXPECT_NE(b.wrapper, nullptr);
  EXPECT_EQ(connectFrom(throttling).wrapper, nullptr);
  EXPECT_EQ(throttling->connectionCount(), 2u);
  a.transport->loseConnection();
  EXPECT_EQ(throttling->connectionCount(), 1u);
  EXPECT_NE(connectFrom(throttling).wrapper, nullptr);
}

TEST(ThrottlingFactory, ReadsOverTheLimitArePausedForTheExcessTime) {
  twisted::testing::Clock clock;
  auto throttling = std::make_shared<ThrottlingFactory>(clock, recordingFactory(), SIZE_MAX, 10.0);
  auto c = connectFrom(throttling);
  c.wrapper->dataReceived(std::string(30, 'r'));  // 3x the limit
  EXPECT_EQ(throttling->readThisSecond(), 30u);
  clock.advance(1);
  EXPECT_EQ(c.transport->producerState(), StringTransport::ProducerState::Paused);
  clock.advance(1.9);
  EXPECT_EQ(c.transport->producerState(), StringTransport::ProducerState::Paused);
  clock.advance(0.1);  // 30/10 - 1 = 2 s after the check
  EXPECT_EQ(c.transport->producerState(), StringTransport::ProducerState::Producing);
  // Within the limit: no pause.
  c.wrapper->dataReceived(std::string(5, 'r'));
  clock.advance(1);
  EXPECT_EQ(c.transport->producerState(), StringTransport::ProducerState::Producing);
  // The last connection gone, nothing stays scheduled.
  c.transport->loseConnection();
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

TEST(ThrottlingFactory, WritesOverTheLimitPauseTheStreamingProducer) {
  struct Producer : IPushProducer {
    bool paused = false;
    void pauseProducing() override { paused = true; }
    void resumeProducing() override { paused = false; }
    void stopProducing() override {}
  };
  twisted::testing::Clock clock;
  std::vector<std::shared_ptr<Recording>> inner;
  auto throttling = std::make_shared<ThrottlingFactory>(clock, recordingFactory(&inner), SIZE_MAX,
                                                        std::nullopt, 100.0);
  auto c = connectFrom(throttling);
  auto producer = std::make_shared<Producer>();
  inner[0]->transport->registerProducer(producer, true);
  inner[0]->transport->write(std::string(250, 'w'));
  EXPECT_EQ(throttling->writtenThisSecond(), 250u);
  clock.advance(1);
  EXPECT_TRUE(producer->paused);
  clock.advance(1.5);  // 250/100 - 1
  EXPECT_FALSE(producer->paused);
  c.transport->loseConnection();
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

// ---- connection limits -------------------------------------------------------------------

TEST(LimitTotalConnectionsFactory, RefusesOrUsesTheOverflowProtocolBeyondTheLimit) {
  auto limited = std::make_shared<LimitTotalConnectionsFactory>(recordingFactory(), 2);
  auto a = connectFrom(limited);
  auto b = connectFrom(limited);
  EXPECT_EQ(limited->connectionCount(), 2u);
  EXPECT_EQ(connectFrom(limited).wrapper, nullptr);
  struct Busy : Protocol {
    void connectionMade() override {
      transport->write("busy\r\n");
      transport->loseConnection();
    }
  };
  limited->overflowProtocol = [] { return std::make_shared<Busy>(); };
  auto c = connectFrom(limited);
  ASSERT_NE(c.wrapper, nullptr);
  EXPECT_EQ(c.transport->value(), "busy\r\n");
  EXPECT_EQ(limited->connectionCount(), 2u);  // the overflow connection has gone
  a.transport->loseConnection();
  auto d = connectFrom(limited);
  EXPECT_EQ(d.transport->value(), "");  // a normal protocol again
  EXPECT_EQ(limited->connectionCount(), 2u);
}

TEST(LimitConnectionsByPeer, CountsEachPeerHost) {
  auto limited = std::make_shared<LimitConnectionsByPeer>(recordingFactory(), 2);
  auto a1 = connectFrom(limited, "10.1.1.1");
  auto a2 = connectFrom(limited, "10.1.1.1");
  EXPECT_EQ(connectFrom(limited, "10.1.1.1").wrapper, nullptr);
  EXPECT_NE(connectFrom(limited, "10.2.2.2").wrapper, nullptr);
  EXPECT_EQ(limited->peerConnections().at("10.1.1.1"), 2u);
  a1.transport->loseConnection();
  EXPECT_EQ(limited->peerConnections().at("10.1.1.1"), 1u);
  EXPECT_NE(connectFrom(limited, "10.1.1.1").wrapper, nullptr);
}

// ---- timeouts ------------------------------------------------------------------------------

class TimingOut : public Recording, public TimeoutMixin {
 public:
  int timedOut = 0;
  void timeoutConnection() override {
    ++timedOut;
    TimeoutMixin::timeoutConnection();
  }
};

TEST(TimeoutMixin, TimesOutAfterThePeriodUnlessReset) {
  twisted::testing::Clock clock;
  auto p = std::make_shared<TimingOut>();
  p->timeoutClock = &clock;
  auto t = twisted::testing::connect(p);
  EXPECT_EQ(p->setTimeout(10), std::nullopt);
  clock.advance(9);
  p->resetTimeout();
  clock.advance(9);
  EXPECT_EQ(p->timedOut, 0);
  clock.advance(1);
  EXPECT_EQ(p->timedOut, 1);
  EXPECT_TRUE(t->disconnecting());
}

TEST(TimeoutMixin, SetTimeoutChangesOrCancelsAndReturnsThePrevious) {
  twisted::testing::Clock clock;
  TimingOut p;
  p.timeoutClock = &clock;
  p.setTimeout(10);
  EXPECT_EQ(p.setTimeout(20), std::optional<double>(10));
  clock.advance(15);
  EXPECT_EQ(p.timedOut, 0);
  EXPECT_EQ(p.setTimeout(std::nullopt), std::optional<double>(20));
  clock.advance(100);
  EXPECT_EQ(p.timedOut, 0);
  EXPECT_TRUE(clock.getDelayedCalls().empty());
  p.resetTimeout();  // harmless without a timeout
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

// Starts its timeout in connectionMade, without timeoutClock.
class TimingOutFromTheStart : public TimingOut {
 public:
  void connectionMade() override {
    TimingOut::connectionMade();
    setTimeout(10);
  }
};

TEST(TimeoutMixin, RunsOnTheTransportsClockWhenTimeoutClockIsUnset) {
  twisted::testing::Clock clock;
  auto p = std::make_shared<TimingOutFromTheStart>();
  auto t = twisted::testing::connect(p, clock);  // the transport's clock() is `clock`
  EXPECT_EQ(clock.getDelayedCalls().size(), 1u);
  clock.advance(10);
  EXPECT_EQ(p->timedOut, 1);
  EXPECT_TRUE(p->closed) << "timeoutConnection closed it";
}

TEST(TimeoutMixin, RunsOnTheFactorysClockWhenTheTransportHasNone) {
  twisted::testing::Clock clock;
  ReconnectingClientFactory factory(clock,
                                    [] { return std::make_shared<TimingOutFromTheStart>(); });
  auto p = std::dynamic_pointer_cast<TimingOutFromTheStart>(factory.buildProtocol(IPv4Address{}));
  auto t = twisted::testing::connect(p);  // no clock on the transport
  clock.advance(10);
  EXPECT_EQ(p->timedOut, 1);
}

TEST(TimeoutMixin, WrappedProtocolsFindTheWrappingFactorysClock) {
  // A TimeoutMixin protocol under a policy wrapper: its transport is the
  // wrapper, whose clock() is the real transport's, else the wrapping
  // factory's (here a ThrottlingFactory's).
  twisted::testing::Clock clock;
  auto throttled =
      std::make_shared<ThrottlingFactory>(clock, Factory::forProtocol<TimingOutFromTheStart>());
  auto wrapper = throttled->buildProtocol(IPv4Address{});
  auto t = twisted::testing::connect(wrapper);
  auto inner = std::dynamic_pointer_cast<TimingOutFromTheStart>(
      std::dynamic_pointer_cast<ProtocolWrapper>(wrapper)->wrappedProtocol);
  ASSERT_TRUE(inner);
  clock.advance(10);
  EXPECT_EQ(inner->timedOut, 1);
}

TEST(TimeoutMixin, WithoutAnyClockSetTimeoutThrowsInsteadOfNeverFiring) {
  TimingOut detached;
  EXPECT_THROW(detached.setTimeout(5), std::logic_error);
  EXPECT_EQ(detached.timeOut(), std::nullopt) << "a failed setTimeout changes nothing";
  EXPECT_NO_THROW(detached.setTimeout(std::nullopt)) << "no timer, no clock needed";

  auto p = std::make_shared<TimingOutFromTheStart>();
  EXPECT_THROW(twisted::testing::connect(p), std::logic_error)
      << "a transport and factory without clocks";
}

TEST(TimeoutFactory, ClosesIdleConnectionsAndActivityResetsTheTimer) {
  twisted::testing::Clock clock;
  std::vector<std::shared_ptr<Recording>> inner;
  auto timeouts = std::make_shared<TimeoutFactory>(clock, recordingFactory(&inner), 5);
  auto c = connectFrom(timeouts);
  clock.advance(4);
  c.wrapper->dataReceived("x");  // reading resets
  clock.advance(4);
  inner[0]->transport->write("y");  // so does writing
  clock.advance(4);
  EXPECT_FALSE(c.transport->disconnecting());
  clock.advance(1);
  EXPECT_TRUE(c.transport->disconnecting());
  EXPECT_EQ(inner[0]->reasons.size(), 1u);
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

TEST(TimeoutFactory, ALostConnectionCancelsItsTimer) {
  twisted::testing::Clock clock;
  auto timeouts = std::make_shared<TimeoutFactory>(clock, recordingFactory(), 5);
  auto c = connectFrom(timeouts);
  EXPECT_EQ(clock.getDelayedCalls().size(), 1u);
  c.transport->loseConnection();
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

// ---- traffic logging ------------------------------------------------------------------------

TEST(TrafficLoggingFactory, LogsEachEventOfEachConnectionToItsOwnFile) {
  std::string prefix = ::testing::TempDir() + "traffic";
  std::vector<std::shared_ptr<Recording>> inner;
  auto logging = std::make_shared<TrafficLoggingFactory>(recordingFactory(&inner), prefix);
  auto c = connectFrom(logging);
  c.wrapper->dataReceived("hello\r\n");
  inner[0]->transport->write("it's");
  inner[0]->transport->writeSequence({"a", "\x01"});
  inner[0]->transport->loseConnection();
  std::ifstream in(prefix + "-1");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(),
            "*\n"
            "C 1: b'hello\\r\\n'\n"
            "S 1: b\"it's\"\n"
            "SV 1: [b'a', b'\\x01']\n"
            "S 1: *\n"
            "C 1: twisted::error::ConnectionDone: The connection was closed cleanly\n");
  auto second = connectFrom(logging);
  EXPECT_TRUE(std::ifstream(prefix + "-2").good());
  std::remove((prefix + "-1").c_str());
  std::remove((prefix + "-2").c_str());
}

TEST(TrafficLoggingFactory, ElidesLongData) {
  EXPECT_EQ(bytesRepr(std::string("a'b\"", 4)), "b'a\\'b\"'");
  std::string prefix = ::testing::TempDir() + "traffic_long";
  auto logging = std::make_shared<TrafficLoggingFactory>(recordingFactory(), prefix, 20);
  auto c = connectFrom(logging);
  c.wrapper->dataReceived(std::string(100, 'z'));
  std::ifstream in(prefix + "-1");
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(second, "C 1: b'zzzzzzzz<... elided>'");
  std::remove((prefix + "-1").c_str());
}

}  // namespace

// ---- Twisted's WrapperTests, ThrottlingTests and TimeoutProtocolTests corners -------------

namespace {

class Named : public Recording {
 public:
  std::string logPrefix() const override { return "Inner"; }
};

class NamedFactory : public Factory {
 public:
  std::shared_ptr<Protocol> buildProtocol(const Address&) override {
    return std::make_shared<Named>();
  }
  std::string logPrefix() const override { return "Outer"; }
};

// test_factoryLogPrefix, test_protocolLogPrefix
TEST(ProtocolWrapper, LogPrefixesNameTheWrappedAndTheWrapping) {
  auto wrapping = std::make_shared<WrappingFactory>(std::make_shared<NamedFactory>());
  EXPECT_EQ(wrapping->logPrefix(), "Outer (WrappingFactory)");
  auto c = connectFrom(wrapping);
  EXPECT_EQ(c.wrapper->logPrefix(), "Inner (Outer (WrappingFactory))");
  c.transport->loseConnection();
}

// test_getHost
TEST(ProtocolWrapper, GetHostIsTheRealTransports) {
  std::vector<std::shared_ptr<Recording>> inner;
  auto c = connectFrom(std::make_shared<WrappingFactory>(recordingFactory(&inner)));
  EXPECT_EQ(inner[0]->transport->getHost(), c.transport->getHost());
  EXPECT_NE(inner[0]->transport->getHost(), c.transport->getPeer()) << "the two are distinct here";
  c.transport->loseConnection();
}

// test_registerProducer, test_unregisterProducer
TEST(ProtocolWrapper, ProducersAreRegisteredOnTheRealTransport) {
  struct Producer : IPushProducer {
    void pauseProducing() override {}
    void resumeProducing() override {}
    void stopProducing() override {}
  };
  std::vector<std::shared_ptr<Recording>> inner;
  auto c = connectFrom(std::make_shared<WrappingFactory>(recordingFactory(&inner)));
  auto producer = std::make_shared<Producer>();
  inner[0]->transport->registerProducer(producer, true);
  EXPECT_EQ(c.transport->producer(), producer);
  EXPECT_TRUE(c.transport->streaming());
  inner[0]->transport->unregisterProducer();
  EXPECT_EQ(c.transport->producer(), nullptr);
  c.transport->loseConnection();
}

// test_startedConnecting, test_clientConnectionFailed, test_clientConnectionLost
TEST(WrappingFactory, ClientFactoryEventsArePassedOnWithTheirArguments) {
  struct Events : ClientFactory {
    std::vector<std::pair<std::string, IConnector*>> seen;
    std::vector<std::string> reasons;
    void startedConnecting(IConnector& c) override { seen.push_back({"started", &c}); }
    void clientConnectionFailed(IConnector& c, const Failure& why) override {
      seen.push_back({"failed", &c});
      reasons.push_back(why.typeName());
    }
    void clientConnectionLost(IConnector& c, const Failure& why) override {
      seen.push_back({"lost", &c});
      reasons.push_back(why.typeName());
    }
  };
  struct FakeConnector : IConnector {
    void connect() override {}
    void disconnect() override {}
    void stopConnecting() override {}
    Address getDestination() const override { return IPv4Address{Transport::TCP, "1.2.3.4", 5}; }
  };
  auto events = std::make_shared<Events>();
  WrappingFactory wrapping(events);
  auto connector = std::make_shared<FakeConnector>();
  wrapping.startedConnecting(*connector);
  wrapping.clientConnectionFailed(*connector, Failure::of(error::ConnectionRefusedError()));
  wrapping.clientConnectionLost(*connector, Failure::of(error::ConnectionLost()));
  ASSERT_EQ(events->seen.size(), 3u);
  EXPECT_EQ(events->seen[0], (std::pair<std::string, IConnector*>{"started", connector.get()}));
  EXPECT_EQ(events->seen[1].first, "failed");
  EXPECT_EQ(events->seen[2].first, "lost");
  EXPECT_EQ(events->seen[2].second, connector.get());
  EXPECT_NE(events->reasons[0].find("ConnectionRefusedError"), std::string::npos);
  EXPECT_NE(events->reasons[1].find("ConnectionLost"), std::string::npos);
}

// ThrottlingTests.test_writeSequence
TEST(ThrottlingFactory, WriteSequenceIsCountedAndReachesTheTransport) {
  twisted::testing::Clock clock;
  std::vector<std::shared_ptr<Recording>> inner;
  auto throttling = std::make_shared<ThrottlingFactory>(clock, recordingFactory(&inner));
  auto c = connectFrom(throttling);
  std::vector<std::string_view> parts(4, "bytes");
  inner[0]->transport->writeSequence(parts);
  EXPECT_EQ(c.transport->value(), "bytesbytesbytesbytes");
  EXPECT_EQ(throttling->writtenThisSecond(), 20u);
  c.transport->loseConnection();
}

std::shared_ptr<TimeoutProtocol> timeoutProtocol(twisted::testing::Clock& clock,
                                                 std::optional<double> period, Built& built) {
  auto factory = std::make_shared<TimeoutFactory>(clock, recordingFactory(), 30);
  openFactories().push_back(factory);
  auto p =
      std::make_shared<TimeoutProtocol>(*factory, std::make_shared<Recording>(), clock, period);
  auto t = std::make_shared<StringTransportWithDisconnection>();
  t->protocol = p;
  p->makeConnection(t);
  openTransports().push_back(t);
  built = {p, t};
  return p;
}

// TimeoutProtocolTests.test_cancelTimeout
TEST(TimeoutProtocol, CancelTimeoutStopsTheTimer) {
  twisted::testing::Clock clock;
  Built c;
  auto p = timeoutProtocol(clock, 3, c);
  clock.advance(1);
  p->cancelTimeout();
  EXPECT_TRUE(clock.getDelayedCalls().empty());
  clock.advance(3);
  EXPECT_FALSE(c.transport->disconnecting());
  EXPECT_EQ(p->timeoutPeriod(), std::nullopt);
}

// test_cancelTimeoutNoTimeout
TEST(TimeoutProtocol, CancelTimeoutWithoutATimeoutDoesNothing) {
  twisted::testing::Clock clock;
  Built c;
  auto p = timeoutProtocol(clock, std::nullopt, c);
  EXPECT_TRUE(clock.getDelayedCalls().empty());
  EXPECT_NO_THROW(p->cancelTimeout());
  EXPECT_FALSE(c.transport->disconnecting());
}

// test_cancelTimeoutAlreadyCalled
TEST(TimeoutProtocol, CancelTimeoutAfterItFiredDoesNotThrow) {
  twisted::testing::Clock clock;
  Built c;
  auto p = timeoutProtocol(clock, 3, c);
  clock.advance(3);
  EXPECT_TRUE(c.transport->disconnecting());
  EXPECT_NO_THROW(p->cancelTimeout());
}

// test_cancelTimeoutAlreadyCancelled
TEST(TimeoutProtocol, CancelTimeoutAfterAnOutsideCancelDoesNotThrow) {
  twisted::testing::Clock clock;
  Built c;
  auto p = timeoutProtocol(clock, 3, c);
  ASSERT_EQ(clock.getDelayedCalls().size(), 1u);
  clock.getDelayedCalls()[0].cancel();
  EXPECT_NO_THROW(p->cancelTimeout());
  clock.advance(10);
  EXPECT_FALSE(c.transport->disconnecting());
}

// TimeoutMixinTests.test_setTimeoutCancleAlreadyCancelled
TEST(TimeoutMixin, SetTimeoutAfterAnOutsideCancelDoesNotThrowAndClears) {
  twisted::testing::Clock clock;
  TimingOut p;
  p.timeoutClock = &clock;
  p.setTimeout(10);
  ASSERT_EQ(clock.getDelayedCalls().size(), 1u);
  clock.getDelayedCalls()[0].cancel();
  EXPECT_NO_THROW(p.setTimeout(std::nullopt));
  EXPECT_EQ(p.timeOut(), std::nullopt);
  clock.advance(20);
  EXPECT_EQ(p.timedOut, 0);
}

// WrapperTests.test_breakReferenceCycle
TEST(ProtocolWrapper, ConnectionLostClearsWrappedProtocolBreakingTheCycle) {
  auto wrapping = std::make_shared<WrappingFactory>(recordingFactory());
  auto inner = std::make_shared<Recording>();
  std::weak_ptr<Recording> weakInner = inner;
  auto wrapper = std::make_shared<ProtocolWrapper>(*wrapping, inner);
  auto t = std::make_shared<StringTransportWithDisconnection>();
  t->protocol = wrapper;
  wrapper->makeConnection(t);
  EXPECT_EQ(wrapper->wrappedProtocol, inner);
  t->loseConnection();
  EXPECT_EQ(wrapper->wrappedProtocol, nullptr);
  ASSERT_EQ(inner->reasons.size(), 1u) << "connectionLost is still passed on";
  inner.reset();
  EXPECT_TRUE(weakInner.expired()) << "the wrapper no longer keeps the wrapped protocol alive";
}

// TimeoutFactoryTests.test_sendAvoidsTimeout
TEST(TimeoutFactory, WriteAndWriteSequenceBothResetTheTimer) {
  twisted::testing::Clock clock;
  std::vector<std::shared_ptr<Recording>> inner;
  auto timeouts = std::make_shared<TimeoutFactory>(clock, recordingFactory(&inner), 5);
  auto c = connectFrom(timeouts);
  clock.advance(4);
  inner[0]->transport->write("bytes bytes bytes");
  clock.advance(4);  // t=8: past the first deadline (5)
  EXPECT_FALSE(c.transport->disconnecting());
  inner[0]->transport->writeSequence({"bytes", "bytes", "bytes"});
  clock.advance(4);  // t=12: past the deadline the write set (9)
  EXPECT_FALSE(c.transport->disconnecting());
  EXPECT_EQ(c.transport->value(), "bytes bytes bytesbytesbytesbytes");
  clock.advance(1);  // t=13: 5 s after the writeSequence
  EXPECT_TRUE(c.transport->disconnecting());
  EXPECT_EQ(inner[0]->reasons.size(), 1u);
}

// LimitTotalConnectionsFactoryTests.testConnectionLimiting
TEST(LimitTotalConnectionsFactory, AnOpenOverflowConnectionIsCountedUntilItCloses) {
  auto limited = std::make_shared<LimitTotalConnectionsFactory>(recordingFactory(), 1);
  EXPECT_EQ(limited->connectionCount(), 0u);
  auto p = connectFrom(limited);
  ASSERT_NE(p.wrapper, nullptr);
  EXPECT_EQ(limited->connectionCount(), 1u);
  EXPECT_EQ(connectFrom(limited).wrapper, nullptr);  // no overflowProtocol: refused
  EXPECT_EQ(limited->connectionCount(), 1u);

  // An overflow protocol that stays connected.
  struct Overflow : Protocol {
    std::shared_ptr<bool> made;
    void connectionMade() override { *made = true; }
  };
  auto overflowed = std::make_shared<bool>(false);
  limited->overflowProtocol = [overflowed] {
    auto o = std::make_shared<Overflow>();
    o->made = overflowed;
    return o;
  };
  auto op = connectFrom(limited);
  ASSERT_NE(op.wrapper, nullptr);
  EXPECT_TRUE(*overflowed);
  EXPECT_FALSE(op.transport->disconnecting());
  EXPECT_EQ(limited->connectionCount(), 2u);

  p.transport->loseConnection();
  EXPECT_EQ(limited->connectionCount(), 1u);
  op.transport->loseConnection();
  EXPECT_EQ(limited->connectionCount(), 0u);
}

// LoggingFactoryTests.test_counter
TEST(TrafficLoggingFactory, ResetCounterNumbersTheNextConnectionOneAgain) {
  std::string prefix = ::testing::TempDir() + "traffic_counter";
  auto removeAll = [&prefix] {
    for (const char* n : {"-1", "-2", "-3"}) std::remove((prefix + n).c_str());
  };
  removeAll();
  auto logging = std::make_shared<TrafficLoggingFactory>(recordingFactory(), prefix);
  auto first = connectFrom(logging);
  auto second = connectFrom(logging);
  EXPECT_TRUE(std::ifstream(prefix + "-1").good());
  EXPECT_TRUE(std::ifstream(prefix + "-2").good());
  first.transport->loseConnection();
  second.transport->loseConnection();
  removeAll();

  logging->resetCounter();
  auto third = connectFrom(logging);
  third.wrapper->dataReceived("again");
  EXPECT_FALSE(std::ifstream(prefix + "-3").good()) << "the counter went on instead";
  std::ifstream in(prefix + "-1");
  ASSERT_TRUE(in.good());
  std::string made, received;
  std::getline(in, made);
  std::getline(in, received);
  EXPECT_EQ(made, "*");
  EXPECT_EQ(received, "C 1: b'again'");
  third.transport->loseConnection();
  removeAll();
}

}  // namespace

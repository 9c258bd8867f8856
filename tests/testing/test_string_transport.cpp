// The in-memory test kit: StringTransport, MemoryReactor,
// AccumulatingProtocol (Twisted's twisted.internet.testing).
#include <gtest/gtest.h>

#include <cctype>

#include "twisted/internet/error.hpp"
#include "twisted/testing/accumulating_protocol.hpp"
#include "twisted/testing/clock.hpp"
#include "twisted/testing/memory_reactor.hpp"
#include "twisted/testing/string_transport.hpp"

namespace twisted::testing {
namespace {

// The example of docs/testing.md.
class Upper : public Protocol {
 public:
  void dataReceived(std::string_view d) override {
    std::string s(d);
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    transport->write(s);
    if (s.find("QUIT") != std::string::npos) transport->loseConnection();
  }
};

TEST(StringTransport, DocumentedExample) {
  auto proto = std::make_shared<Upper>();
  auto transport = connect(proto);
  proto->dataReceived("hi ");
  proto->dataReceived("quit");
  EXPECT_EQ(transport->value(), "HI QUIT");
  EXPECT_TRUE(transport->disconnecting());
}

TEST(StringTransport, RecordsWritesAddressesAndRequests) {
  StringTransport t;
  t.write("a");
  t.writeSequence({"b", "", "c"});
  EXPECT_EQ(t.value(), "abc");
  t.clear();
  EXPECT_EQ(t.value(), "");
  EXPECT_EQ(t.getHost(), (Address{IPv4Address{Transport::TCP, "10.0.0.1", 12345}}));
  EXPECT_EQ(t.getPeer(), (Address{IPv4Address{Transport::TCP, "192.168.1.1", 54321}}));
  EXPECT_FALSE(t.disconnecting());
  t.loseConnection();
  EXPECT_TRUE(t.disconnecting());
  EXPECT_FALSE(t.aborted());
  t.abortConnection();
  EXPECT_TRUE(t.aborted());
  t.loseWriteConnection();
  EXPECT_TRUE(t.writeDisconnected());
}

TEST(StringTransport, ProducerBookkeeping) {
  struct P : IPushProducer {
    void pauseProducing() override {}
    void resumeProducing() override {}
    void stopProducing() override {}
  };
  StringTransport t;
  auto p = std::make_shared<P>();
  t.registerProducer(p, true);
  EXPECT_EQ(t.producer(), p);
  EXPECT_TRUE(t.streaming());
  EXPECT_THROW(t.registerProducer(p, true), std::logic_error);
  t.unregisterProducer();
  EXPECT_FALSE(t.producer());
  EXPECT_THROW(t.unregisterProducer(), std::logic_error);
  EXPECT_EQ(t.producerState(), StringTransport::ProducerState::Producing);
  t.pauseProducing();
  EXPECT_EQ(t.producerState(), StringTransport::ProducerState::Paused);
  t.resumeProducing();
  t.stopProducing();
  EXPECT_EQ(t.producerState(), StringTransport::ProducerState::Stopped);
  EXPECT_THROW(t.resumeProducing(), std::logic_error);
}

// A push producer that counts what it is told.
struct CountingProducer : IPushProducer {
  int paused = 0;
  int resumed = 0;
  int stopped = 0;
  void pauseProducing() override { ++paused; }
  void resumeProducing() override { ++resumed; }
  void stopProducing() override { ++stopped; }
};

struct PullProducer : IPullProducer {
  void resumeProducing() override {}
  void stopProducing() override {}
};

TEST(StringTransport, TakesEverythingUnlessFull) {
  StringTransport t;
  auto p = std::make_shared<CountingProducer>();
  t.registerProducer(p, true);
  t.write(std::string(200 * 1024, 'x'));  // far past the 64 KiB mark
  EXPECT_EQ(t.writeBufferSize(), 0u);
  EXPECT_EQ(t.value().size(), 200u * 1024);
  EXPECT_EQ(p->paused, 0);
  EXPECT_FALSE(t.readingPausedByBuffer());
}

TEST(StringTransport, FullSocketQueuesAndPausesTheProducerPastHighWater) {
  StringTransport t;
  t.setWriteBufferLimits(10, 4);
  t.setFull(true);
  auto p = std::make_shared<CountingProducer>();
  t.registerProducer(p, true);

  t.write("12345678");
  EXPECT_EQ(t.writeBufferSize(), 8u);
  EXPECT_EQ(p->paused, 0) << "not above the high-water mark yet";
  t.writeSequence({"9", "0"});
  EXPECT_EQ(t.writeBufferSize(), 10u);
  EXPECT_EQ(p->paused, 0) << "at the mark is not above it";
  t.write("a");
  EXPECT_EQ(t.writeBufferSize(), 11u);
  EXPECT_EQ(p->paused, 1);
  EXPECT_TRUE(t.producerPausedByBuffer());
  EXPECT_TRUE(t.readingPausedByBuffer());
  t.write("bcd");
  EXPECT_EQ(p->paused, 1) << "paused once";
  EXPECT_EQ(t.value(), "1234567890abcd");

  EXPECT_EQ(t.drain(5), 5u);  // the peer reads five bytes
  EXPECT_EQ(t.writeBufferSize(), 9u);
  EXPECT_EQ(t.queued(), "67890abcd");
  EXPECT_EQ(p->resumed, 0) << "still above the low-water mark";
  EXPECT_EQ(t.drain(5), 5u);
  EXPECT_EQ(t.writeBufferSize(), 4u);
  EXPECT_EQ(p->resumed, 1) << "down to the low-water mark";
  EXPECT_FALSE(t.producerPausedByBuffer());
  EXPECT_FALSE(t.readingPausedByBuffer());
  EXPECT_EQ(t.value(), "1234567890abcd") << "value() keeps what was drained";

  t.write(std::string(20, 'z'));
  EXPECT_EQ(p->paused, 2);
  t.clear();  // the test takes everything
  EXPECT_EQ(t.writeBufferSize(), 0u);
  EXPECT_EQ(t.value(), "");
  EXPECT_EQ(p->resumed, 2);

  t.write(std::string(20, 'z'));
  EXPECT_EQ(p->paused, 3);
  t.setFull(false);  // the socket takes everything queued
  EXPECT_EQ(t.writeBufferSize(), 0u);
  EXPECT_EQ(p->resumed, 3);
  EXPECT_EQ(t.drain(), 0u);
}

TEST(StringTransport, LimitsApplyAtOnceAndToProducersRegisteredLater) {
  StringTransport t;
  t.setFull(true);
  t.write(std::string(100, 'x'));
  auto p = std::make_shared<CountingProducer>();
  t.registerProducer(p, true);
  EXPECT_EQ(p->paused, 0) << "100 bytes is under the default 64 KiB";
  t.setWriteBufferLimits(50, 10, /*pauseReading=*/false);
  EXPECT_EQ(p->paused, 1);
  EXPECT_FALSE(t.readingPausedByBuffer()) << "pauseReading is off";
  t.setWriteBufferLimits(200, 150);
  EXPECT_EQ(p->resumed, 1);
  t.unregisterProducer();

  t.setWriteBufferLimits(50, 10);
  auto late = std::make_shared<CountingProducer>();
  t.registerProducer(late, true);
  EXPECT_EQ(late->paused, 1) << "registered while above the high-water mark";
  t.drain(95);
  EXPECT_EQ(late->resumed, 1);
  EXPECT_THROW(t.setWriteBufferLimits(1, 2), std::invalid_argument);
}

TEST(StringTransport, ProducerMustHaveTheInterfaceItIsRegisteredAs) {
  StringTransport t;
  EXPECT_THROW(t.registerProducer(nullptr, true), std::invalid_argument);
  EXPECT_THROW(t.registerProducer(std::make_shared<PullProducer>(), true), std::logic_error);
  EXPECT_THROW(t.registerProducer(std::make_shared<CountingProducer>(), false), std::logic_error);
  EXPECT_FALSE(t.producer());
  t.registerProducer(std::make_shared<PullProducer>(), false);
  EXPECT_FALSE(t.streaming());
}

TEST(StringTransport, ClockIsWhatTheTestSets) {
  Clock clock;
  StringTransport t;
  EXPECT_EQ(t.clock(), nullptr);
  t.setClock(&clock);
  EXPECT_EQ(t.clock(), &clock);
  auto proto = std::make_shared<AccumulatingProtocol>();
  EXPECT_EQ(connect(proto, clock)->clock(), &clock);
}

TEST(StringTransportWithDisconnection, LoseConnectionWaitsForTheQueueAbortDoesNot) {
  auto proto = std::make_shared<AccumulatingProtocol>();
  auto t = connect(proto);
  t->setFull(true);
  t->write("pending");
  t->loseConnection();
  EXPECT_TRUE(t->disconnecting());
  EXPECT_FALSE(proto->closed) << "bytes still queued";
  t->drain(3);
  EXPECT_FALSE(proto->closed);
  t->drain();
  ASSERT_TRUE(proto->closed);
  EXPECT_TRUE(proto->closedReason->check<error::ConnectionDone>());

  auto aborted = std::make_shared<AccumulatingProtocol>();
  auto t2 = connect(aborted);
  t2->setFull(true);
  t2->write("pending");
  t2->abortConnection();
  ASSERT_TRUE(aborted->closed);
  EXPECT_TRUE(aborted->closedReason->check<error::ConnectionAborted>());
  EXPECT_EQ(t2->writeBufferSize(), 0u);
}

TEST(StringTransportWithDisconnection, DeliversConnectionLostOnce) {
  auto proto = std::make_shared<AccumulatingProtocol>();
  auto t = connect(proto);
  EXPECT_TRUE(proto->made);
  EXPECT_TRUE(proto->connected);
  proto->dataReceived("xy");
  EXPECT_EQ(proto->data, "xy");
  t->loseConnection();
  ASSERT_TRUE(proto->closed);
  EXPECT_TRUE(proto->closedReason->check<error::ConnectionDone>());
  EXPECT_FALSE(proto->connected);
  t->abortConnection();  // no second connectionLost
  EXPECT_TRUE(proto->closedReason->check<error::ConnectionDone>());

  auto aborted = std::make_shared<AccumulatingProtocol>();
  connect(aborted)->abortConnection();
  EXPECT_TRUE(aborted->closedReason->check<error::ConnectionAborted>());
}

TEST(MemoryReactor, RecordsListenAndConnect) {
  MemoryReactor reactor;
  auto factory = Factory::forProtocol<AccumulatingProtocol>();
  auto port = reactor.listenTCP(0, factory, 10, "::1");
  ASSERT_EQ(reactor.tcpServers.size(), 1u);
  EXPECT_EQ(reactor.tcpServers[0].backlog, 10);
  EXPECT_EQ(reactor.tcpServers[0].interface, "::1");
  EXPECT_TRUE(std::holds_alternative<IPv6Address>(port->getHost()));
  port->stopListening();
  EXPECT_TRUE(reactor.tcpServers[0].listeningPort->stopped());

  // The test plays the network: build a protocol and connect it in memory.
  auto proto = factory->buildProtocol(IPv4Address{Transport::TCP, "1.2.3.4", 5});
  ASSERT_TRUE(proto);
  EXPECT_EQ(proto->factory, factory.get());
  auto t = connect(proto);
  EXPECT_TRUE(std::static_pointer_cast<AccumulatingProtocol>(proto)->made);

  struct Client : ClientFactory {
    int started = 0;
    std::vector<std::string> failures;
    void startedConnecting(IConnector&) override { ++started; }
    void clientConnectionFailed(IConnector&, const Failure& why) override {
      failures.push_back(why.typeName());
    }
  };
  auto client = std::make_shared<Client>();
  auto connector = reactor.connectTCP("example.com", 80, client, 5, BindAddress{"127.0.0.1", 0});
  ASSERT_EQ(reactor.tcpClients.size(), 1u);
  EXPECT_EQ(reactor.tcpClients[0].host, "example.com");
  EXPECT_EQ(reactor.tcpClients[0].timeout, 5);
  EXPECT_EQ(reactor.tcpClients[0].bindAddress->host, "127.0.0.1");
  EXPECT_EQ(client->started, 1);
  reactor.connectors[0]->failConnection(Failure::of(error::ConnectionRefusedError()));
  ASSERT_EQ(client->failures.size(), 1u);
  EXPECT_NE(client->failures[0].find("ConnectionRefusedError"), std::string::npos);
  connector->stopConnecting();
  EXPECT_TRUE(reactor.connectors[0]->stoppedConnecting);

  bool fired = false;
  reactor.callLater(1, [&] { fired = true; });
  reactor.clock().advance(1);
  EXPECT_TRUE(fired);
}

}  // namespace
}  // namespace twisted::testing

// The pumped in-memory connection (Twisted's twisted.test.iosim), and the
// project's own protocols (LineReceiver, wire's Echo, Chargen, QOTD) over it.
#include "twisted/testing/iosim.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "twisted/internet/error.hpp"
#include "twisted/protocols/line_receiver.hpp"
#include "twisted/protocols/wire.hpp"
#include "twisted/testing/accumulating_protocol.hpp"

namespace twisted::testing {
namespace {

// Who got connectionLost, in order, and why.
using Events = std::vector<std::string>;

std::string kindOf(const Failure& why) {
  if (why.check<error::ConnectionAborted>()) return "aborted";
  if (why.check<error::ConnectionDone>()) return "done";
  if (why.check<error::ConnectionLost>()) return "lost";
  return why.typeName();
}

// Greets, answers each line with "echo: <line>", and closes on "quit".
class LineServer : public basic::LineReceiver {
 public:
  std::vector<std::string> lines;
  Events* events = nullptr;
  void connectionMade() override { sendLine("hello"); }
  void lineReceived(std::string_view line) override {
    lines.emplace_back(line);
    if (line == "quit") {
      sendLine("bye");
      transport->loseConnection();
      return;
    }
    sendLine("echo: " + std::string(line));
  }
  void connectionLost(const Failure& why) override {
    if (events) events->push_back("server " + kindOf(why));
  }
};

class LineClient : public basic::LineReceiver {
 public:
  std::vector<std::string> lines;
  Events* events = nullptr;
  void lineReceived(std::string_view line) override { lines.emplace_back(line); }
  void connectionLost(const Failure& why) override {
    if (events) events->push_back("client " + kindOf(why));
  }
};

TEST(IOPump, LineReceiversTalkBothWaysAndCloseAfterFlushing) {
  Events events;
  auto [client, server, pump] = connectedServerAndClient<LineServer, LineClient>();
  client->events = server->events = &events;
  EXPECT_EQ(client->lines, std::vector<std::string>{"hello"}) << "greet flushed the greeting";
  EXPECT_TRUE(client->connected);
  EXPECT_TRUE(server->connected);

  client->sendLine("one");
  client->sendLine("two");
  EXPECT_TRUE(server->lines.empty()) << "nothing moves until pumped";
  EXPECT_EQ(client->transport->writeBufferSize(), 10u);
  EXPECT_TRUE(pump.flush());
  EXPECT_EQ(server->lines, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(client->lines, (std::vector<std::string>{"hello", "echo: one", "echo: two"}));
  EXPECT_FALSE(pump.flush()) << "quiet";

  client->sendLine("quit");
  pump.flush();
  ASSERT_EQ(client->lines.size(), 4u);
  EXPECT_EQ(client->lines.back(), "bye") << "written before loseConnection, so delivered";
  EXPECT_EQ(events, (Events{"server done", "client done"}));
  EXPECT_FALSE(client->connected);
  EXPECT_FALSE(server->connected);
  EXPECT_TRUE(pump.serverIO->closed());
  client->sendLine("late");  // ignored: the connection is closed
  EXPECT_FALSE(pump.flush());
  EXPECT_EQ(server->lines, (std::vector<std::string>{"one", "two", "quit"}));
}

TEST(IOPump, PumpIsOnePassEachWay) {
  auto [client, server, pump] = connectedServerAndClient<LineServer, LineClient>();
  client->sendLine("ping");
  EXPECT_TRUE(pump.pump());  // "ping" reaches the server, which answers
  EXPECT_EQ(server->lines, std::vector<std::string>{"ping"});
  EXPECT_EQ(client->lines.size(), 1u) << "the answer waits for the next pass";
  EXPECT_EQ(server->transport->writeBufferSize(), 12u);
  EXPECT_TRUE(pump.pump());
  EXPECT_EQ(client->lines, (std::vector<std::string>{"hello", "echo: ping"}));
  EXPECT_FALSE(pump.pump());
}

TEST(IOPump, EchoAnswersAHalfCloseThenCloses) {
  // wire::Echo is half-closeable: once the client shuts its write side it
  // sends back what it has and closes.
  struct HalfClosing : AccumulatingProtocol, IHalfCloseableProtocol {
    bool writeLost = false;
    bool readLost = false;
    void readConnectionLost() override { readLost = true; }
    void writeConnectionLost() override { writeLost = true; }
  };
  auto [client, server, pump] =
      connectedServerAndClient(std::make_shared<wire::Echo>(), std::make_shared<HalfClosing>());
  client->transport->write("hello, ");
  client->transport->write("echo");
  dynamic_cast<ITCPTransport&>(*client->transport).loseWriteConnection();
  EXPECT_FALSE(client->writeLost) << "not before the queue has gone";
  pump.flush();
  EXPECT_EQ(client->data, "hello, echo");
  EXPECT_TRUE(client->writeLost);
  ASSERT_TRUE(client->closed);
  EXPECT_TRUE(client->closedReason->check<error::ConnectionDone>());
  EXPECT_FALSE(server->connected);
}

TEST(IOPump, HalfCloseToAPeerThatCannotHalfCloseClosesTheConnection) {
  auto [client, server, pump] =
      connectedServerAndClient<AccumulatingProtocol, AccumulatingProtocol>();
  client->transport->write("x");
  dynamic_cast<ITCPTransport&>(*client->transport).loseWriteConnection();
  pump.flush();
  EXPECT_EQ(server->data, "x");
  ASSERT_TRUE(server->closed);
  ASSERT_TRUE(client->closed);
  EXPECT_TRUE(server->closedReason->check<error::ConnectionDone>());
}

TEST(IOPump, QotdQuoteArrivesBeforeTheClose) {
  auto server = std::make_shared<wire::QOTD>("Patience is a virtue.");
  auto client = std::make_shared<AccumulatingProtocol>();
  auto pumped = connectedServerAndClient(server, client, {.greet = false});
  EXPECT_EQ(client->data, "") << "greet = false: nothing pumped yet";
  EXPECT_TRUE(pumped.pump.flush());
  EXPECT_EQ(client->data, "Patience is a virtue.\r\n");
  ASSERT_TRUE(client->closed);
  EXPECT_TRUE(client->closedReason->check<error::ConnectionDone>());
  EXPECT_FALSE(server->connected);
}

TEST(IOPump, AbortDropsWhatIsQueuedOnTheNextPump) {
  auto [client, server, pump] =
      connectedServerAndClient<AccumulatingProtocol, AccumulatingProtocol>();
  client->transport->write("never sent");
  server->transport->write("never received");
  client->transport->abortConnection();
  EXPECT_FALSE(client->closed) << "connectionLost is never delivered from inside abortConnection";
  client->transport->write("ignored");
  EXPECT_TRUE(pump.pump());
  EXPECT_EQ(server->data, "");
  EXPECT_EQ(client->data, "");
  ASSERT_TRUE(client->closed);
  ASSERT_TRUE(server->closed);
  EXPECT_TRUE(client->closedReason->check<error::ConnectionAborted>());
  EXPECT_TRUE(server->closedReason->check<error::ConnectionLost>());
  EXPECT_FALSE(pump.flush());
}

TEST(IOPump, AnAbortFromInsideDataReceivedIsReportedAsAnAbort) {
  struct AbortOnData : AccumulatingProtocol {
    void dataReceived(std::string_view data) override {
      AccumulatingProtocol::dataReceived(data);
      transport->abortConnection();
    }
  };
  auto [client, server, pump] = connectedServerAndClient<AbortOnData, AccumulatingProtocol>();
  client->transport->write("hello");
  pump.flush();
  ASSERT_TRUE(server->closed);
  ASSERT_TRUE(client->closed);
  EXPECT_EQ(server->data, "hello");
  EXPECT_TRUE(server->closedReason->check<error::ConnectionAborted>())
      << "not a clean close: the server aborted";
  EXPECT_TRUE(client->closedReason->check<error::ConnectionLost>());
}

TEST(IOPump, UnregisteringAProducerInConnectionLostIsHarmless) {
  // As over TCP: a protocol may unregister its producer when the
  // connection goes, whether or not the transport still has it.
  struct Producer : IPushProducer {
    void pauseProducing() override {}
    void resumeProducing() override {}
    void stopProducing() override {}
  };
  struct Unregisters : AccumulatingProtocol {
    void connectionMade() override {
      AccumulatingProtocol::connectionMade();
      transport->registerProducer(std::make_shared<Producer>(), true);
    }
    void connectionLost(const Failure& reason) override {
      transport->unregisterProducer();
      AccumulatingProtocol::connectionLost(reason);
    }
  };
  auto [client, server, pump] = connectedServerAndClient<Unregisters, AccumulatingProtocol>();
  client->transport->loseConnection();
  EXPECT_NO_THROW(pump.flush());
  EXPECT_TRUE(server->closed);
  EXPECT_TRUE(client->closed);
}

TEST(IOPump, PullProducerWritesWhileThePeerReadsAndStopsWithTheConnection) {
  // wire::Chargen never ends: flush() gives up, pump() goes pass by pass.
  auto [client, server, pump] =
      connectedServerAndClient(std::make_shared<wire::Chargen>(),
                               std::make_shared<AccumulatingProtocol>(), {.greet = false});
  ASSERT_TRUE(pump.serverIO->producer());
  EXPECT_FALSE(pump.serverIO->streaming());
  EXPECT_THROW(pump.flush(50), std::runtime_error);
  std::size_t received = client->data.size();
  EXPECT_GT(received, 0u);
  EXPECT_TRUE(client->data.starts_with(wire::Chargen::line(0)));
  EXPECT_TRUE(pump.pump());
  EXPECT_GT(client->data.size(), received);

  // A client that stops reading: one chunk waits, and the producer is not
  // asked for more while it does.
  client->transport->pauseProducing();
  pump.pump();
  std::size_t queued = server->transport->writeBufferSize();
  received = client->data.size();
  EXPECT_GT(queued, 0u);
  EXPECT_FALSE(pump.pump());
  EXPECT_FALSE(pump.flush());
  EXPECT_EQ(server->transport->writeBufferSize(), queued);
  EXPECT_EQ(client->data.size(), received);

  client->transport->resumeProducing();
  EXPECT_TRUE(pump.pump());
  EXPECT_EQ(client->data.size(), received + queued);

  client->transport->loseConnection();
  EXPECT_TRUE(pump.pump());
  ASSERT_TRUE(client->closed) << "closes although data keeps coming";
  EXPECT_TRUE(client->closedReason->check<error::ConnectionDone>());
  EXPECT_FALSE(server->connected);
  EXPECT_FALSE(pump.serverIO->producer()) << "the producer was stopped and dropped";
  EXPECT_FALSE(pump.flush());
}

// Writes `total` bytes in 8 KiB pieces for as long as it is not paused.
class Streamer : public Protocol,
                 public IPushProducer,
                 public std::enable_shared_from_this<Streamer> {
 public:
  explicit Streamer(std::size_t total) : total_(total) {}
  std::size_t sent = 0;
  int pauses = 0;
  bool stopped = false;
  void connectionMade() override {
    // The transport holds it until unregisterProducer or connectionLost.
    transport->registerProducer(shared_from_this(), true);
    resumeProducing();
  }
  void pauseProducing() override {
    paused_ = true;
    ++pauses;
  }
  void resumeProducing() override {
    paused_ = false;
    while (!paused_ && sent < total_) {
      transport->write(std::string(8192, 's'));
      sent += 8192;
    }
    if (sent >= total_ && !transport->disconnecting()) {
      transport->unregisterProducer();
      transport->loseConnection();
    }
  }
  void stopProducing() override { stopped = true; }

 private:
  std::size_t total_;
  bool paused_ = false;
};

TEST(IOPump, StreamingProducerIsPausedWhileThePeerDoesNotRead) {
  constexpr std::size_t kTotal = 1 << 20;
  auto streamer = std::make_shared<Streamer>(kTotal);
  auto reader = std::make_shared<AccumulatingProtocol>();
  auto [client, server, pump] = connectedServerAndClient(streamer, reader, {.greet = false});
  // connectionMade wrote until the queue passed the 64 KiB high-water mark.
  EXPECT_EQ(streamer->pauses, 1);
  std::size_t queued = server->transport->writeBufferSize();
  EXPECT_GT(queued, 64u * 1024);
  EXPECT_LT(queued, 80u * 1024);

  client->transport->pauseProducing();  // the client stops reading
  EXPECT_FALSE(pump.flush());
  EXPECT_EQ(server->transport->writeBufferSize(), queued) << "bounded by the high-water mark";
  EXPECT_EQ(client->data.size(), 0u);

  client->transport->resumeProducing();
  EXPECT_TRUE(pump.flush());
  EXPECT_EQ(client->data.size(), kTotal);
  EXPECT_GT(streamer->pauses, 10) << "paused each time the queue filled";
  ASSERT_TRUE(client->closed);
  EXPECT_TRUE(client->closedReason->check<error::ConnectionDone>());
}

// Twisted's StrictPushProducer: any call but the ones it expects fails.
struct StrictPushProducer : IPushProducer {
  int calls = 0;
  void pauseProducing() override { ++calls; }
  void resumeProducing() override { ++calls; }
  void stopProducing() override { ++calls; }
};

TEST(IOPump, PumpLeavesARunningStreamingProducerAlone) {
  // test_iosim's test_serverStreamingProducer / test_clientStreamingProducer.
  for (bool onServer : {true, false}) {
    auto [client, server, pump] =
        connectedServerAndClient<AccumulatingProtocol, AccumulatingProtocol>({.greet = false});
    auto producer = std::make_shared<StrictPushProducer>();
    (onServer ? server : client)->transport->registerProducer(producer, true);
    EXPECT_FALSE(pump.pump());
    EXPECT_EQ(producer->calls, 0) << (onServer ? "server" : "client");
  }
}

TEST(IOPump, WritesAfterLoseConnectionGoBeforeTheClose) {
  // The ITransport contract (Twisted's FakeTransport drops them instead).
  auto [client, server, pump] =
      connectedServerAndClient<AccumulatingProtocol, AccumulatingProtocol>();
  client->transport->write("before ");
  client->transport->loseConnection();
  client->transport->writeSequence({"af", "ter"});
  pump.flush();
  EXPECT_EQ(server->data, "before after");
  EXPECT_TRUE(server->closed);
}

TEST(IOPump, FactoriesBuildTheProtocolsWithTheirAddresses) {
  auto serverFactory = Factory::forProtocol<AccumulatingProtocol>();
  auto clientFactory = ClientFactory::forProtocol<AccumulatingProtocol>();
  auto pumped = connectedServerAndClient(*serverFactory, *clientFactory);
  EXPECT_EQ(pumped.server->factory, serverFactory.get());
  EXPECT_EQ(pumped.client->factory, clientFactory.get());
  EXPECT_EQ(pumped.client->transport->getPeer(), pumped.server->transport->getHost());
  EXPECT_EQ(pumped.server->transport->getPeer(), pumped.client->transport->getHost());
  EXPECT_EQ(pumped.server->transport->getHost(),
            (Address{IPv4Address{Transport::TCP, "10.0.0.1", 12345}}));

  Factory refusing;
  EXPECT_THROW(connectedServerAndClient(refusing, *clientFactory), std::logic_error);
}

TEST(IOPump, ATransportJoinsOnePumpOnly) {
  auto pumped = connectedServerAndClient<AccumulatingProtocol, AccumulatingProtocol>();
  EXPECT_THROW(connect(std::make_shared<AccumulatingProtocol>(), pumped.pump.serverIO,
                       std::make_shared<AccumulatingProtocol>(),
                       std::make_shared<FakeTransport>(IPv4Address{}, IPv4Address{})),
               std::logic_error);
}

}  // namespace
}  // namespace twisted::testing

namespace twisted::testing {
namespace {

// As a port does: a protocol built by an override of buildProtocol that did
// not set `factory` gets it from the loopback.
class BareEchoFactory : public Factory {
 public:
  std::shared_ptr<Protocol> buildProtocol(const Address&) override {
    return std::make_shared<wire::Echo>();
  }
};

TEST(IOPump, TheFactoryIsSetWhenAnOverriddenBuildProtocolDidNot) {
  BareEchoFactory serverFactory, clientFactory;
  auto pair = connectedServerAndClient(serverFactory, clientFactory);
  EXPECT_EQ(pair.server->factory, &serverFactory);
  EXPECT_EQ(pair.client->factory, &clientFactory);
}

}  // namespace
}  // namespace twisted::testing

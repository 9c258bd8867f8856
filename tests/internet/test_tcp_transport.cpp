// TCP transports: half-close, producers and consumers, flow control,
// pausing, gathered writes, and running out of descriptors.
// Covers twisted/internet/test/test_tcp.py (half-close, producer, abort and
// EMFILE tests) and twisted/test/test_tcp.py (see docs/conformance.md).
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>

#include "internet/stream/reserved_fd.hpp"
#include "iterate_until.hpp"
#include "tcp_helpers.hpp"

namespace twisted::test {
namespace {

class TCPTransportTest : public ReactorTest {
 protected:
  std::shared_ptr<RecordingFactory> server = std::make_shared<RecordingFactory>();
  std::shared_ptr<IListeningPort> port;

  void listen() { port = reactor->listenTCP(0, server, 50, "127.0.0.1"); }
  void stopPortThenReactor() {
    port->stopListening().addCallback([this] { reactor->stop(); });
  }
};

// ---- half-close ----------------------------------------------------------------

TEST_P(TCPTransportTest, HalfCloseWaitsForAPullProducerThatUnregistersAfterItsLastWrite) {
  // loseWriteConnection while a pull producer is registered: the producer's
  // last write goes straight out, it unregisters, and the half-close must
  // still happen (the server sees the end of its read side).
  struct LastChunk : IPullProducer {
    ITransport* transport = nullptr;
    int asked = 0;
    void resumeProducing() override {
      ++asked;
      transport->write("last");
      transport->unregisterProducer();
    }
    void stopProducing() override {}
  };
  std::shared_ptr<HalfCloseProtocol> serverSide;
  auto halfServer = std::make_shared<Factory>([&] {
    serverSide = std::make_shared<HalfCloseProtocol>();
    serverSide->onReadLost = [](HalfCloseProtocol& self) { self.transport->loseConnection(); };
    return serverSide;
  });
  port = reactor->listenTCP(0, halfServer, 50, "127.0.0.1");
  auto producer = std::make_shared<LastChunk>();
  std::shared_ptr<HalfCloseProtocol> clientSide;
  auto client = std::make_shared<ClientFactory>([&] {
    clientSide = std::make_shared<HalfCloseProtocol>();
    clientSide->onMade = [producer](ScriptedProtocol& self) {
      producer->transport = self.transport.get();
      self.transport->registerProducer(producer, false);
      dynamic_cast<ITCPTransport&>(*self.transport).loseWriteConnection();
    };
    clientSide->onReadLost = [](HalfCloseProtocol& self) { self.transport->loseConnection(); };
    clientSide->onLost = [this](ScriptedProtocol&, const Failure&) { stopPortThenReactor(); };
    return clientSide;
  });
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  runReactor();
  ASSERT_TRUE(serverSide && clientSide);
  EXPECT_EQ(producer->asked, 1);
  EXPECT_EQ(serverSide->data, "last");
  EXPECT_TRUE(serverSide->readLost) << "the client's write side was never shut";
  EXPECT_TRUE(clientSide->writeLost);
}

TEST_P(TCPTransportTest, HalfCloseBothWays) {
  // The client sends a request and half-closes; the server reads to the end,
  // answers, and closes. The client still reads the answer.
  std::shared_ptr<HalfCloseProtocol> serverSide;
  auto halfServer = std::make_shared<Factory>([&] {
    serverSide = std::make_shared<HalfCloseProtocol>();
    serverSide->onReadLost = [](HalfCloseProtocol& self) {
      self.transport->write("got " + self.data);
      self.transport->loseConnection();
    };
    return serverSide;
  });
  port = reactor->listenTCP(0, halfServer, 50, "127.0.0.1");
  std::shared_ptr<HalfCloseProtocol> clientSide;
  auto client = std::make_shared<ClientFactory>([&] {
    clientSide = std::make_shared<HalfCloseProtocol>();
    clientSide->onMade = [](ScriptedProtocol& self) {
      self.transport->write("request");
      dynamic_cast<ITCPTransport&>(*self.transport).loseWriteConnection();
    };
    clientSide->onReadLost = [](HalfCloseProtocol& self) {
      // Both directions are closed now; as in Twisted, the protocol ends it.
      self.transport->write("ignored: the write side is shut");
      self.transport->loseConnection();
    };
    clientSide->onLost = [this](ScriptedProtocol&, const Failure&) { stopPortThenReactor(); };
    return clientSide;
  });
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  runReactor();
  ASSERT_TRUE(serverSide && clientSide);
  EXPECT_EQ(serverSide->data, "request");
  EXPECT_TRUE(serverSide->readLost);
  EXPECT_TRUE(clientSide->writeLost);
  EXPECT_EQ(clientSide->data, "got request");
  EXPECT_TRUE(clientSide->readLost) << "the server's close is the end of the client's read side";
  // Closing a connection whose two halves are both shut is a clean end, on
  // every backend (poll and epoll report only a hang-up there, which alone
  // would mean "lost"; found by the interop tests against Twisted).
  ASSERT_TRUE(clientSide->closedReason && serverSide->closedReason);
  EXPECT_TRUE(clientSide->closedReason->check<error::ConnectionDone>())
      << clientSide->closedReason->brief();
  EXPECT_TRUE(serverSide->closedReason->check<error::ConnectionDone>())
      << serverSide->closedReason->brief();
}

TEST_P(TCPTransportTest, PeerHalfCloseLosesANonHalfCloseableProtocol) {
  server->setup = [this](ScriptedProtocol& p) {
    p.onLost = [this](ScriptedProtocol&, const Failure&) { stopPortThenReactor(); };
  };
  listen();
  auto client = std::make_shared<RecordingFactory>();
  client->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) {
      self.transport->write("x");
      dynamic_cast<ITCPTransport&>(*self.transport).loseWriteConnection();
    };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  runReactor();
  ASSERT_EQ(server->protocols.size(), 1u);
  EXPECT_EQ(server->protocols[0]->data, "x");
  EXPECT_TRUE(server->protocols[0]->closedReason->check<error::ConnectionDone>());
  // The client is lost when the server's close arrives.
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(!client->protocols[0]->closed); }, "!client->protocols[0]->closed",
      0.01));
}

// ---- producers -------------------------------------------------------------------

TEST_P(TCPTransportTest, StreamingProducerIsPausedAboveHighWaterAndResumedWhenDrained) {
  // The client reads nothing at first; the server's producer writes
  // whenever it runs, until the kernel's buffers are full and it stays
  // paused; then the client reads and the producer is resumed. (Whether
  // the first pause comes before the kernel is full depends on the
  // backend: a completion backend sends with the next turn, not in write.)
  auto producer = std::make_shared<PushProducer>();
  std::size_t written = 0;
  std::size_t bufferedAtResume = 0;
  ITransport* serverTransport = nullptr;
  auto produce = [&] {
    // 16 KiB chunks until paused (bounded).
    while (producer->running && written < (64u << 20)) {
      serverTransport->write(std::string(16 * 1024, 'p'));
      written += 16 * 1024;
    }
  };
  producer->onResume = [&] {
    bufferedAtResume = serverTransport->writeBufferSize();
    produce();
  };
  server->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) {
      serverTransport = self.transport.get();
      self.transport->setWriteBufferLimits(64 * 1024, 16 * 1024);
      self.transport->registerProducer(producer, true);
      produce();
      EXPECT_EQ(producer->paused, 1);
      EXPECT_LT(written, 64u << 20) << "the producer was never paused";
      EXPECT_GT(self.transport->writeBufferSize(), 64u * 1024);
    };
  };
  listen();
  auto client = std::make_shared<RecordingFactory>();
  client->setup = [&](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->pauseProducing(); };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(producer->paused == 0); }, "producer->paused == 0", 0.01));
  // The kernel fills: the producer ends paused and stays so while the
  // client does not read (bounded by the 64 MiB the producer may write).
  int quiet = 0;
  for (int i = 0; i < 5000 && quiet < 5; ++i) {
    int before = producer->resumed;
    reactor->iterate(0.01);
    quiet = producer->resumed == before && !producer->running ? quiet + 1 : 0;
  }
  ASSERT_EQ(quiet, 5) << "the producer never stayed paused";
  EXPECT_LT(written, 64u << 20);
  int resumedBefore = producer->resumed;
  client->protocols[0]->transport->resumeProducing();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return producer->resumed > resumedBefore; }, "producer->resumed", 0.01));
  EXPECT_LE(bufferedAtResume, 16u * 1024);
  server->protocols[0]->transport->unregisterProducer();
  server->protocols[0]->transport->loseConnection();
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] { return client->protocols[0]->data.size() >= written && client->protocols[0]->closed; },
      "the client reads everything written, then the close"));
  EXPECT_TRUE(client->protocols[0]->data == std::string(written, 'p'));
  EXPECT_EQ(producer->stopped, 0) << "unregistered before the close";
  port->stopListening();
  reactor->iterate(0);
}

TEST_P(TCPTransportTest, PullProducerIsAskedUntilItUnregistersAndTheCloseWaitsForIt) {
  auto producer = std::make_shared<PullProducer>();
  int chunks = 0;
  ITransport* serverTransport = nullptr;
  producer->onResume = [&] {
    if (++chunks <= 10) {
      serverTransport->write(std::string(1000, static_cast<char>('a' + chunks - 1)));
    } else {
      serverTransport->unregisterProducer();  // the pending loseConnection goes ahead
    }
  };
  server->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) {
      serverTransport = self.transport.get();
      self.transport->registerProducer(producer, false);
      self.transport->loseConnection();  // must wait for the producer
    };
  };
  listen();
  auto client = std::make_shared<RecordingFactory>();
  client->setup = [this](ScriptedProtocol& p) {
    p.onLost = [this](ScriptedProtocol&, const Failure&) { stopPortThenReactor(); };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  runReactor();
  EXPECT_EQ(chunks, 11);
  std::string expected;
  for (char c = 'a'; c < 'a' + 10; ++c) expected += std::string(1000, c);
  EXPECT_TRUE(client->protocols[0]->data == expected)
      << "received " << client->protocols[0]->data.size();
  EXPECT_TRUE(client->protocols[0]->closedReason->check<error::ConnectionDone>());
}

TEST_P(TCPTransportTest, RegisteredProducerIsStoppedWhenTheConnectionIsLost) {
  auto producer = std::make_shared<PushProducer>();
  server->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) {
      self.transport->registerProducer(producer, true);
      EXPECT_THROW(self.transport->registerProducer(std::make_shared<PushProducer>(), true),
                   std::logic_error);
      EXPECT_THROW(self.transport->registerProducer(std::make_shared<PushProducer>(), false),
                   std::logic_error);
    };
    p.onLost = [this](ScriptedProtocol&, const Failure&) { stopPortThenReactor(); };
  };
  listen();
  auto client = std::make_shared<RecordingFactory>();
  client->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->abortConnection(); };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  runReactor();
  EXPECT_EQ(producer->stopped, 1);
  // Registering on a closed transport stops the producer at once.
  auto late = std::make_shared<PushProducer>();
  server->protocols[0]->transport->registerProducer(late, true);
  EXPECT_EQ(late->stopped, 1);
}

// ---- flow control ------------------------------------------------------------------

TEST_P(TCPTransportTest, EchoStaysBoundedAgainstAPeerThatDoesNotRead) {
  // Beyond Twisted: an echo server (no producer code at all) stops reading
  // while its write buffer is above the high-water mark, so a client that
  // sends without reading cannot make the server's memory grow. (64 MiB:
  // loopback buffers autotune up to tcp_rmem/tcp_wmem's maxima, about 20 MiB
  // over the four socket buffers of the path, which 16 MiB could fit in.)
  constexpr std::size_t kTotal = 64u << 20;
  std::size_t maxBuffered = 0;
  server->setup = [&](ScriptedProtocol& p) {
    p.onData = [&](ScriptedProtocol& self, std::string_view d) {
      self.transport->write(d);
      maxBuffered = std::max(maxBuffered, self.transport->writeBufferSize());
      self.data.clear();  // the accumulating base would hold it all
    };
  };
  listen();
  auto client = std::make_shared<RecordingFactory>();
  std::size_t sent = 0;
  client->setup = [&](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->pauseProducing(); };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(client->protocols.empty()); }, "client->protocols.empty()", 0.01));
  auto& clientTransport = *client->protocols[0]->transport;
  // Send while the client's own buffer drains; stop when the whole path is full.
  int idle = 0;
  while (sent < kTotal && idle < 20) {
    if (clientTransport.writeBufferSize() < 256 * 1024) {
      clientTransport.write(std::string(64 * 1024, 'e'));
      sent += 64 * 1024;
      idle = 0;
    } else {
      ++idle;
    }
    reactor->iterate(0.005);
  }
  EXPECT_LT(sent, kTotal) << "the path never filled: the server read without bound";
  EXPECT_LE(maxBuffered, 64u * 1024 + 64 * 1024) << "server buffer beyond high water + one read";
  // Now read everything back; it arrives intact.
  clientTransport.resumeProducing();
  for (int i = 0; i < 3000 && client->protocols[0]->data.size() < sent; ++i) reactor->iterate(0.01);
  EXPECT_TRUE(client->protocols[0]->data == std::string(sent, 'e'));
  clientTransport.loseConnection();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(!server->protocols[0]->closed); }, "!server->protocols[0]->closed",
      0.01));
  port->stopListening();
  reactor->iterate(0);
}

TEST_P(TCPTransportTest, PauseProducingStopsDataReceivedUntilResumed) {
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->pauseProducing(); };
  };
  listen();
  auto client = std::make_shared<RecordingFactory>();
  client->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->write("queued"); };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(server->protocols.empty() || client->protocols.empty()); },
      "server->protocols.empty() || client->protocols.empty()", 0.01));
  for (int i = 0; i < 10; ++i) reactor->iterate(0.01);
  EXPECT_EQ(server->protocols[0]->data, "");
  server->protocols[0]->transport->resumeProducing();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(server->protocols[0]->data != "queued"); },
      "server->protocols[0]->data != \"queued\"", 0.01));
  client->protocols[0]->transport->loseConnection();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(!server->protocols[0]->closed); }, "!server->protocols[0]->closed",
      0.01));
  port->stopListening();
  reactor->iterate(0);
}

TEST_P(TCPTransportTest, WriteSequenceKeepsOrder) {
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) {
      std::vector<std::string> parts;
      for (int i = 0; i < 100; ++i) parts.push_back(std::to_string(i) + ",");
      std::vector<std::string_view> views(parts.begin(), parts.end());
      self.transport->writeSequence(views);  // more pieces than one sendmsg takes
      self.transport->writeSequence({"", "x", "", "y"});
      self.transport->loseConnection();
    };
  };
  listen();
  auto client = std::make_shared<RecordingFactory>();
  client->setup = [this](ScriptedProtocol& p) {
    p.onLost = [this](ScriptedProtocol&, const Failure&) { stopPortThenReactor(); };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  runReactor();
  std::string expected;
  for (int i = 0; i < 100; ++i) expected += std::to_string(i) + ",";
  EXPECT_EQ(client->protocols[0]->data, expected + "xy");
}

// ---- writes of the bytes just read (sent without a copy) ------------------------

class WriteOfReadBytesTest : public TCPTransportTest {
 protected:
  std::shared_ptr<RecordingFactory> client = std::make_shared<RecordingFactory>();

  // The client sends `message`, then records what comes back until the
  // server closes.
  void exchange(std::string message) {
    listen();
    client->setup = [this, message](ScriptedProtocol& p) {
      p.onMade = [message](ScriptedProtocol& self) { self.transport->write(message); };
      p.onLost = [this](ScriptedProtocol&, const Failure&) { stopPortThenReactor(); };
    };
    reactor->connectTCP("127.0.0.1", portOf(*port), client);
    runReactor();
    ASSERT_EQ(client->protocols.size(), 1u);
    ASSERT_TRUE(client->protocols[0]->closed);
  }
};

TEST_P(WriteOfReadBytesTest, LaterWritesAndTheCloseComeAfterIt) {
  // An echo's write of the bytes just read is sent from the read buffer
  // once dataReceived returns; every write after it, copied or gathered,
  // and the close must still come after it, in order.
  std::string expected;
  std::vector<std::size_t> sizes;
  server->setup = [&](ScriptedProtocol& p) {
    p.onData = [&](ScriptedProtocol& self, std::string_view d) {
      ITransport& t = *self.transport;
      t.write(d.substr(0, 1));
      sizes.push_back(t.writeBufferSize());
      t.write("[");
      t.write(d.substr(1));
      std::string_view tail[] = {"]", d.substr(0, 1)};
      t.writeSequence(tail);
      sizes.push_back(t.writeBufferSize());
      std::string head(d.substr(0, 1));
      expected += head + "[" + std::string(d.substr(1)) + "]" + head;
      t.loseConnection();
    };
  };
  exchange("hello");
  EXPECT_EQ(client->protocols[0]->data, expected);
  EXPECT_EQ(expected, "h[ello]h");  // one read on loopback
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[0], 1u) << "the uncopied write counts in writeBufferSize";
  EXPECT_EQ(sizes[1], 8u);
  EXPECT_TRUE(client->protocols[0]->closedReason->check<error::ConnectionDone>());
}

TEST_P(WriteOfReadBytesTest, EchoThenLoseConnectionSendsItAll) {
  server->setup = [](ScriptedProtocol& p) {
    p.onData = [](ScriptedProtocol& self, std::string_view d) {
      self.transport->write(d);
      self.transport->loseConnection();
    };
  };
  exchange(std::string(1000, 'q'));
  EXPECT_EQ(client->protocols[0]->data, std::string(1000, 'q'));
  EXPECT_TRUE(client->protocols[0]->closedReason->check<error::ConnectionDone>());
}

TEST_P(WriteOfReadBytesTest, EchoThenAbortSendsNothing) {
  server->setup = [](ScriptedProtocol& p) {
    p.onData = [](ScriptedProtocol& self, std::string_view d) {
      self.transport->write(d);
      self.transport->abortConnection();
    };
  };
  exchange("dropped");
  EXPECT_EQ(client->protocols[0]->data, "");
  EXPECT_TRUE(client->protocols[0]->closedReason->check<error::ConnectionLost>())
      << client->protocols[0]->closedReason->getErrorMessage();
}

TEST_P(WriteOfReadBytesTest, AReadNestedInDataReceivedKeepsTheOuterBytes) {
  // The first connection's dataReceived runs the reactor until a second
  // connection has been read: that read must not land in the buffer the
  // first one's bytes are still in, and the first one's echo (sent from
  // that buffer after dataReceived returns) must carry its own bytes.
  const std::string first(3000, 'A');
  const std::string second(3000, 'B');
  auto other = std::make_shared<RecordingFactory>();
  other->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) { self.transport->write(second); };
  };
  bool intact = false;
  bool nested = false;
  int nestedTurns = 0;
  server->setup = [&](ScriptedProtocol& p) {
    p.onData = [&](ScriptedProtocol& self, std::string_view d) {
      bool outer = &self == server->protocols[0].get();
      if (nested || !outer) {
        self.transport->write(d);  // the nested read, or a later one: an echo
        if (!outer || self.data.size() == first.size()) self.transport->loseConnection();
        return;
      }
      nested = true;
      std::string before(d);
      reactor->connectTCP("127.0.0.1", portOf(*port), other);
      while (other->protocols.empty() || other->protocols[0]->data.size() < second.size()) {
        if (++nestedTurns > 2000) break;  // bounded: fails below instead of hanging
        reactor->iterate(0.01);
      }
      intact = d == before;
      self.transport->write(d);
      if (server->protocols[0]->data.size() == first.size()) self.transport->loseConnection();
    };
  };
  exchange(first);
  EXPECT_LE(nestedTurns, 2000);
  EXPECT_TRUE(intact) << "a nested read overwrote the bytes of the read around it";
  EXPECT_EQ(client->protocols[0]->data, first);
  ASSERT_EQ(other->protocols.size(), 1u);
  EXPECT_EQ(other->protocols[0]->data, second);
}

TWISTED_ALL_BACKENDS(WriteOfReadBytesTest);

TEST_P(TCPTransportTest, AWriteThatFailsWhileReadingIsPausedIsConnectionLost) {
  // The server does not read (paused); the client resets the connection;
  // then the server writes, from a timer, outside any read. The failed
  // send still reaches connectionLost as ConnectionLost, on every backend
  // (on io_uring the send's result is taken by the write side, not left
  // for a read that will not come).
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->pauseProducing(); };
  };
  listen();
  auto client = std::make_shared<RecordingFactory>();
  client->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->abortConnection(); };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        return !server->protocols.empty() && !client->protocols.empty() &&
               client->protocols[0]->closed;
      },
      "the client reset the connection"));
  // One write, after the reset has arrived (loopback delivers it within
  // the client's close): it fails, and nothing else will happen.
  reactor->callLater(0, [&] { server->protocols[0]->transport->write(std::string(1000, 'w')); });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return server->protocols[0]->closed; },
      "connectionLost after a write to a reset connection"));
  ASSERT_TRUE(server->protocols[0]->closedReason.has_value());
  EXPECT_TRUE(server->protocols[0]->closedReason->check<error::ConnectionLost>())
      << server->protocols[0]->closedReason->getErrorMessage();
  port->stopListening();
  reactor->iterate(0);
}

TEST_P(TCPTransportTest, PeerVanishingMidWriteIsConnectionLost) {
  // The server writes far more than the socket buffers hold; the client
  // resets the connection. The server's write fails and reaches
  // connectionLost as ConnectionLost, nothing more.
  server->setup = [this](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->write(std::string(8 << 20, 'w')); };
    p.onLost = [this](ScriptedProtocol&, const Failure&) { stopPortThenReactor(); };
  };
  listen();
  auto client = std::make_shared<RecordingFactory>();
  client->setup = [](ScriptedProtocol& p) {
    p.onData = [](ScriptedProtocol& self, std::string_view) { self.transport->abortConnection(); };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  runReactor();
  ASSERT_TRUE(server->protocols[0]->closed);
  EXPECT_TRUE(server->protocols[0]->closedReason->check<error::ConnectionLost>())
      << server->protocols[0]->closedReason->getErrorMessage();
}

// ---- running out of descriptors -------------------------------------------------------

TEST_P(TCPTransportTest, AcceptSurvivesRunningOutOfDescriptors) {
  // The limit set below is the lowest free descriptor number, so every
  // descriptor the test makes (port, clients, reserve) is under it; with few
  // open that is far below FD_SETSIZE and select can watch them all.
  if (GetParam() == Backend::Select) {
    int probe = ::dup(0);
    ::close(probe);
    if (probe + 16 >= FD_SETSIZE) {
      GTEST_SKIP() << "descriptor " << probe << " is the lowest free: select cannot watch the "
                   << "port and clients at or above FD_SETSIZE (" << FD_SETSIZE << ")";
    }
  }
  listen();
  int number = portOf(*port);
  // Three clients complete the handshake into the backlog.
  std::vector<Fd> clients;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(number));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 3; ++i) {
    Fd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    clients.push_back(std::move(c));
  }
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  // Find the lowest free descriptor number and forbid it and everything above.
  int lowest = ::dup(0);
  ::close(lowest);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  for (int i = 0; i < 5; ++i) reactor->iterate(0.01);  // would spin here without the reserve
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_TRUE(server->protocols.empty()) << "no descriptor for a connection: none was made";
  // The backlog was drained: each waiting client sees its connection closed.
  for (auto& c : clients) {
    char b;
    timeval tv{2, 0};
    ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = ::read(c.get(), &b, 1);
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << "client still waiting";
  }
  EXPECT_EQ(logs->flushMessages("out of file descriptors"), 1u) << "logged once";
  // FileDescriptorReservationTests.test_enterClosesFileExitOpensFile: the
  // reserve was spent (closed) for the episode and is open again after it.
  EXPECT_GE(twisted::detail::ReservedFd::descriptor(), 0) << "the reserve is reopened";
  // The port still works.
  auto client = std::make_shared<RecordingFactory>();
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->loseConnection(); };
  };
  reactor->connectTCP("127.0.0.1", number, client);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(client->protocols.empty() || !client->protocols[0]->closed); },
      "client->protocols.empty() || !client->protocols[0]->closed", 0.01));
  EXPECT_EQ(server->protocols.size(), 1u);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !(!server->protocols[0]->closed); }, "!server->protocols[0]->closed",
      0.01));
  port->stopListening();
  reactor->iterate(0);
}

TWISTED_ALL_BACKENDS(TCPTransportTest);

// The EMFILE tests below lower RLIMIT_NOFILE to the lowest free descriptor
// number (or below); select can watch them only if that is under FD_SETSIZE.
class DescriptorLimitTest : public TCPTransportTest {
 protected:
  void SetUp() override {
    TCPTransportTest::SetUp();
    if (GetParam() == Backend::Select && lowestFree() + 16 >= FD_SETSIZE) {
      GTEST_SKIP() << "the lowest free descriptor is too near FD_SETSIZE for select";
    }
    ASSERT_EQ(twisted::detail::ReservedFd::descriptor(), -1) << "another port holds the reserve";
    ::getrlimit(RLIMIT_NOFILE, &saved);
  }
  void TearDown() override {
    ::setrlimit(RLIMIT_NOFILE, &saved);
    TCPTransportTest::TearDown();
  }
  static int lowestFree() {
    int fd = ::dup(0);
    ::close(fd);
    return fd;
  }
  void limitTo(int n) {
    rlimit tight = saved;
    tight.rlim_cur = static_cast<rlim_t>(n);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  }
  void unlimit() { ::setrlimit(RLIMIT_NOFILE, &saved); }
  // Sockets made now, connected later (connecting needs no new descriptor).
  std::vector<Fd> sockets(int n) {
    std::vector<Fd> out;
    for (int i = 0; i < n; ++i) out.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return out;
  }
  void connectAll(std::vector<Fd>& clients) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(portOf(*port)));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (auto& c : clients) {
      ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    }
  }
  ::testing::AssertionResult waitForAccepted(std::size_t n) {
    return iterateUntil(
        *reactor, [&] { return server->protocols.size() == n; }, "the waiting clients accepted",
        0.01);
  }
  // Closes the raw clients, waits for the server sides to see it, stops the port.
  void closeClientsAndPort(std::vector<Fd>& clients) {
    clients.clear();
    auto allClosed = [&] {
      for (auto& p : server->protocols) {
        if (!p->closed) return false;
      }
      return true;
    };
    ASSERT_TRUE(iterateUntil(*reactor, allClosed, "the server sides closed", 0.01));
    port->stopListening();
    reactor->iterate(0);
  }
  bool portIsReading() const {
    auto* p = dynamic_cast<IReadDescriptor*>(port.get());
    for (auto& r : reactor->getReaders()) {
      if (r.get() == p) return true;
    }
    return false;
  }
  rlimit saved{};
};

// FileDescriptorReservationTests.test_reserveEMFILELogged: a port whose
// reserve could not be opened (the process was at its limit) pauses
// accepting on EMFILE instead of spinning, logs it once, and recovers (its
// reserve too) once descriptors are free again.
TEST_P(DescriptorLimitTest, WithoutAReserveEMFILEPausesAcceptingThenRecovers) {
  std::vector<Fd> clients = sockets(3);
  // The first user of the reserve finds the process at its limit, so it is
  // not opened; the port, started after, is its second user. (Started under
  // the limit itself, the port would work too, but UBSan's checks of the
  // test's own calls need descriptors of their own.)
  limitTo(lowestFree());
  twisted::detail::ReservedFd::addUser();
  unlimit();
  struct DropUser {
    ~DropUser() { twisted::detail::ReservedFd::removeUser(); }
  } dropUser;
  listen();
  EXPECT_EQ(twisted::detail::ReservedFd::descriptor(), -1) << "the reserve could not be opened";
  connectAll(clients);
  limitTo(lowestFree());  // no descriptor for an accepted connection
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !portIsReading(); }, "accepting paused", 0.01));
  for (int i = 0; i < 3; ++i) reactor->iterate(0.01);
  EXPECT_TRUE(server->protocols.empty());
  unlimit();
  ASSERT_TRUE(waitForAccepted(3));
  EXPECT_TRUE(portIsReading());
  EXPECT_GE(twisted::detail::ReservedFd::descriptor(), 0) << "the reserve is opened once it can be";
  EXPECT_EQ(logs->flushMessages("pausing accepts"), 1u) << "logged once";
  closeClientsAndPort(clients);
}

// FileDescriptorReservationTests.test_exitSuppressesReservationException:
// the reserve is spent on EMFILE and cannot be reopened (still no
// descriptor free): there is then no reserve, and the next EMFILE pauses
// accepting rather than spinning; once descriptors are free, the waiting
// clients are served and the reserve is back.
TEST_P(DescriptorLimitTest, AReserveThatCannotBeReopenedLeavesAcceptingPaused) {
  listen();
  int reserve = twisted::detail::ReservedFd::descriptor();
  ASSERT_GE(reserve, 0);
  std::vector<Fd> clients = sockets(3);
  connectAll(clients);
  // Nothing can be opened, not even in the reserve's place once it is closed.
  limitTo(std::min(lowestFree(), reserve));
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return twisted::detail::ReservedFd::descriptor() < 0 && !portIsReading(); },
      "the reserve spent, not reopened, and accepting paused", 0.01));
  EXPECT_TRUE(server->protocols.empty());
  unlimit();
  ASSERT_TRUE(waitForAccepted(3));
  EXPECT_GE(twisted::detail::ReservedFd::descriptor(), 0) << "the reserve is back";
  EXPECT_EQ(logs->flushMessages("out of file descriptors"), 1u) << "one episode, logged once";
  closeClientsAndPort(clients);
}

TWISTED_ALL_BACKENDS(DescriptorLimitTest);

}  // namespace
}  // namespace twisted::test

// ---- Twisted's AbortConnectionMixin: abort from the producer and from a full queue ---------

namespace twisted::test {
namespace {

struct Thrown : std::runtime_error {
  Thrown() : std::runtime_error("thrown after abort") {}
};

// A client factory, and how many of the two sides have closed.
struct AbortRun {
  std::shared_ptr<RecordingFactory> client = std::make_shared<RecordingFactory>();
  int closed = 0;
};

class AbortTest : public TCPTransportTest {
 protected:
  // Registers `producer` (streaming) and writes 64 KiB at a time until the
  // full queue pauses it (bounded: 256 MiB).
  static void fillUntilPaused(ITransport& t, const std::shared_ptr<PushProducer>& producer) {
    t.registerProducer(producer, true);
    std::size_t written = 0;
    while (producer->running && written < (256u << 20)) {
      t.write(std::string(64 * 1024, 'w'));
      written += 64 * 1024;
    }
  }
  // The client writes 762,000 bytes at once, then registers `producer`
  // (pull); `registering` is true while registerProducer runs.
  static void writeALotThenRegister(AbortRun& run, std::shared_ptr<PullProducer> producer,
                                    ITransport*& transport, bool& registering) {
    run.client->setup = [producer, &transport, &registering](ScriptedProtocol& p) {
      p.onMade = [producer, &transport, &registering](ScriptedProtocol& self) {
        transport = self.transport.get();
        self.transport->write(std::string(6 * 127000, 'l'));
        registering = true;
        self.transport->registerProducer(producer, false);
        registering = false;
      };
    };
  }
  // The client lost the connection once, with the exception thrown after
  // its abort as the reason, logged once.
  void expectLostOnceWithTheException(AbortRun& run) {
    auto& c = *run.client->protocols.at(0);
    EXPECT_EQ(c.lostCalls, 1);
    EXPECT_TRUE(c.closedReason->check<Thrown>()) << c.closedReason->brief();
    EXPECT_EQ(logs->flushErrors<Thrown>(), 1u);
  }
  // Connects a client whose protocols `client->setup` scripts; the run ends
  // (port closed, reactor stopped) once both sides are closed.
  void runBoth(AbortRun& run) {
    auto stopWhenBoth = [this, &run](ScriptedProtocol&, const Failure&) {
      if (++run.closed == 2) stopPortThenReactor();
    };
    for (auto* f : {server.get(), run.client.get()}) {
      f->setup = [stopWhenBoth, prev = f->setup](ScriptedProtocol& p) {
        if (prev) prev(p);
        p.onLost = [stopWhenBoth, mine = p.onLost](ScriptedProtocol& self, const Failure& why) {
          if (mine) mine(self, why);
          stopWhenBoth(self, why);
        };
      };
    }
    listen();
    reactor->connectTCP("127.0.0.1", portOf(*port), run.client);
    runReactor(60);
  }
};

// test_resumeProducingAbort: a pull producer aborts from resumeProducing
// (from doWrite) with a large write queued, before any byte came back:
// connectionLost once, ConnectionAborted, the producer stopped.
TEST_P(AbortTest, AbortFromAPullProducersResumeProducing) {
  AbortRun run;
  auto producer = std::make_shared<PullProducer>();
  ITransport* clientTransport = nullptr;
  bool registering = false;
  producer->onResume = [&] {
    if (!registering) clientTransport->abortConnection();
  };
  writeALotThenRegister(run, producer, clientTransport, registering);
  runBoth(run);
  ASSERT_EQ(run.client->protocols.size(), 1u);
  auto& c = *run.client->protocols[0];
  EXPECT_EQ(c.lostCalls, 1);
  EXPECT_TRUE(c.closedReason->check<error::ConnectionAborted>()) << c.closedReason->brief();
  EXPECT_EQ(producer->stopped, 1);
  EXPECT_TRUE(server->protocols[0]->closedReason->check<error::ConnectionClosed>());
}

// test_resumeProducingThrows: resumeProducing aborts and then throws: the
// connection is lost with that exception, logged once.
TEST_P(AbortTest, APullProducerThatAbortsThenThrowsLosesTheConnectionWithTheException) {
  AbortRun run;
  auto producer = std::make_shared<PullProducer>();
  ITransport* clientTransport = nullptr;
  bool registering = false;
  producer->onResume = [&] {
    if (registering) return;
    clientTransport->abortConnection();
    throw Thrown();
  };
  writeALotThenRegister(run, producer, clientTransport, registering);
  runBoth(run);
  expectLostOnceWithTheException(run);
}

// test_dataReceivedThrows: dataReceived aborts and then throws: logged
// once, the connection lost once.
TEST_P(AbortTest, DataReceivedThatAbortsThenThrowsIsLoggedOnce) {
  AbortRun run;
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->write("ready"); };
  };
  run.client->setup = [](ScriptedProtocol& p) {
    p.onData = [](ScriptedProtocol& self, std::string_view) {
      self.transport->abortConnection();
      throw Thrown();
    };
  };
  runBoth(run);
  expectLostOnceWithTheException(run);
}

// test_fullWriteBuffer: the server stops reading at once; the client writes
// until its streaming producer is paused (its queue is full), then aborts:
// the queue is dropped, the producer stopped, connectionLost comes once.
TEST_P(AbortTest, AbortWithAFullWriteQueueDropsItAndCloses) {
  AbortRun run;
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->pauseProducing(); };
  };
  auto producer = std::make_shared<PushProducer>();
  run.client->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) {
      fillUntilPaused(*self.transport, producer);
      ASSERT_EQ(producer->paused, 1) << "the queue never filled";
    };
  };
  listen();
  // The server is not reading, so it cannot see the reset: the run ends when
  // the client has closed, and the reactor's shutdown closes the server.
  run.client->setup = [&, prev = run.client->setup](ScriptedProtocol& p) {
    prev(p);
    p.onLost = [this](ScriptedProtocol&, const Failure&) { stopPortThenReactor(); };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), run.client);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return producer->paused == 1 && !run.client->protocols.empty(); },
      "the client's producer paused by a full queue", 0.01));
  auto& c = *run.client->protocols[0];
  EXPECT_GT(c.transport->writeBufferSize(), 0u);
  c.transport->abortConnection();
  runReactor(60);
  EXPECT_EQ(c.lostCalls, 1);
  EXPECT_TRUE(c.closedReason->check<error::ConnectionAborted>()) << c.closedReason->brief();
  EXPECT_EQ(producer->stopped, 1) << "the registered producer is stopped";
  EXPECT_TRUE(server->protocols.at(0)->closedReason->check<error::ConnectionClosed>());
}

// test_resumeProducingAbortLater: the same abort from resumeProducing, after
// bytes have been exchanged (the server writes first; the client's large
// write and its producer come from dataReceived).
TEST_P(AbortTest, AbortFromAPullProducersResumeProducingAfterAnExchange) {
  AbortRun run;
  auto producer = std::make_shared<PullProducer>();
  ITransport* clientTransport = nullptr;
  bool registering = false;
  producer->onResume = [&] {
    if (!registering) clientTransport->abortConnection();
  };
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->write("ready"); };
  };
  run.client->setup = [&](ScriptedProtocol& p) {
    p.onData = [&](ScriptedProtocol& self, std::string_view) {
      if (clientTransport) return;
      clientTransport = self.transport.get();
      self.transport->write(std::string(6 * 127000, 'l'));
      registering = true;
      self.transport->registerProducer(producer, false);
      registering = false;
    };
  };
  runBoth(run);
  auto& c = *run.client->protocols.at(0);
  EXPECT_EQ(c.data, "ready");
  EXPECT_EQ(c.lostCalls, 1);
  EXPECT_TRUE(c.closedReason->check<error::ConnectionAborted>()) << c.closedReason->brief();
  EXPECT_EQ(producer->stopped, 1);
  EXPECT_TRUE(server->protocols[0]->closedReason->check<error::ConnectionClosed>());
}

// test_fullWriteBufferAfterByteExchange: "hello" each way first; then the
// server stops reading and the client writes until its streaming producer is
// paused by the full queue, and aborts.
TEST_P(AbortTest, AbortWithAFullWriteQueueAfterAnExchange) {
  AbortRun run;
  server->setup = [](ScriptedProtocol& p) {
    p.onData = [](ScriptedProtocol& self, std::string_view) {
      if (self.data != "hello") return;
      self.transport->write("hello");
      self.transport->pauseProducing();
    };
  };
  auto producer = std::make_shared<PushProducer>();
  run.client->setup = [&](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->write("hello"); };
    p.onData = [&](ScriptedProtocol& self, std::string_view) {
      if (self.data != "hello") return;
      fillUntilPaused(*self.transport, producer);
      ASSERT_EQ(producer->paused, 1) << "the queue never filled";
      EXPECT_GT(self.transport->writeBufferSize(), 0u);
      self.transport->abortConnection();
    };
    p.onLost = [this](ScriptedProtocol&, const Failure&) { stopPortThenReactor(); };
  };
  listen();
  reactor->connectTCP("127.0.0.1", portOf(*port), run.client);
  runReactor(60);
  auto& c = *run.client->protocols.at(0);
  EXPECT_EQ(c.data, "hello");
  EXPECT_EQ(producer->paused, 1);
  EXPECT_EQ(c.lostCalls, 1);
  EXPECT_TRUE(c.closedReason->check<error::ConnectionAborted>()) << c.closedReason->brief();
  EXPECT_EQ(producer->stopped, 1);
  EXPECT_TRUE(server->protocols.at(0)->closedReason->check<error::ConnectionClosed>());
}

TWISTED_ALL_BACKENDS(AbortTest);

}  // namespace
}  // namespace twisted::test

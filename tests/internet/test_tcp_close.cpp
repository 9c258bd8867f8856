// How TCP connections end in the corner cases Twisted tests: resuming a
// transport that is closing or closed, a close seen while paused, a write
// into a connection the peer has closed, half-close notifications that
// throw, writeSequence against a streaming producer. On every backend.
// Covers rows of twisted/internet/test/test_tcp.py and twisted/test/test_tcp.py
// (see docs/conformance.md).
#include <stdexcept>
#include <string>
#include <vector>

#include "iterate_until.hpp"
#include "tcp_helpers.hpp"

namespace twisted::test {
namespace {

struct Buggy : std::runtime_error {
  Buggy() : std::runtime_error("ONO I AM BUGGY CODE") {}
};

class TCPCloseTest : public ReactorTest {
 protected:
  std::shared_ptr<RecordingFactory> server = std::make_shared<RecordingFactory>();
  std::shared_ptr<RecordingFactory> client = std::make_shared<RecordingFactory>();
  std::shared_ptr<IListeningPort> port;

  void listenAndConnect() {
    port = reactor->listenTCP(0, server, 50, "127.0.0.1");
    reactor->connectTCP("127.0.0.1", portOf(*port), client);
  }
  void stopPortThenReactor() {
    port->stopListening().addCallback([this] { reactor->stop(); });
  }
  // Stops the run once `n` protocols of either side have lost their
  // connection.
  void stopAfterLosses(int n) {
    auto lost = std::make_shared<int>(0);
    for (auto* f : {server.get(), client.get()}) {
      f->setup = [this, n, lost, prev = f->setup](ScriptedProtocol& p) {
        if (prev) prev(p);
        p.onLost = [this, n, lost, mine = p.onLost](ScriptedProtocol& self, const Failure& why) {
          if (mine) mine(self, why);
          if (++*lost == n) stopPortThenReactor();
        };
      };
    }
  }
  bool isReading(ITransport& t) const {
    auto* d = dynamic_cast<IReadDescriptor*>(&t);
    for (auto& r : reactor->getReaders()) {
      if (r.get() == d) return true;
    }
    return false;
  }
  bool isWriting(ITransport& t) const {
    auto* d = dynamic_cast<IWriteDescriptor*>(&t);
    for (auto& w : reactor->getWriters()) {
      if (w.get() == d) return true;
    }
    return false;
  }
};

// ---- resuming what is closing or closed ----------------------------------------------

// TCPConnectionTestsBuilder.test_resumeProducingWhileDisconnecting: once
// loseConnection has begun the close, resumeProducing does not read again
// (what the client sends after that is never delivered).
TEST_P(TCPCloseTest, ResumeProducingWhileDisconnectingDoesNotReadAgain) {
  bool readingAfterResume = true;
  server->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) {
      // (Nothing queued: a full queue would pause reading by itself.)
      self.transport->pauseProducing();
      self.transport->loseConnection();
      self.transport->resumeProducing();
      readingAfterResume = isReading(*self.transport);
    };
  };
  client->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->write("unread"); };
  };
  stopAfterLosses(2);
  listenAndConnect();
  runReactor(30);
  EXPECT_FALSE(readingAfterResume);
  EXPECT_EQ(server->protocols.at(0)->data, "");
}

// TCPConnectionTestsBuilder.test_resumeProducingWhileDisconnected: after
// connectionLost, resumeProducing registers nothing with the reactor.
TEST_P(TCPCloseTest, ResumeProducingWhileDisconnectedRegistersNothing) {
  bool reading = true, writing = true;
  server->setup = [&](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->loseConnection(); };
    p.onLost = [&](ScriptedProtocol& self, const Failure&) {
      self.transport->resumeProducing();
      reading = isReading(*self.transport);
      writing = isWriting(*self.transport);
    };
  };
  stopAfterLosses(2);
  listenAndConnect();
  runReactor();
  EXPECT_FALSE(reading);
  EXPECT_FALSE(writing);
  auto& t = *server->protocols.at(0)->transport;
  t.resumeProducing();  // and again, from outside any callback
  EXPECT_FALSE(isReading(t));
  EXPECT_FALSE(isWriting(t));
}

// TCPConnectionTestsBuilder.test_connectionLostAfterPausedTransport: the
// client writes and closes; the server pauses in dataReceived and resumes on
// the next turn: the close is reported only then.
TEST_P(TCPCloseTest, APeersCloseSeenWhilePausedIsReportedAfterResuming) {
  std::vector<std::string> events;
  server->setup = [&](ScriptedProtocol& p) {
    p.onData = [&](ScriptedProtocol& self, std::string_view) {
      events.push_back("paused");
      self.transport->pauseProducing();
      reactor->callLater(0, [&events, &self] {
        events.push_back("resumed");
        self.transport->resumeProducing();
      });
    };
    p.onLost = [&](ScriptedProtocol&, const Failure&) { events.push_back("lost"); };
  };
  client->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) {
      self.transport->write("some bytes for you");
      self.transport->loseConnection();
    };
  };
  stopAfterLosses(2);
  listenAndConnect();
  runReactor();
  EXPECT_EQ(events, (std::vector<std::string>{"paused", "resumed", "lost"}));
  EXPECT_EQ(server->protocols.at(0)->data, "some bytes for you");
}

// ---- writing into a closed connection -----------------------------------------------------

// WriteDataTests.test_writeAfterShutdownWithoutReading: the client does not
// read (paused) and writes through a pull producer after the server has
// closed: the failed write, not a read, tells it: ConnectionLost.
TEST_P(TCPCloseTest, WritingAfterThePeerClosedIsConnectionLostEvenWhenNotReading) {
  client->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->pauseProducing(); };
  };
  server->setup = [this](ScriptedProtocol& p) {
    p.onLost = [this](ScriptedProtocol&, const Failure&) {
      // Only now does the client write, one byte per resumeProducing.
      ITransport* t = client->protocols.at(0)->transport.get();
      auto producer = std::make_shared<PullProducer>();
      producer->onResume = [t] { t->write("x"); };
      t->registerProducer(producer, false);
    };
  };
  stopAfterLosses(2);
  listenAndConnect();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !server->protocols.empty() && !client->protocols.empty(); },
      "both sides connected", 0.01));
  server->protocols[0]->transport->loseConnection();
  runReactor(30);
  EXPECT_TRUE(server->protocols[0]->closedReason->check<error::ConnectionDone>());
  auto& reason = *client->protocols[0]->closedReason;
  EXPECT_TRUE(reason.check<error::ConnectionLost>()) << reason.brief();
}

// HalfCloseNoNotificationAndShutdownExceptionTests.testShutdownException:
// write and loseWriteConnection on a connection the server has already
// closed: nothing throws or is logged, both sides are lost.
TEST_P(TCPCloseTest, HalfClosingAConnectionThePeerClosedIsQuiet) {
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->loseConnection(); };
  };
  client->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) {
      self.transport->pauseProducing();  // so the server's close is not read first
    };
  };
  listenAndConnect();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !server->protocols.empty() && server->protocols[0]->closed; },
      "the server has closed", 0.01));
  stopAfterLosses(1);  // the server's loss is counted already
  auto& c = *client->protocols.at(0);
  c.onLost = [this](ScriptedProtocol&, const Failure&) { stopPortThenReactor(); };
  EXPECT_NO_THROW(c.transport->write("X"));
  EXPECT_NO_THROW(dynamic_cast<ITCPTransport&>(*c.transport).loseWriteConnection());
  c.transport->resumeProducing();
  runReactor();
  EXPECT_TRUE(c.closed);
  EXPECT_EQ(c.lostCalls, 1);
  EXPECT_TRUE(logs->unflushedErrors().empty());
}

// ---- half-close notifications that throw ------------------------------------------------

class HalfCloseFactory : public RecordingFactory {
 public:
  std::function<void(HalfCloseProtocol&)> setupHalfClose;
  std::vector<std::shared_ptr<HalfCloseProtocol>> halfCloseProtocols;
  std::shared_ptr<Protocol> buildProtocol(const Address&) override {
    auto p = std::make_shared<HalfCloseProtocol>();
    p->factory = this;
    if (setupHalfClose) setupHalfClose(*p);
    halfCloseProtocols.push_back(p);
    return p;
  }
};

// Both sides half-closeable; the run ends when both are lost.
class HalfCloseBuggyTest : public TCPCloseTest {
 protected:
  std::shared_ptr<HalfCloseFactory> hcServer = std::make_shared<HalfCloseFactory>();
  std::shared_ptr<HalfCloseFactory> hcClient = std::make_shared<HalfCloseFactory>();
  int lost = 0;

  void run() {
    for (auto* f : {hcServer.get(), hcClient.get()}) {
      f->setupHalfClose = [this, prev = f->setupHalfClose](HalfCloseProtocol& p) {
        if (prev) prev(p);
        // As Twisted's MyHCProtocol: both halves shut is the end.
        p.onReadLost = [mine = p.onReadLost](HalfCloseProtocol& self) {
          if (mine) mine(self);
          if (self.writeLost) self.transport->loseConnection();
        };
        p.onLost = [this](ScriptedProtocol&, const Failure&) {
          if (++lost == 2) stopPortThenReactor();
        };
      };
    }
    hcClient->setupHalfClose = [prev = hcClient->setupHalfClose](HalfCloseProtocol& p) {
      prev(p);
      p.onMade = [](ScriptedProtocol& self) {
        dynamic_cast<ITCPTransport&>(*self.transport).loseWriteConnection();
      };
    };
    hcServer->setupHalfClose = [prev = hcServer->setupHalfClose](HalfCloseProtocol& p) {
      prev(p);
      // The client's half-close ends the server's reading; it then closes.
      p.onReadLost = [mine = p.onReadLost](HalfCloseProtocol& self) {
        mine(self);
        self.transport->loseConnection();
      };
    };
    port = reactor->listenTCP(0, hcServer, 50, "127.0.0.1");
    reactor->connectTCP("127.0.0.1", portOf(*port), hcClient);
    runReactor();
  }
};

// HalfCloseBuggyApplicationTests.test_readNotificationRaises: the server's
// readConnectionLost throws: logged once, and the connection is lost with
// that error (the client, too, sees the end).
TEST_P(HalfCloseBuggyTest, AThrowingReadConnectionLostIsLoggedAndLosesTheConnection) {
  hcServer->setupHalfClose = [](HalfCloseProtocol& p) {
    p.onReadLost = [](HalfCloseProtocol&) { throw Buggy(); };
  };
  run();
  auto& s = *hcServer->halfCloseProtocols.at(0);
  EXPECT_EQ(s.lostCalls, 1);
  EXPECT_TRUE(s.closedReason->check<Buggy>()) << s.closedReason->brief();
  EXPECT_EQ(hcClient->halfCloseProtocols.at(0)->lostCalls, 1);
  EXPECT_EQ(logs->flushErrors<Buggy>(), 1u);
}

// HalfCloseBuggyApplicationTests.test_writeNotificationRaises: the client's
// writeConnectionLost throws: logged once, the client's connection is fully
// closed with that error, and the exception does not escape.
TEST_P(HalfCloseBuggyTest, AThrowingWriteConnectionLostIsLoggedAndLosesTheConnection) {
  hcClient->setupHalfClose = [](HalfCloseProtocol& p) {
    p.onWriteLost = [](HalfCloseProtocol&) { throw Buggy(); };
  };
  run();
  auto& c = *hcClient->halfCloseProtocols.at(0);
  EXPECT_EQ(c.lostCalls, 1);
  EXPECT_TRUE(c.closedReason->check<Buggy>()) << c.closedReason->brief();
  EXPECT_EQ(hcServer->halfCloseProtocols.at(0)->lostCalls, 1);
  EXPECT_EQ(logs->flushErrors<Buggy>(), 1u);
}

// ---- writeSequence and a streaming producer ------------------------------------------------

// WriteSequenceTestsMixin.test_streamingProducer: a writeSequence that takes
// the queue above high water pauses the registered streaming producer; once
// the peer reads and the queue drains, it is resumed (never stopped).
TEST_P(TCPCloseTest, WriteSequenceAboveHighWaterPausesAStreamingProducerUntilDrained) {
  class SaveActions : public IPushProducer {
   public:
    std::vector<std::string> actions;
    std::function<void()> onResume;
    void pauseProducing() override { actions.push_back("pause"); }
    void resumeProducing() override {
      actions.push_back("resume");
      onResume();
    }
    void stopProducing() override { actions.push_back("stop"); }
  };
  auto producer = std::make_shared<SaveActions>();
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->pauseProducing(); };
  };
  stopAfterLosses(2);
  listenAndConnect();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !server->protocols.empty() && !client->protocols.empty(); },
      "both sides connected", 0.01));
  auto& c = *client->protocols[0];
  auto& s = *server->protocols[0];
  producer->onResume = [&] {
    c.transport->unregisterProducer();
    c.transport->loseConnection();  // after everything queued: the server reads it all
  };
  c.transport->registerProducer(producer, true);
  c.transport->setWriteBufferLimits(500, 100);
  // The server does not read, so the kernel's buffers fill and the queue
  // grows; each writeSequence is 1,000 bytes (bounded: 64 MiB).
  std::vector<std::string> chunk(20, std::string(50, 'x'));
  std::vector<std::string_view> views(chunk.begin(), chunk.end());
  std::size_t written = 0;
  while (producer->actions.empty() && written < (64u << 20)) {
    c.transport->writeSequence(views);
    written += 1000;
    if (written % (256 * 1024) == 0) reactor->iterate(0);  // let the socket take some
  }
  ASSERT_EQ(producer->actions, std::vector<std::string>{"pause"});
  EXPECT_GT(c.transport->writeBufferSize(), 500u);
  s.transport->resumeProducing();
  runReactor(30);
  EXPECT_EQ(producer->actions, (std::vector<std::string>{"pause", "resume"}));
  EXPECT_EQ(s.data.size(), written);
}

TWISTED_ALL_BACKENDS(TCPCloseTest);
TWISTED_ALL_BACKENDS(HalfCloseBuggyTest);

}  // namespace
}  // namespace twisted::test

// The TLS transport's life at its edges (Twisted's protocols/test/test_tls.py,
// TLSMemoryBIOTests and TLSProducerTests): calls made twice or after the
// end, producers registered and unregistered at odd moments, and a record
// corrupted on the wire. Every case runs on StringTransports, exact about
// what crosses.
#include <gtest/gtest.h>
#include <openssl/err.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "tls_test_protocols.hpp"
#include "twisted/internet/error.hpp"

namespace twisted::test {
namespace {

// A client and a server of ours, handshaken.
struct Pair {
  std::shared_ptr<Recorder> c = std::make_shared<Recorder>();
  std::shared_ptr<Recorder> s = std::make_shared<Recorder>();
  OnWire client = onWire(c, TLSRole::Client);
  OnWire server = onWire(s, TLSRole::Server);
  // Handshaken unless `handshake` is false.
  explicit Pair(bool handshake = true) {
    if (handshake) trickle(client, server, 1 << 20);
  }
};

// ---- after the end, and twice -------------------------------------------------------

TEST(TLSLifecycleTest, WritesAfterConnectionLostAreDropped) {
  Pair p;
  ASSERT_EQ(p.c->handshakes, 1);
  p.client.tls->connectionLost(Failure::of(error::ConnectionLost()));
  ASSERT_EQ(p.c->lostCount, 1);
  p.client.wire->clear();
  p.c->transport->write("too late");
  p.c->transport->writeSequence({"also ", "too late"});
  EXPECT_EQ(p.client.wire->value(), "");
  EXPECT_EQ(p.c->lostCount, 1);
}

TEST(TLSLifecycleTest, LoseAndAbortAfterConnectionLostDoNothing) {
  Pair p;
  p.client.tls->connectionLost(Failure::of(error::ConnectionLost()));
  p.client.wire->clear();
  p.c->transport->loseConnection();
  p.c->transport->abortConnection();
  dynamic_cast<ITCPTransport&>(*p.c->transport).loseWriteConnection();
  EXPECT_EQ(p.client.wire->value(), "");  // no close_notify, no alert
  EXPECT_FALSE(p.client.wire->disconnecting());
  EXPECT_EQ(p.c->lostCount, 1);
  EXPECT_TRUE(lostWith<error::ConnectionLost>(*p.c));
}

TEST(TLSLifecycleTest, ASecondLoseConnectionSendsNothingMore) {
  Pair p;
  p.c->transport->loseConnection();
  EXPECT_TRUE(p.c->transport->disconnecting());
  std::string closeNotify = p.client.wire->value();
  EXPECT_FALSE(closeNotify.empty());
  p.c->transport->loseConnection();
  EXPECT_EQ(p.client.wire->value(), closeNotify);  // one close_notify
  trickle(p.client, p.server, 1 << 20);            // the server answers with its own
  ASSERT_TRUE(p.client.wire->disconnecting());
  p.client.tls->connectionLost(Failure::of(error::ConnectionDone()));
  EXPECT_EQ(p.c->lostCount, 1);
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*p.c)) << p.c->closedReason->getErrorMessage();
}

TEST(TLSLifecycleTest, WhatThePeerWroteBeforeOurCloseNotifyReachedItArrivesFirst) {
  // We close; before our close_notify reaches it the peer writes a
  // megabyte. All of it is delivered to us before our connection ends.
  Pair p;
  std::string big(1024 * 1024, 'q');
  p.c->transport->loseConnection();
  p.s->transport->write(big);
  trickle(p.client, p.server, 1 << 20);
  EXPECT_EQ(p.c->data.size(), big.size());
  EXPECT_FALSE(p.c->closed) << "lost before the peer's bytes were read";
  ASSERT_TRUE(p.client.wire->disconnecting());
  p.client.tls->connectionLost(Failure::of(error::ConnectionDone()));
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*p.c)) << p.c->closedReason->getErrorMessage();
}

// ---- a record corrupted on the wire -----------------------------------------------------

TEST(TLSLifecycleTest, ACorruptedRecordIsATLSErrorAndDeliversNothing) {
  Pair p;
  p.c->transport->write("a record that will not arrive");
  std::string record = p.client.wire->value();
  p.client.wire->clear();
  ASSERT_GT(record.size(), 5u);
  record.back() = static_cast<char>(record.back() ^ 0x01);  // in the authentication tag
  p.server.tls->dataReceived(record);
  EXPECT_EQ(p.s->data, "");
  EXPECT_TRUE(p.server.wire->disconnecting());
  std::string alert = p.server.wire->value();
  EXPECT_FALSE(alert.empty()) << "the client is told why (bad_record_mac)";
  p.server.tls->connectionLost(Failure::of(error::ConnectionDone()));
  EXPECT_EQ(p.s->lostCount, 1);
  EXPECT_TRUE(lostWith<tls::TLSError>(*p.s)) << p.s->closedReason->getErrorMessage();
  p.server.wire->clear();
  p.s->transport->write("after the error");  // dropped, no throw
  EXPECT_EQ(p.server.wire->value(), "");
  // The client hears the alert as a TLS error too.
  p.client.tls->dataReceived(alert);
  p.client.tls->connectionLost(Failure::of(error::ConnectionDone()));
  EXPECT_EQ(p.c->lostCount, 1);
  EXPECT_TRUE(lostWith<tls::TLSError>(*p.c)) << p.c->closedReason->getErrorMessage();
  ERR_clear_error();
}

// ---- producers --------------------------------------------------------------------------

TEST(TLSLifecycleTest, ASecondProducerIsRefusedAndTheFirstStays) {
  Pair p;
  auto first = std::make_shared<PushProducer>();
  p.c->transport->registerProducer(first, true);
  EXPECT_THROW(p.c->transport->registerProducer(std::make_shared<PushProducer>(), true),
               std::logic_error);
  EXPECT_TRUE(p.client.wire->producer());
  p.client.wire->producer()->stopProducing();  // below reaches the first one still
  EXPECT_EQ(first->stopped, 1);
}

TEST(TLSLifecycleTest, UnregisteringTwiceOrWithNoneIsHarmless) {
  Pair p;
  p.c->transport->unregisterProducer();  // none registered
  p.c->transport->registerProducer(std::make_shared<PushProducer>(), true);
  p.c->transport->unregisterProducer();
  p.c->transport->unregisterProducer();
  EXPECT_EQ(p.client.wire->producer(), nullptr);
  p.c->transport->write("still writable");
  trickle(p.client, p.server, 1 << 20);
  EXPECT_EQ(p.s->data, "still writable");
}

TEST(TLSLifecycleTest, AProducerRegisteredAfterConnectionLostIsStoppedAtOnce) {
  for (bool streaming : {true, false}) {
    Pair p;
    p.client.tls->connectionLost(Failure::of(error::ConnectionLost()));
    auto push = std::make_shared<PushProducer>();
    auto pull = std::make_shared<CountingPullProducer>(*p.c->transport, 1);
    if (streaming) {
      p.c->transport->registerProducer(push, true);
      EXPECT_EQ(push->stopped, 1);
      EXPECT_EQ(push->resumed, 0);
    } else {
      p.c->transport->registerProducer(pull, false);
      EXPECT_EQ(pull->asked, 0);
    }
    EXPECT_EQ(p.client.wire->producer(), nullptr) << "nothing registered below";
  }
}

TEST(TLSLifecycleTest, WritesAndLoseConnectionBeforeTheHandshakeWaitForTheProducer) {
  // A producer registered, a write and loseConnection before the
  // handshake: the write arrives after it, close_notify waits for
  // unregisterProducer, and writes go on until then (Twisted's WBOR case).
  Pair p(/*handshake=*/false);
  auto& [c, s, client, server] = p;
  auto producer = std::make_shared<PushProducer>();
  c->transport->registerProducer(producer, true);
  c->transport->write("before, ");
  c->transport->loseConnection();
  c->transport->write("while the producer is registered");
  trickle(client, server, 1 << 20);
  EXPECT_EQ(s->data, "before, while the producer is registered");
  EXPECT_FALSE(server.wire->disconnecting()) << "closed before the producer unregistered";
  c->transport->unregisterProducer();
  c->transport->write(", after");  // dropped: the close is under way
  trickle(client, server, 1 << 20);
  EXPECT_EQ(s->data, "before, while the producer is registered");
  EXPECT_TRUE(server.wire->disconnecting());
  EXPECT_TRUE(client.wire->disconnecting());
}

TEST(TLSLifecycleTest, AProducerPausedBothByTheHandshakeAndBelowResumesWhenBothLetGo) {
  Pair p(/*handshake=*/false);
  auto& [c, s, client, server] = p;
  auto producer = std::make_shared<PushProducer>();
  c->transport->registerProducer(producer, true);
  c->transport->write(std::string(100 * 1024, 'z'));  // held: it waits for the handshake
  EXPECT_EQ(producer->paused, 1);
  auto& below = dynamic_cast<IPushProducer&>(*client.wire->producer());
  below.pauseProducing();  // and below is full too
  EXPECT_EQ(producer->paused, 1) << "paused once";
  trickle(client, server, 1 << 20);  // the handshake lets go...
  EXPECT_EQ(s->data.size(), 100u * 1024);
  EXPECT_EQ(producer->resumed, 0) << "...but below still holds it";
  below.resumeProducing();
  EXPECT_EQ(producer->resumed, 1);
  EXPECT_EQ(producer->paused, 1);
}

}  // namespace
}  // namespace twisted::test

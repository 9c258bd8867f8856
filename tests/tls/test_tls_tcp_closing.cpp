// TLS connections over TCP that end early (Twisted's internet/test/test_tls.py
// and test/test_ssl.py, ConnectionLostTests and the badContext tests): a
// protocol that closes from handshakeCompleted, both sides closing at once,
// and a connection creator that throws, under startTLS, connectSSL and
// listenSSL. On every backend.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "../internet/tcp_helpers.hpp"
#include "iterate_until.hpp"
#include "port_of.hpp"
#include "reactor_test.hpp"
#include "tls_helpers.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/tls/reactor_ssl.hpp"

namespace twisted::test {
namespace {

// Closes as soon as TLS is up, and counts how it ended.
class ClosesOnHandshake : public Protocol, public tls::IHandshakeListener {
 public:
  int handshakes = 0;
  int lost = 0;
  std::optional<Failure> reason;
  void handshakeCompleted() override {
    ++handshakes;
    transport->loseConnection();
  }
  void connectionLost(const Failure& r) override {
    ++lost;
    reason = r;
  }
};

// Refuses to make connections.
class ThrowingCreator : public tls::IOpenSSLConnectionCreator {
 public:
  tls::SSLHandle connectionForTLS(tls::TLSRole) override {
    throw tls::TLSError("this creator makes no connections");
  }
};

class TLSClosingTest : public ReactorTest {};

TEST_P(TLSClosingTest, AClientThatClosesFromHandshakeCompletedEndsOnceAndCleanly) {
  auto server = std::make_shared<RecordingFactory>();
  auto port = tls::listenSSL(*reactor, 0, server, serverOptions(), 50, "127.0.0.1");
  auto c = std::make_shared<ClosesOnHandshake>();
  tls::connectSSL(*reactor, "127.0.0.1", portOf(*port),
                  std::make_shared<ClientFactory>([c] { return c; }), clientOptions("127.0.0.1"));
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] { return c->lost == 1 && !server->protocols.empty() && server->protocols[0]->closed; },
      "both ends of the connection"));
  EXPECT_EQ(c->handshakes, 1);
  ASSERT_TRUE(c->reason);
  EXPECT_TRUE(c->reason->check<error::ConnectionDone>()) << c->reason->getErrorMessage();
  EXPECT_TRUE(server->protocols[0]->closedReason->check<error::ConnectionDone>())
      << server->protocols[0]->closedReason->getErrorMessage();
  stopAndWait(*reactor, port);
  EXPECT_EQ(c->lost, 1);
}

TEST_P(TLSClosingTest, BothSidesClosingFromHandshakeCompletedEachEndOnceAndCleanly) {
  // The two close_notify alerts cross on the wire.
  auto s = std::make_shared<ClosesOnHandshake>();
  auto c = std::make_shared<ClosesOnHandshake>();
  auto port = tls::listenSSL(*reactor, 0, factoryOf(s), serverOptions(), 50, "127.0.0.1");
  tls::connectSSL(*reactor, "127.0.0.1", portOf(*port),
                  std::make_shared<ClientFactory>([c] { return c; }), clientOptions("127.0.0.1"));
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return c->lost == 1 && s->lost == 1; }, "both ends of the connection"));
  EXPECT_EQ(c->handshakes, 1);
  EXPECT_EQ(s->handshakes, 1);
  EXPECT_TRUE(c->reason->check<error::ConnectionDone>()) << c->reason->getErrorMessage();
  EXPECT_TRUE(s->reason->check<error::ConnectionDone>()) << s->reason->getErrorMessage();
  stopAndWait(*reactor, port);
  EXPECT_EQ(c->lost + s->lost, 2);
}

TEST_P(TLSClosingTest, StartTLSWithACreatorThatThrowsLeavesTheConnectionAsItWas) {
  auto server = std::make_shared<RecordingFactory>();
  server->setup = [](ScriptedProtocol& p) {
    p.onData = [](ScriptedProtocol& self, std::string_view d) {
      if (d.find('!') != std::string_view::npos) self.transport->loseConnection();
    };
  };
  auto port = reactor->listenTCP(0, server, 50, "127.0.0.1");
  auto client = std::make_shared<RecordingFactory>();
  client->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) {
      EXPECT_THROW(
          tls::startTLS(*self.transport, std::make_shared<ThrowingCreator>(), tls::TLSRole::Client),
          tls::TLSError);
      self.transport->write("still plaintext!");
    };
  };
  reactor->connectTCP("127.0.0.1", portOf(*port), client);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !client->protocols.empty() && client->protocols[0]->closed; },
      "the connection to end"));
  ASSERT_EQ(server->protocols.size(), 1u);
  EXPECT_EQ(server->protocols[0]->data, "still plaintext!");
  EXPECT_TRUE(client->protocols[0]->closedReason->check<error::ConnectionDone>());
  stopAndWait(*reactor, port);
}

TEST_P(TLSClosingTest, ConnectSSLWithACreatorThatThrowsFailsTheAttempt) {
  auto server = std::make_shared<RecordingFactory>();
  auto port = reactor->listenTCP(0, server, 50, "127.0.0.1");
  auto client = std::make_shared<RecordingFactory>();
  tls::connectSSL(*reactor, "127.0.0.1", portOf(*port), client,
                  std::make_shared<ThrowingCreator>());
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !client->failed.empty() || !client->lost.empty(); },
      "the attempt to end"));
  ASSERT_EQ(client->failed.size(), 1u) << "reached clientConnectionLost instead";
  EXPECT_TRUE(client->failed[0].check<tls::TLSError>()) << client->failed[0].getErrorMessage();
  for (auto& p : client->protocols) EXPECT_FALSE(p->made) << "a protocol TLS refused was connected";
  EXPECT_GE(logs->flushErrors<tls::TLSError>(), 1u);  // logged, as Twisted logs it
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !server->protocols.empty() && server->protocols[0]->closed; },
      "the server's side to be closed"));
  stopAndWait(*reactor, port);
}

TEST_P(TLSClosingTest, ListenSSLWithACreatorThatThrowsClosesEachConnectionAndServesOn) {
  auto server = std::make_shared<RecordingFactory>();
  auto port =
      tls::listenSSL(*reactor, 0, server, std::make_shared<ThrowingCreator>(), 50, "127.0.0.1");
  auto client = std::make_shared<RecordingFactory>();
  for (std::size_t i = 0; i < 2; ++i) {  // the second after the first was refused
    reactor->connectTCP("127.0.0.1", portOf(*port), client);
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return client->protocols.size() == i + 1 && client->protocols[i]->closed; },
        "the connection to be closed by the port"));
  }
  for (auto& p : server->protocols) EXPECT_FALSE(p->made) << "a protocol TLS refused was connected";
  EXPECT_EQ(logs->flushErrors<tls::TLSError>(), 2u);  // once per connection, by the port
  stopAndWait(*reactor, port);
}

TWISTED_ALL_BACKENDS(TLSClosingTest);

}  // namespace
}  // namespace twisted::test

// TLS over real sockets on every backend (Twisted's internet/test/test_tls.py
// and test/test_ssl.py): listenSSL, connectSSL, startTLS over TCP and UNIX
// sockets, verification failures reaching clientConnectionFailed, the
// handshake timeout, and a port that goes on serving after each of them.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "../internet/tcp_helpers.hpp"
#include "iterate_until.hpp"
#include "port_of.hpp"
#include "reactor_test.hpp"
#include "temp_dir.hpp"
#include "tls_helpers.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/protocols/line_receiver.hpp"
#include "twisted/tls/error.hpp"
#include "twisted/tls/reactor_ssl.hpp"

namespace twisted::test {
namespace {

class TLSOverTCPTest : public ReactorTest {
 protected:
  std::shared_ptr<RecordingFactory> server = std::make_shared<RecordingFactory>();
  std::shared_ptr<RecordingFactory> client = std::make_shared<RecordingFactory>();

  std::shared_ptr<IListeningPort> listen(
      std::shared_ptr<tls::IOpenSSLConnectionCreator> options = nullptr) {
    return tls::listenSSL(*reactor, 0, server, options ? options : serverOptions(), 50,
                          "127.0.0.1");
  }
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131) ^ (i >> 9));
  return s;
}

TEST_P(TLSOverTCPTest, ListenSSLAndConnectSSLEchoAMegabyteBothWays) {
  const std::string payload = pattern(1024 * 1024 + 3);
  server->setup = [](ScriptedProtocol& p) {
    p.onData = [](ScriptedProtocol& self, std::string_view d) { self.transport->write(d); };
  };
  client->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) { self.transport->write(payload); };
    p.onData = [&](ScriptedProtocol& self, std::string_view) {
      if (self.data.size() == payload.size()) self.transport->loseConnection();
    };
    p.onLost = [this](ScriptedProtocol&, const Failure&) { reactor->stop(); };
  };
  auto port = listen();
  tls::connectSSL(*reactor, "127.0.0.1", portOf(*port), client, clientOptions("127.0.0.1"));
  runReactor(60);
  ASSERT_EQ(client->protocols.size(), 1u);
  auto& c = *client->protocols[0];
  EXPECT_TRUE(c.data == payload) << c.data.size() << " bytes back";
  ASSERT_TRUE(c.closedReason);
  EXPECT_TRUE(c.closedReason->check<error::ConnectionDone>()) << c.closedReason->getErrorMessage();
  ASSERT_EQ(client->lost.size(), 1u);
  EXPECT_TRUE(client->lost[0].check<error::ConnectionDone>()) << client->lost[0].getErrorMessage();
  auto& tls = dynamic_cast<tls::ISSLTransport&>(*c.transport);
  EXPECT_TRUE(tls.handshakeDone());
  EXPECT_EQ(tls.tlsVersion(), "TLSv1.3");
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !server->protocols.empty() && server->protocols[0]->closed; },
      "the connections to end"));
  EXPECT_TRUE(server->protocols[0]->closedReason->check<error::ConnectionDone>())
      << server->protocols[0]->closedReason->getErrorMessage();
  stopAndWait(*reactor, port);
}

TEST_P(TLSOverTCPTest, ARefusedCertificateReachesClientConnectionFailedAndThePortServesOn) {
  testing::CertificateAuthority other("another CA");
  auto port = listen();
  tls::connectSSL(*reactor, "127.0.0.1", portOf(*port), client,
                  tls::optionsForClientTLS("127.0.0.1", other.trustRoot()));
  // Not runReactor: stopping the reactor would close the port.
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !client->failed.empty(); }, "clientConnectionFailed"));
  ASSERT_EQ(client->failed.size(), 1u);
  EXPECT_TRUE(client->failed[0].check<tls::VerificationError>())
      << client->failed[0].getErrorMessage();
  EXPECT_TRUE(client->lost.empty());

  // The port is not hurt: the next, trusting client gets through.
  auto good = std::make_shared<RecordingFactory>();
  good->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->write("after"); };
  };
  server->setup = [](ScriptedProtocol& p) {
    p.onData = [](ScriptedProtocol& self, std::string_view) { self.transport->loseConnection(); };
  };
  tls::connectSSL(*reactor, "127.0.0.1", portOf(*port), good, clientOptions("127.0.0.1"));
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return server->protocols.size() == 2 && server->protocols[1]->closed; },
      "the second connection to be served"));
  EXPECT_EQ(server->protocols.back()->data, "after");
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !good->protocols.empty() && good->protocols[0]->closed; },
      "the connections to end"));
  stopAndWait(*reactor, port);
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        for (auto& p : server->protocols) {
          if (!p->closed) return false;
        }
        return true;
      },
      "the connections to end"));
}

TEST_P(TLSOverTCPTest, AClientThatNeverSpeaksIsDroppedByTheHandshakeTimeout) {
  auto tlsFactory =
      std::make_shared<tls::TLSMemoryBIOFactory>(serverOptions(), tls::TLSRole::Server, server);
  tlsFactory->handshakeTimeout = 0.2;
  auto port = reactor->listenTCP(0, tlsFactory, 50, "127.0.0.1");
  server->setup = [this](ScriptedProtocol& p) {
    p.onLost = [this](ScriptedProtocol&, const Failure&) { reactor->stop(); };
  };
  auto silent = std::make_shared<RecordingFactory>();
  reactor->connectTCP("127.0.0.1", portOf(*port), silent);
  runReactor(30);
  ASSERT_EQ(server->protocols.size(), 1u);
  EXPECT_TRUE(server->protocols[0]->closedReason->check<tls::HandshakeTimeout>())
      << server->protocols[0]->closedReason->getErrorMessage();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !silent->protocols.empty() && silent->protocols[0]->closed; },
      "the connections to end"));
  stopAndWait(*reactor, port);
}

// ---- startTLS ----------------------------------------------------------------------------

// A line protocol that upgrades to TLS on "STARTTLS" (as SMTP, IMAP and
// XMPP servers do), then echoes lines over TLS.
class UpgradingServer : public basic::LineReceiver {
 public:
  std::vector<std::string> lines;
  std::optional<Failure> reason;
  std::function<void()> onLost;
  bool reversed = false;  // this side speaks as the TLS client
  void lineReceived(std::string_view line) override {
    lines.emplace_back(line);
    if (line == "STARTTLS") {
      sendLine("GO AHEAD");  // queued in plaintext: goes out before TLS
      if (reversed) {
        tls::startTLS(*transport, clientOptions(), tls::TLSRole::Client);
      } else {
        tls::startTLS(*transport, serverOptions(), tls::TLSRole::Server);
      }
      return;
    }
    sendLine(std::string("echo ") + std::string(line));
  }
  void connectionLost(const Failure& r) override {
    reason = r;
    if (onLost) onLost();
  }
};

class UpgradingClient : public basic::LineReceiver, public tls::IHandshakeListener {
 public:
  std::string host = "localhost";
  std::string afterRequest;  // pipelined right after STARTTLS
  std::vector<std::string> lines;
  std::optional<Failure> reason;
  bool upgraded = false;
  std::function<void()> onLost;
  bool reversed = false;  // this side speaks as the TLS server
  void connectionMade() override { transport->write("STARTTLS\r\n" + afterRequest); }
  void lineReceived(std::string_view line) override {
    lines.emplace_back(line);
    if (line == "GO AHEAD") {
      if (reversed) {
        tls::startTLS(*transport, serverOptions(), tls::TLSRole::Server);
      } else {
        tls::startTLS(*transport, clientOptions(host), tls::TLSRole::Client);
      }
      sendLine("secret");  // kept until the handshake is done
      return;
    }
    if (line == "echo secret") transport->loseConnection();
  }
  void handshakeCompleted() override { upgraded = true; }
  void connectionLost(const Failure& r) override {
    reason = r;
    if (onLost) onLost();
  }
};

// Serves `s` on a TCP port (or the UNIX socket `path`), connects `c` to it
// and turns the reactor until both connections are lost.
enum class Connect { Reactor, Endpoint };

void runUpgrade(Reactor& reactor, const std::shared_ptr<UpgradingServer>& s,
                const std::shared_ptr<UpgradingClient>& c, const std::string& path = "",
                Connect how = Connect::Reactor) {
  int lost = 0;
  s->onLost = c->onLost = [&] { ++lost; };
  auto clientFactory = std::make_shared<ClientFactory>([c] { return c; });
  std::shared_ptr<IListeningPort> port;
  if (path.empty()) {
    port = reactor.listenTCP(0, factoryOf(s), 50, "127.0.0.1");
    if (how == Connect::Endpoint) {
      TCP4ClientEndpoint(reactor, "127.0.0.1", portOf(*port)).connect(clientFactory);
    } else {
      reactor.connectTCP("127.0.0.1", portOf(*port), clientFactory);
    }
  } else {
    port = reactor.listenUNIX(path, factoryOf(s));
    reactor.connectUNIX(path, clientFactory);
  }
  ::testing::AssertionResult ended = iterateUntil(
      reactor, [&] { return lost == 2; }, "both ends of the upgraded connection");
  EXPECT_TRUE(ended);
  stopAndWait(reactor, port);
}

TEST_P(TLSOverTCPTest, StartTLSUpgradesAPlaintextConnection) {
  auto s = std::make_shared<UpgradingServer>();
  auto c = std::make_shared<UpgradingClient>();
  runUpgrade(*reactor, s, c);
  EXPECT_EQ(s->lines, (std::vector<std::string>{"STARTTLS", "secret"}));
  EXPECT_EQ(c->lines, (std::vector<std::string>{"GO AHEAD", "echo secret"}));
  EXPECT_TRUE(c->upgraded);
  ASSERT_TRUE(s->reason && c->reason);
  EXPECT_TRUE(c->reason->check<error::ConnectionDone>()) << c->reason->getErrorMessage();
  EXPECT_TRUE(s->reason->check<error::ConnectionDone>()) << s->reason->getErrorMessage();
  auto* tls = dynamic_cast<tls::ISSLTransport*>(s->transport.get());
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->handshakeDone());
}

TEST_P(TLSOverTCPTest, StartTLSOnAConnectionAnEndpointMadeWrapsTheUsersProtocol) {
  // The endpoint's protocol stands between the connection and the user's;
  // the user's writes after startTLS must still be encrypted, and it must
  // be told of the handshake.
  auto s = std::make_shared<UpgradingServer>();
  auto c = std::make_shared<UpgradingClient>();
  runUpgrade(*reactor, s, c, "", Connect::Endpoint);
  EXPECT_EQ(s->lines, (std::vector<std::string>{"STARTTLS", "secret"}));
  EXPECT_EQ(c->lines, (std::vector<std::string>{"GO AHEAD", "echo secret"}));
  EXPECT_TRUE(c->upgraded);
  EXPECT_TRUE(dynamic_cast<tls::ISSLTransport*>(c->transport.get()));
  ASSERT_TRUE(c->reason && s->reason);
  EXPECT_TRUE(c->reason->check<error::ConnectionDone>()) << c->reason->getErrorMessage();
  EXPECT_TRUE(s->reason->check<error::ConnectionDone>()) << s->reason->getErrorMessage();
}

// Speaks TLS from its connectionMade on: startTLS before anything is sent.
class StartsTLSAtOnce : public Protocol, public tls::IHandshakeListener {
 public:
  std::string data;
  int handshakes = 0;
  int lost = 0;
  void connectionMade() override {
    tls::startTLS(*transport, clientOptions(), tls::TLSRole::Client);
    transport->write("hello");
  }
  void dataReceived(std::string_view d) override {
    data.append(d);
    if (data == "hello") transport->loseConnection();
  }
  void handshakeCompleted() override { ++handshakes; }
  void connectionLost(const Failure&) override { ++lost; }
};

TEST_P(TLSOverTCPTest, StartTLSFromConnectionMadeOnAnEndpointsConnection) {
  // The endpoint's wrapper called connectionMade, which replaced it: it
  // must still fire the endpoint's Deferred with the user's protocol.
  server->setup = [](ScriptedProtocol& p) {
    p.onData = [](ScriptedProtocol& self, std::string_view d) { self.transport->write(d); };
  };
  auto port = listen();
  auto c = std::make_shared<StartsTLSAtOnce>();
  std::shared_ptr<Protocol> fired;
  TCP4ClientEndpoint(*reactor, "127.0.0.1", portOf(*port))
      .connect(std::make_shared<ClientFactory>([c] { return c; }))
      .addCallback([&](std::shared_ptr<Protocol> p) { fired = p; });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return c->lost == 1; }, "the connection to end"));
  EXPECT_EQ(fired, c);
  EXPECT_EQ(c->handshakes, 1);
  EXPECT_EQ(c->data, "hello");
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !server->protocols.empty() && server->protocols[0]->closed; },
      "the server's side to end"));
  stopAndWait(*reactor, port);
}

TEST_P(TLSOverTCPTest, StartTLSWithTheRolesReversed) {
  // The side that connected is the TLS server, the listening side the client.
  auto s = std::make_shared<UpgradingServer>();
  auto c = std::make_shared<UpgradingClient>();
  s->reversed = c->reversed = true;
  runUpgrade(*reactor, s, c);
  EXPECT_EQ(s->lines, (std::vector<std::string>{"STARTTLS", "secret"}));
  EXPECT_EQ(c->lines, (std::vector<std::string>{"GO AHEAD", "echo secret"}));
  EXPECT_TRUE(c->upgraded);
  auto* server = dynamic_cast<tls::ISSLTransport*>(s->transport.get());
  ASSERT_TRUE(server);
  EXPECT_TRUE(server->getPeerCertificate()) << "the listening side verified the connecting one";
  ASSERT_TRUE(c->reason && s->reason);
  EXPECT_TRUE(c->reason->check<error::ConnectionDone>()) << c->reason->getErrorMessage();
  EXPECT_TRUE(s->reason->check<error::ConnectionDone>()) << s->reason->getErrorMessage();
}

TEST_P(TLSOverTCPTest, BytesPipelinedAfterTheUpgradeRequestAreNotReadAsPlaintext) {
  auto s = std::make_shared<UpgradingServer>();
  auto c = std::make_shared<UpgradingClient>();
  c->afterRequest = "INJECTED\r\n";  // the STARTTLS injection attack
  runUpgrade(*reactor, s, c);
  EXPECT_EQ(s->lines, (std::vector<std::string>{"STARTTLS"}));  // never "INJECTED"
  ASSERT_TRUE(s->reason);
  EXPECT_TRUE(s->reason->check<tls::HandshakeError>()) << s->reason->getErrorMessage();
}

TEST_P(TLSOverTCPTest, StartTLSWorksOverUNIXSockets) {
  TemporaryDirectory dir("tls");
  std::string path = dir.path() + "/tls.sock";
  auto s = std::make_shared<UpgradingServer>();
  auto c = std::make_shared<UpgradingClient>();
  runUpgrade(*reactor, s, c, path);
  EXPECT_EQ(s->lines, (std::vector<std::string>{"STARTTLS", "secret"}));
  EXPECT_TRUE(c->upgraded);
  ASSERT_TRUE(c->reason && s->reason);
  EXPECT_TRUE(c->reason->check<error::ConnectionDone>()) << c->reason->getErrorMessage();
  EXPECT_TRUE(s->reason->check<error::ConnectionDone>()) << s->reason->getErrorMessage();
}

TEST_P(TLSOverTCPTest, StartTLSRefusesATransportThatSpeaksTLSAlready) {
  auto port = listen();
  client->setup = [this](ScriptedProtocol& p) {
    p.onMade = [this](ScriptedProtocol& self) {
      EXPECT_THROW(tls::startTLS(*self.transport, clientOptions(), tls::TLSRole::Client),
                   std::logic_error);
      self.transport->abortConnection();
      reactor->stop();
    };
  };
  tls::connectSSL(*reactor, "127.0.0.1", portOf(*port), client, clientOptions("127.0.0.1"));
  runReactor(30);
  ASSERT_EQ(client->protocols.size(), 1u);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return client->protocols[0]->closed; }, "the connections to end"));
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !server->protocols.empty() && server->protocols[0]->closed; },
      "the connections to end"));
  stopAndWait(*reactor, port);
}

TWISTED_ALL_BACKENDS(TLSOverTCPTest);

}  // namespace
}  // namespace twisted::test

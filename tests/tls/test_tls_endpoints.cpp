// TLS endpoints on every backend (the SSL parts of Twisted's
// internet/test/test_endpoints.py): wrapClientTLS fires after the
// handshake, a refused certificate reaches the errback, cancelling in the
// handshake, and the ssl:/tls: strings with files on disk.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "../internet/tcp_helpers.hpp"
#include "iterate_until.hpp"
#include "port_of.hpp"
#include "reactor_test.hpp"
#include "temp_dir.hpp"
#include "tls_helpers.hpp"
#include "twisted/internet/client_creator.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/tls/endpoints.hpp"
#include "twisted/tls/error.hpp"
#include "twisted/tls/reactor_ssl.hpp"

namespace twisted::test {
namespace {

struct Result {
  bool done = false;
  std::shared_ptr<Protocol> protocol;
  std::optional<Failure> failure;
};

std::shared_ptr<Result> watch(Deferred<std::shared_ptr<Protocol>> d) {
  auto r = std::make_shared<Result>();
  d.addBoth([r](Outcome<std::shared_ptr<Protocol>> o) {
    r->done = true;
    if (o.succeeded()) {
      r->protocol = o.value();
    } else {
      r->failure = o.failure();
    }
  });
  return r;
}

// What ClientCreator builds: records its end.
class Quiet : public Protocol {
 public:
  void connectionLost(const Failure&) override { closed = true; }
  bool closed = false;
};

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

class TLSEndpointTest : public ReactorTest {
 protected:
  std::shared_ptr<RecordingFactory> server = std::make_shared<RecordingFactory>();
  std::shared_ptr<RecordingFactory> client = std::make_shared<RecordingFactory>();
  // Every connection the server accepted has ended (the janitor's check).
  void waitServerClosed(std::size_t n) {
    ASSERT_TRUE(iterateUntil(
        *reactor,
        [&] {
          if (server->protocols.size() < n) return false;
          for (auto& p : server->protocols)
            if (!p->closed) return false;
          return true;
        },
        "the server's connections to end"));
  }
  std::shared_ptr<IListeningPort> listen() {
    return tls::listenSSL(*reactor, 0, server, serverOptions(), 50, "127.0.0.1");
  }
};

TEST_P(TLSEndpointTest, WrapClientTLSFiresAfterTheHandshake) {
  auto port = listen();
  auto endpoint = tls::wrapClientTLS(
      clientOptions("localhost"),
      std::make_shared<TCP4ClientEndpoint>(*reactor, "127.0.0.1", portOf(*port)));
  auto r = watch(endpoint->connect(client));
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return r->done; }, "the connect Deferred"));
  ASSERT_TRUE(r->protocol) << r->failure->getErrorMessage();
  EXPECT_EQ(r->protocol, client->protocols.at(0)) << "the factory's protocol, not TLS's";
  auto& tls = dynamic_cast<tls::ISSLTransport&>(*client->protocols[0]->transport);
  EXPECT_TRUE(tls.handshakeDone()) << "fired before the handshake completed";
  client->protocols[0]->transport->loseConnection();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return client->protocols[0]->closed; }, "the end"));
  stopAndWait(*reactor, port);
}

TEST_P(TLSEndpointTest, ARefusedCertificateReachesTheErrback) {
  auto port = listen();
  auto endpoint =
      tls::SSL4ClientEndpoint(*reactor, "127.0.0.1", portOf(*port), clientOptions("wrong.example"));
  auto r = watch(endpoint->connect(client));
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return r->done; }, "the connect Deferred"));
  ASSERT_TRUE(r->failure);
  ASSERT_TRUE(r->failure->check<tls::VerificationError>()) << r->failure->getErrorMessage();
  try {
    r->failure->raiseException();
  } catch (const tls::VerificationError& e) {
    EXPECT_EQ(e.kind(), tls::VerificationFailure::WrongHost);
  }
  waitServerClosed(1);
  stopAndWait(*reactor, port);
}

TEST_P(TLSEndpointTest, CancellingInTheHandshakeAbortsWithConnectingCancelled) {
  // A TCP server that never speaks TLS: the handshake waits forever.
  auto plain = reactor->listenTCP(0, server, 50, "127.0.0.1");
  auto endpoint = tls::SSL4ClientEndpoint(*reactor, "127.0.0.1", portOf(*plain), clientOptions());
  auto d = endpoint->connect(client);
  auto r = watch(d);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !client->protocols.empty() && !server->protocols.empty(); },
      "the TCP connection"));
  EXPECT_FALSE(r->done);
  d.cancel();
  ASSERT_TRUE(r->done);
  ASSERT_TRUE(r->failure);
  EXPECT_TRUE(r->failure->check<error::ConnectingCancelledError>())
      << r->failure->getErrorMessage();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return server->protocols[0]->closed; }, "the server to see the abort"));
  stopAndWait(*reactor, plain);
}

TEST_P(TLSEndpointTest, SSLAndTLSStringsWithFilesOnDisk) {
  tls::registerEndpointTypes();
  TemporaryDirectory dir("tls-endpoints");
  writeFile(dir.path() + "/key.pem", localhostCertificate().key().dumpPEM());
  writeFile(dir.path() + "/cert.pem", localhostCertificate().certificate().dumpPEM());
  std::filesystem::create_directory(dir.path() + "/ca");
  writeFile(dir.path() + "/ca/ca.pem", testCA().certificate().dumpPEM());
  auto ep = serverFromString(*reactor, "ssl:0:interface=127.0.0.1:privateKey=" + dir.path() +
                                           "/key.pem:certKey=" + dir.path() + "/cert.pem");
  std::shared_ptr<IListeningPort> port;
  ep->listen(server).addCallback([&](std::shared_ptr<IListeningPort> p) { port = p; });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return port != nullptr; }, "listening"));
  const std::string n = std::to_string(portOf(*port));
  for (const std::string& description :
       {"ssl:host=127.0.0.1:port=" + n + ":hostname=localhost:caCertsDir=" + dir.path() + "/ca",
        "tls:localhost:" + n + ":trustRoots=" + dir.path() +
            "/ca:endpoint=tcp\\:127.0.0.1\\:" + n}) {
    SCOPED_TRACE(description);
    auto r = watch(clientFromString(*reactor, description)->connect(client));
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return r->done; }, "the connect Deferred"));
    ASSERT_TRUE(r->protocol) << r->failure->getErrorMessage();
    r->protocol->transport->loseConnection();
  }
  // Without the CA the platform's trust store refuses the test CA.
  auto r =
      watch(clientFromString(*reactor, "tls:localhost:" + n + ":endpoint=tcp\\:127.0.0.1\\:" + n)
                ->connect(client));
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return r->done; }, "the connect Deferred"));
  ASSERT_TRUE(r->failure);
  EXPECT_TRUE(r->failure->check<tls::VerificationError>()) << r->failure->getErrorMessage();
  waitServerClosed(3);
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        for (auto& p : client->protocols)
          if (!p->closed) return false;
        return true;
      },
      "the client's connections to end"));
  stopAndWait(*reactor, port);
}

TEST_P(TLSEndpointTest, BadFilesAndRefusedKeysAreInvalidDescriptions) {
  tls::registerEndpointTypes();
  TemporaryDirectory dir("tls-endpoints");
  auto errorOf = [&](const std::string& d) -> std::string {
    try {
      serverFromString(*reactor, d);
    } catch (const error::InvalidEndpointDescription& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(errorOf("ssl:0:privateKey=" + dir.path() + "/missing.pem").find("missing.pem"),
            std::string::npos);
  EXPECT_NE(errorOf("ssl:0:sslmethod=TLSv1_METHOD").find("sslmethod"), std::string::npos);
  EXPECT_NE(errorOf("ssl:0:dhParameters=dh.pem").find("dhParameters"), std::string::npos);
  EXPECT_NE(errorOf("ssl:0:privateKey=a:privateKey=b").find("twice"), std::string::npos);
}

TEST_P(TLSEndpointTest, ClientCreatorConnectSSLFiresAfterTheHandshakeOrFails) {
  auto port = listen();
  ClientCreator<Quiet> creator(*reactor);
  std::shared_ptr<Quiet> connected;
  creator.connectSSL("127.0.0.1", portOf(*port), clientOptions("localhost"))
      .addCallback([&](std::shared_ptr<Quiet> p) { connected = p; });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return connected != nullptr; }, "connectSSL"));
  EXPECT_TRUE(dynamic_cast<tls::ISSLTransport&>(*connected->transport).handshakeDone());
  connected->transport->loseConnection();
  std::optional<Failure> refused;
  creator.connectSSL("127.0.0.1", portOf(*port), clientOptions("wrong.example"))
      .addErrback([&](const Failure& f) {
        refused = f;
        return std::shared_ptr<Quiet>();
      });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return refused.has_value(); }, "the refusal"));
  EXPECT_TRUE(refused->check<tls::VerificationError>()) << refused->getErrorMessage();
  waitServerClosed(2);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return connected->closed; }, "the end"));
  stopAndWait(*reactor, port);
}

TWISTED_ALL_BACKENDS(TLSEndpointTest);

}  // namespace
}  // namespace twisted::test

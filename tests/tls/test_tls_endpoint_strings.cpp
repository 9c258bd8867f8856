// The ssl:/tls: strings and the TLS wrapper endpoint on a MemoryReactor
// (the SSL parts of Twisted's internet/test/test_endpoints.py:
// ServerStringTests, SSLClientStringTests, WrapperClientEndpointTests,
// ClientCreatorTests): what reaches listenTCP and connectTCP, defaults,
// chains and their errors. Where a handshake shows what the string did,
// the protocol the reactor was given is connected over the test kit's
// loopback to one of ours.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "pem_files.hpp"
#include "reactor_test.hpp"
#include "tls_test_protocols.hpp"
#include "twisted/internet/client_creator.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/testing/deferred.hpp"
#include "twisted/testing/iosim.hpp"
#include "twisted/testing/memory_reactor.hpp"
#include "twisted/testing/tls.hpp"
#include "twisted/tls/endpoints.hpp"

namespace twisted::test {
namespace {

class TLSEndpointStringTest : public NoLoggedErrorsTest {
 protected:
  // Each connection made ends, so that its protocols, which hold each
  // other until connectionLost, go.
  ~TLSEndpointStringTest() override {
    for (auto& loop : loops) {
      if (loop.pump.clientIO) loop.pump.clientIO->abortConnection();
      loop.pump.flush();
    }
  }
  void SetUp() override { tls::registerEndpointTypes(); }
  std::string errorOf(const std::string& description) {
    try {
      serverFromString(reactor, description);
    } catch (const error::InvalidEndpointDescription& e) {
      return e.what();
    }
    return "(no error)";
  }
  // Accepts one connection on the factory listenTCP was given, from a
  // client of ours made with `client`; returns the client's protocol.
  std::shared_ptr<Recorder> connectTo(
      std::size_t server, std::shared_ptr<tls::IOpenSSLConnectionCreator> client = nullptr) {
    auto c = std::make_shared<Recorder>();
    auto cf = std::make_shared<tls::TLSMemoryBIOFactory>(client ? client : clientOptions(),
                                                         TLSRole::Client, factoryOf(c));
    Address addr = IPv4Address{Transport::TCP, "127.0.0.1", 1};
    loops.push_back(testing::connectedServerAndClient(
        reactor.tcpServers.at(server).factory->buildProtocol(addr), cf->buildProtocol(addr)));
    loops.back().pump.flush();
    clientFactories.push_back(cf);
    return c;
  }

  // Serves the connection connectTCP was given with a server that requires
  // a client certificate of the test CA; `c` must complete its handshake.
  std::shared_ptr<Recorder> serveMutual(const std::shared_ptr<Recorder>& c);

  testing::MemoryReactor reactor;
  TestCertificateFiles files;
  std::vector<testing::ClientServerPump<Protocol, Protocol>> loops;
  std::vector<std::shared_ptr<Factory>> clientFactories;
};

// ---- server strings -------------------------------------------------------------------

TEST_F(TLSEndpointStringTest, AServerStringReachesListenTCPWithItsPortBacklogAndInterface) {
  serverFromString(reactor, "ssl:1234:backlog=12:interface=127.0.0.1:privateKey=" +
                                files("key.pem") + ":certKey=" + files("cert.pem"))
      ->listen(factoryOf(std::make_shared<Recorder>()));
  ASSERT_EQ(reactor.tcpServers.size(), 1u);
  EXPECT_EQ(reactor.tcpServers[0].port, 1234);
  EXPECT_EQ(reactor.tcpServers[0].backlog, 12);
  EXPECT_EQ(reactor.tcpServers[0].interface, "127.0.0.1");
  EXPECT_TRUE(dynamic_cast<tls::TLSMemoryBIOFactory*>(reactor.tcpServers[0].factory.get()));
  auto c = connectTo(0);
  EXPECT_EQ(c->handshakes, 1) << (c->closedReason ? c->closedReason->brief() : "");
}

TEST_F(TLSEndpointStringTest, AServerStringsDefaultsAreTwisteds) {
  // The certificate in the key's file, every interface, and the backlog
  // the system's maximum (deliberately not Twisted's 50: docs/endpoints.md).
  files.write("both.pem", localhostCertificate().key().dumpPEM() +
                              localhostCertificate().certificate().dumpPEM());
  serverFromString(reactor, "ssl:4321:privateKey=" + files("both.pem"))
      ->listen(factoryOf(std::make_shared<Recorder>()));
  ASSERT_EQ(reactor.tcpServers.size(), 1u);
  EXPECT_EQ(reactor.tcpServers[0].port, 4321);
  EXPECT_EQ(reactor.tcpServers[0].backlog, kSystemMaxBacklog);
  EXPECT_EQ(reactor.tcpServers[0].interface, "");
  EXPECT_EQ(connectTo(0)->handshakes, 1);
  // Without privateKey, Twisted's "server.pem" (here in the working directory, where there is
  // none).
  EXPECT_NE(errorOf("ssl:4321").find("server.pem"), std::string::npos) << errorOf("ssl:4321");
}

TEST_F(TLSEndpointStringTest, ExtraCertChainIsLoadedInOrderAndSent) {
  testing::CertificateAuthority root("string chain root");
  testing::CertificateAuthority middle = root.intermediate("string chain intermediate");
  tls::PrivateCertificate leaf = middle.issue("localhost");
  files.write("leaf.key", leaf.key().dumpPEM());
  files.write("leaf.pem", leaf.certificate().dumpPEM());
  files.write("chain.pem", middle.certificate().dumpPEM());
  serverFromString(reactor, "ssl:0:privateKey=" + files("leaf.key") + ":certKey=" +
                                files("leaf.pem") + ":extraCertChain=" + files("chain.pem"))
      ->listen(factoryOf(std::make_shared<Recorder>()));
  auto c = connectTo(0, tls::optionsForClientTLS("localhost", root.trustRoot()));
  ASSERT_EQ(c->handshakes, 1) << (c->closedReason ? c->closedReason->brief() : "");
  STACK_OF(X509)* sent =
      SSL_get_peer_cert_chain(dynamic_cast<tls::TLSMemoryBIOProtocol&>(*c->transport).ssl());
  ASSERT_EQ(sk_X509_num(sent), 2);
  EXPECT_EQ(tls::Certificate::fromHandle(sk_X509_value(sent, 1)), middle.certificate());
}

TEST_F(TLSEndpointStringTest, AChainFileWithNoCertificateIsRefusedNamingIt) {
  files.write("empty-chain.pem", "no certificate here\n");
  std::string why =
      errorOf("ssl:0:privateKey=" + files("key.pem") + ":certKey=" + files("cert.pem") +
              ":extraCertChain=" + files("empty-chain.pem"));
  EXPECT_NE(why.find("empty-chain.pem"), std::string::npos) << why;
}

TEST_F(TLSEndpointStringTest, KeyAndCertificateFilesWithoutTheirFinalNewlineLoad) {
  auto chop = [](std::string pem) {
    while (!pem.empty() && pem.back() == '\n') pem.pop_back();
    return pem;
  };
  files.write("key-nonl.pem", chop(localhostCertificate().key().dumpPEM()));
  files.write("cert-nonl.pem", chop(localhostCertificate().certificate().dumpPEM()));
  serverFromString(
      reactor, "ssl:0:privateKey=" + files("key-nonl.pem") + ":certKey=" + files("cert-nonl.pem"))
      ->listen(factoryOf(std::make_shared<Recorder>()));
  EXPECT_EQ(connectTo(0)->handshakes, 1);
}

// ---- client strings -------------------------------------------------------------------

// Builds the protocol connectTCP was given and connects it to a server of
// ours (`server`, the test CA's localhost certificate by default).
std::shared_ptr<Recorder> serveClient(
    testing::MemoryReactor& reactor, std::size_t n,
    std::vector<testing::ClientServerPump<Protocol, Protocol>>& loops,
    std::shared_ptr<tls::IOpenSSLConnectionCreator> server, std::shared_ptr<Recorder>& serverSide,
    std::vector<std::shared_ptr<Factory>>& keep) {
  serverSide = std::make_shared<Recorder>();
  auto sf = std::make_shared<tls::TLSMemoryBIOFactory>(server ? server : serverOptions(),
                                                       TLSRole::Server, factoryOf(serverSide));
  keep.push_back(sf);
  Address addr = IPv4Address{Transport::TCP, "127.0.0.1", 1};
  auto clientSide = reactor.tcpClients.at(n).factory->buildProtocol(addr);
  loops.push_back(testing::connectedServerAndClient(sf->buildProtocol(addr), clientSide));
  loops.back().pump.flush();
  return serverSide;
}

std::shared_ptr<Recorder> TLSEndpointStringTest::serveMutual(const std::shared_ptr<Recorder>& c) {
  tls::ServerTLSSettings mutual(localhostCertificate());
  mutual.clientCertificateTrust = testCA().trustRoot();
  std::shared_ptr<Recorder> s;
  serveClient(reactor, 0, loops, std::make_shared<tls::CertificateOptions>(mutual), s,
              clientFactories);
  EXPECT_EQ(c->handshakes, 1) << (c->closedReason ? c->closedReason->brief() : "");
  return s;
}

TEST_F(TLSEndpointStringTest, AClientStringsHostPortTimeoutBindAndCertificateReachTheConnection) {
  tls::PrivateCertificate clientCert = testCA().issue("a client");
  files.write("client.key", clientCert.key().dumpPEM());
  files.write("client.pem", clientCert.certificate().dumpPEM());
  auto ep = clientFromString(
      reactor, "ssl:127.0.0.1:8443:hostname=localhost:timeout=7:bindAddress=127.0.0.1:caCertsDir=" +
                   files("ca") + ":certKey=" + files("client.pem") +
                   ":privateKey=" + files("client.key"));
  auto c = std::make_shared<Recorder>();
  auto d = ep->connect(factoryOf(c));
  ASSERT_EQ(reactor.tcpClients.size(), 1u);
  EXPECT_EQ(reactor.tcpClients[0].host, "127.0.0.1");  // positional host and port
  EXPECT_EQ(reactor.tcpClients[0].port, 8443);
  EXPECT_EQ(reactor.tcpClients[0].timeout, 7);
  ASSERT_TRUE(reactor.tcpClients[0].bindAddress);
  EXPECT_EQ(reactor.tcpClients[0].bindAddress->host, "127.0.0.1");
  std::shared_ptr<Recorder> s = serveMutual(c);
  ASSERT_TRUE(s->tls().getPeerCertificate()) << "the client presented no certificate";
  EXPECT_EQ(*s->tls().getPeerCertificate(), clientCert.certificate());
  EXPECT_TRUE(d.called());
}

TEST_F(TLSEndpointStringTest, AClientStringAloneVerifiesAgainstThePlatformAndTheHost) {
  // Unlike Twisted's, "ssl:HOST:PORT" verifies: the platform's store (which
  // does not hold the test CA) and the name HOST.
  for (std::string description : {"ssl:localhost:8443", "ssl:host=localhost:port=8443"}) {
    SCOPED_TRACE(description);
    testing::MemoryReactor r;
    auto c = std::make_shared<Recorder>();
    auto d = clientFromString(r, description)->connect(factoryOf(c));
    ASSERT_EQ(r.tcpClients.size(), 1u);
    EXPECT_EQ(r.tcpClients[0].host, "localhost");
    EXPECT_EQ(r.tcpClients[0].port, 8443);
    std::shared_ptr<Recorder> s;
    serveClient(r, 0, loops, nullptr, s, clientFactories);
    EXPECT_EQ(c->handshakes, 0);
    Failure failure = testing::failureResultOf(d);  // fails the test unless it failed
    EXPECT_TRUE(failure.check<tls::VerificationError>()) << failure.getErrorMessage();
  }
}

TEST_F(TLSEndpointStringTest, ATLSStringsNonASCIIHostIsVerifiedInItsIDNAForm) {
  // The HostnameEndpoint looks the name up by its IDNA form (the
  // resolver's job: NamespacedTest.NonAsciiHostNamesAreLookedUpByTheirIDNAForm);
  // TLS sends and verifies the same form.
  auto ep =
      clientFromString(reactor, "tls:\u00e9xample.example.com:8443:trustRoots=" + files("ca") +
                                    ":endpoint=tcp\\:127.0.0.1\\:8443");
  auto c = std::make_shared<Recorder>();
  auto d = ep->connect(factoryOf(c));
  ASSERT_EQ(reactor.tcpClients.size(), 1u);
  std::shared_ptr<Recorder> s;
  serveClient(
      reactor, 0, loops,
      std::make_shared<tls::CertificateOptions>(testCA().issue("xn--xample-9ua.example.com")), s,
      clientFactories);
  EXPECT_EQ(c->handshakes, 1) << (c->closedReason ? c->closedReason->brief() : "");
  EXPECT_EQ(s->tls().serverName(), "xn--xample-9ua.example.com");
  EXPECT_TRUE(d.called());
}

// ---- SSL4 endpoints and ClientCreator ---------------------------------------------------

TEST_F(TLSEndpointStringTest, SSL4ServerEndpointPassesItsPortBacklogAndInterface) {
  auto ep = tls::SSL4ServerEndpoint(reactor, 4433, serverOptions(), 100, "127.0.0.1");
  auto port = ep->listen(factoryOf(std::make_shared<Recorder>()));
  ASSERT_EQ(reactor.tcpServers.size(), 1u);
  EXPECT_EQ(reactor.tcpServers[0].port, 4433);
  EXPECT_EQ(reactor.tcpServers[0].backlog, 100);
  EXPECT_EQ(reactor.tcpServers[0].interface, "127.0.0.1");
  EXPECT_TRUE(port.called());
  EXPECT_EQ(connectTo(0)->handshakes, 1);
}

TEST_F(TLSEndpointStringTest, SSL4ClientEndpointPassesItsTimeoutAndBindAddressAndAFailure) {
  auto ep = tls::SSL4ClientEndpoint(reactor, "127.0.0.1", 4433, clientOptions(), 10,
                                    BindAddress{"127.0.0.2", 5678});
  auto d = ep->connect(factoryOf(std::make_shared<Recorder>()));
  ASSERT_EQ(reactor.tcpClients.size(), 1u);
  EXPECT_EQ(reactor.tcpClients[0].host, "127.0.0.1");
  EXPECT_EQ(reactor.tcpClients[0].port, 4433);
  EXPECT_EQ(reactor.tcpClients[0].timeout, 10);
  ASSERT_TRUE(reactor.tcpClients[0].bindAddress);
  EXPECT_EQ(reactor.tcpClients[0].bindAddress->host, "127.0.0.2");
  EXPECT_EQ(reactor.tcpClients[0].bindAddress->port, 5678);
  reactor.connectors[0]->failConnection(Failure::of(error::ConnectionRefusedError()));
  Failure failure = testing::failureResultOf(d);  // fails the test unless it failed
  EXPECT_TRUE(failure.check<error::ConnectionRefusedError>()) << failure.getErrorMessage();
}

TEST_F(TLSEndpointStringTest, ClientCreatorConnectSSLPassesItsTimeoutAndBindAddress) {
  ClientCreator<Recorder> creator(reactor);
  auto d =
      creator.connectSSL("127.0.0.1", 1234, clientOptions(), 4321, BindAddress{"127.0.0.3", 5678});
  ASSERT_EQ(reactor.tcpClients.size(), 1u);
  EXPECT_EQ(reactor.tcpClients[0].port, 1234);
  EXPECT_EQ(reactor.tcpClients[0].timeout, 4321);
  ASSERT_TRUE(reactor.tcpClients[0].bindAddress);
  EXPECT_EQ(reactor.tcpClients[0].bindAddress->host, "127.0.0.3");
  EXPECT_EQ(reactor.tcpClients[0].bindAddress->port, 5678);
  d.cancel();
  testing::failureResultOf(d);
}

TEST_F(TLSEndpointStringTest, ATLSStringsCertificateIsPresentedToTheServer) {
  tls::PrivateCertificate clientCert = testCA().issue("a tls: client");
  files.write("client.key", clientCert.key().dumpPEM());
  files.write("client.pem", clientCert.certificate().dumpPEM());
  auto ep = clientFromString(reactor, "tls:localhost:8443:trustRoots=" + files("ca") +
                                          ":certificate=" + files("client.pem") + ":privateKey=" +
                                          files("client.key") + ":endpoint=tcp\\:127.0.0.1\\:8443");
  auto c = std::make_shared<Recorder>();
  auto d = ep->connect(factoryOf(c));
  ASSERT_EQ(reactor.tcpClients.size(), 1u);
  std::shared_ptr<Recorder> s = serveMutual(c);
  ASSERT_TRUE(s->tls().getPeerCertificate());
  EXPECT_EQ(*s->tls().getPeerCertificate(), clientCert.certificate());
  EXPECT_TRUE(d.called());
}

// ---- the wrapper endpoint --------------------------------------------------------------

TEST_F(TLSEndpointStringTest, AFailureOfTheWrappedEndpointReachesTheErrbackAsItIs) {
  auto ep = tls::wrapClientTLS(clientOptions(),
                               std::make_shared<TCP4ClientEndpoint>(reactor, "127.0.0.1", 8443));
  auto c = std::make_shared<Recorder>();
  auto d = ep->connect(factoryOf(c));
  ASSERT_EQ(reactor.connectors.size(), 1u);
  reactor.connectors[0]->failConnection(Failure::of(error::ConnectionRefusedError()));
  Failure failure = testing::failureResultOf(d);  // fails the test unless it failed
  EXPECT_TRUE(failure.check<error::ConnectionRefusedError>()) << failure.getErrorMessage();
  EXPECT_FALSE(c->made);
}

TEST_F(TLSEndpointStringTest, CancellingBeforeTheWrappedEndpointConnectedStopsIt) {
  auto ep = tls::wrapClientTLS(clientOptions(),
                               std::make_shared<TCP4ClientEndpoint>(reactor, "127.0.0.1", 8443));
  auto d = ep->connect(factoryOf(std::make_shared<Recorder>()));
  ASSERT_EQ(reactor.connectors.size(), 1u);
  d.cancel();
  Failure failure = testing::failureResultOf(d);  // fails the test unless it failed
  EXPECT_TRUE(failure.check<error::ConnectingCancelledError>()) << failure.getErrorMessage();
  EXPECT_TRUE(reactor.connectors[0]->stoppedConnecting);
}

TEST_F(TLSEndpointStringTest, CancellingClientCreatorConnectSSLStopsTheConnector) {
  ClientCreator<Recorder> creator(reactor);
  auto d = creator.connectSSL("127.0.0.1", 8443, clientOptions());
  ASSERT_EQ(reactor.connectors.size(), 1u);
  d.cancel();
  Failure failure = testing::failureResultOf(d);  // fails the test unless it failed
  EXPECT_TRUE(failure.check<error::ConnectingCancelledError>()) << failure.getErrorMessage();
  EXPECT_TRUE(reactor.connectors[0]->stoppedConnecting);
}

}  // namespace
}  // namespace twisted::test

// The TLS engine over the test kit's loopback (Twisted's
// protocols/test/test_tls.py, TLSMemoryBIOTests and TLSProducerTests):
// nothing here touches a socket, so each case is exact about what crosses.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "../internet/tcp_helpers.hpp"
#include "tls_helpers.hpp"
#include "tls_test_protocols.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/testing/accumulating_protocol.hpp"
#include "twisted/testing/clock.hpp"
#include "twisted/testing/iosim.hpp"
#include "twisted/testing/string_transport.hpp"
#include "twisted/tls/error.hpp"

namespace twisted::test {
namespace {

using testing::AccumulatingProtocol;
using tls::TLSRole;

TEST(TLSMemoryBIOTest, HandshakeCompletesAndBothSidesAreTold) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  EXPECT_TRUE(c->made);  // connectionMade comes with the connection below, as in Twisted
  EXPECT_FALSE(loop.client->handshakeDone());
  loop.pump.flush();
  EXPECT_TRUE(loop.client->handshakeDone());
  EXPECT_TRUE(loop.server->handshakeDone());
  EXPECT_EQ(c->handshakes, 1);
  EXPECT_EQ(s->handshakes, 1);
  EXPECT_EQ(c->tls().tlsVersion(), "TLSv1.3");
  ASSERT_TRUE(c->tls().getPeerCertificate());
  EXPECT_EQ(*c->tls().getPeerCertificate(), localhostCertificate().certificate());
  EXPECT_FALSE(s->tls().getPeerCertificate());    // no client certificate asked for
  EXPECT_EQ(s->tls().serverName(), "localhost");  // SNI sent for a DNS name
  EXPECT_FALSE(c->tls().negotiatedProtocol());
}

TEST(TLSMemoryBIOTest, WritesBeforeTheHandshakeAreSentAfterIt) {
  auto c = std::make_shared<Greeter>("hello, before the handshake");
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  EXPECT_GT(loop.client->writeBufferSize(), 0u);
  loop.pump.flush();
  EXPECT_EQ(s->data, "hello, before the handshake");
}

TEST(TLSMemoryBIOTest, BytesCrossBothWaysAfterTheHandshake) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  c->transport->write("ping");
  s->transport->writeSequence({"po", "", "ng"});
  loop.pump.flush();
  EXPECT_EQ(s->data, "ping");
  EXPECT_EQ(c->data, "pong");
}

TEST(TLSMemoryBIOTest, AHugeWriteArrivesWhole) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + i / 7);
  c->transport->write(big);
  loop.pump.flush();
  EXPECT_EQ(s->data.size(), big.size());
  EXPECT_TRUE(s->data == big);
}

TEST(TLSMemoryBIOTest, LoseConnectionSendsCloseNotifyAndBothEndCleanly) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  c->transport->write("last words");
  c->transport->loseConnection();
  EXPECT_TRUE(c->transport->disconnecting());
  c->transport->write("ignored: after loseConnection's close_notify");
  loop.pump.flush();
  EXPECT_EQ(s->data, "last words");
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*c)) << c->closedReason->getErrorMessage();
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*s)) << s->closedReason->getErrorMessage();
  EXPECT_EQ(c->lostCount, 1);
  EXPECT_EQ(s->lostCount, 1);
}

TEST(TLSMemoryBIOTest, AnEndWithoutCloseNotifyIsATruncationNotConnectionDone) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  s->transport->write("cut");
  loop.pump.flush();
  loop.pump.serverIO->loseConnection();  // below TLS: no close_notify
  loop.pump.flush();
  EXPECT_EQ(c->data, "cut");
  EXPECT_TRUE(lostWith<tls::TLSTruncation>(*c)) << c->closedReason->getErrorMessage();
  EXPECT_TRUE(lostWith<error::ConnectionLost>(*c));
  EXPECT_FALSE(lostWith<error::ConnectionDone>(*c));
}

// A server that is not one: it hangs up on the first bytes.
class HangUp : public AccumulatingProtocol {
 public:
  void dataReceived(std::string_view) override { transport->loseConnection(); }
};

TEST(TLSMemoryBIOTest, AnEndDuringTheHandshakeIsAHandshakeError) {
  auto c = std::make_shared<Recorder>();
  auto cf =
      std::make_shared<tls::TLSMemoryBIOFactory>(clientOptions(), TLSRole::Client, factoryOf(c));
  auto client = cf->buildProtocol(IPv4Address{Transport::TCP, "127.0.0.1", 1});
  auto pair = testing::connectedServerAndClient(std::make_shared<HangUp>(), client);
  pair.pump.flush();
  ASSERT_TRUE(c->closed);
  EXPECT_TRUE(lostWith<tls::HandshakeError>(*c)) << c->closedReason->getErrorMessage();
  EXPECT_FALSE(lostWith<tls::TLSTruncation>(*c));
  EXPECT_EQ(c->handshakes, 0);
}

TEST(TLSMemoryBIOTest, AbortConnectionEndsAtOnce) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  c->transport->write("never sent");
  c->transport->abortConnection();
  loop.pump.flush();
  EXPECT_TRUE(lostWith<error::ConnectionAborted>(*c));
  EXPECT_TRUE(lostWith<error::ConnectionLost>(*s));
  EXPECT_EQ(s->data, "");
}

TEST(TLSMemoryBIOTest, LoseConnectionBeforeTheHandshakeWithNothingWrittenClosesBelow) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  c->transport->loseConnection();
  loop.pump.flush();
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*c)) << c->closedReason->getErrorMessage();
  EXPECT_TRUE(s->closed);
}

TEST(TLSMemoryBIOTest, LoseConnectionBeforeTheHandshakeSendsWhatWasWrittenFirst) {
  auto c = std::make_shared<Greeter>("queued");
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  c->transport->loseConnection();
  loop.pump.flush();
  EXPECT_EQ(s->data, "queued");
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*c));
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*s)) << s->closedReason->getErrorMessage();
}

TEST(TLSMemoryBIOTest, WritesAfterLoseConnectionBeforeTheHandshakeAreDropped) {
  auto c = std::make_shared<Greeter>("queued");
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  c->transport->loseConnection();
  c->transport->write(" written after loseConnection");
  c->transport->writeSequence({" and ", "this"});
  loop.pump.flush();
  EXPECT_EQ(s->data, "queued");
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*s)) << s->closedReason->getErrorMessage();
}

// Refuses the peer as soon as TLS says who it is.
class AbortsOnHandshake : public Greeter {
 public:
  using Greeter::Greeter;
  void handshakeCompleted() override {
    Greeter::handshakeCompleted();
    transport->abortConnection();
  }
};

// Writes from handshakeCompleted, after what connectionMade wrote.
class WritesOnHandshake : public Greeter {
 public:
  using Greeter::Greeter;
  void handshakeCompleted() override {
    Greeter::handshakeCompleted();
    transport->write(" then this");
  }
};

TEST(TLSMemoryBIOTest, WritesFromHandshakeCompletedFollowTheEarlierOnes) {
  auto c = std::make_shared<WritesOnHandshake>("first");
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  EXPECT_EQ(s->data, "first then this");
}

TEST(TLSMemoryBIOTest, AHalfCloseSendsCloseNotifyAndTheOtherWayStaysOpen) {
  auto c = std::make_shared<HalfCloseRecorder>();
  auto s = std::make_shared<HalfCloseRecorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  c->transport->write("request");
  dynamic_cast<ITCPTransport&>(*c->transport).loseWriteConnection();
  loop.pump.flush();
  EXPECT_TRUE(c->writeLost);
  EXPECT_TRUE(s->readLost);
  EXPECT_EQ(s->data, "request");
  EXPECT_FALSE(c->closed);
  s->transport->write("response after the half-close");
  s->transport->loseConnection();
  loop.pump.flush();
  EXPECT_EQ(c->data, "response after the half-close");
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*c)) << c->closedReason->getErrorMessage();
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*s)) << s->closedReason->getErrorMessage();
}

TEST(TLSMemoryBIOTest, APeerThatIsNotHalfCloseableIsClosedByCloseNotify) {
  auto c = std::make_shared<HalfCloseRecorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  dynamic_cast<ITCPTransport&>(*c->transport).loseWriteConnection();
  loop.pump.flush();
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*s)) << s->closedReason->getErrorMessage();
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*c)) << c->closedReason->getErrorMessage();
}

TEST(TLSMemoryBIOTest, GarbageInsteadOfAClientHelloIsAHandshakeError) {
  auto s = std::make_shared<Recorder>();
  auto sf =
      std::make_shared<tls::TLSMemoryBIOFactory>(serverOptions(), TLSRole::Server, factoryOf(s));
  Address addr = IPv4Address{Transport::TCP, "127.0.0.1", 1};
  auto server = sf->buildProtocol(addr);
  auto raw = std::make_shared<AccumulatingProtocol>();
  auto pair = testing::connectedServerAndClient(server, raw);
  // A handshake record whose message is nonsense.
  raw->transport->write(std::string("\x16\x03\x01\x00\x08garbage!", 13));
  pair.pump.flush();
  EXPECT_TRUE(lostWith<tls::HandshakeError>(*s)) << s->closedReason->getErrorMessage();
  EXPECT_FALSE(lostWith<tls::VerificationError>(*s)) << s->closedReason->getErrorMessage();
  EXPECT_TRUE(raw->closed);
  ASSERT_FALSE(raw->data.empty());
  EXPECT_EQ(raw->data[0], '\x15');  // an alert record: the server said why
}

TEST(TLSMemoryBIOTest, APlaintextRequestToATLSServerIsAHandshakeError) {
  auto s = std::make_shared<Recorder>();
  auto sf =
      std::make_shared<tls::TLSMemoryBIOFactory>(serverOptions(), TLSRole::Server, factoryOf(s));
  auto server = sf->buildProtocol(IPv4Address{Transport::TCP, "127.0.0.1", 1});
  auto raw = std::make_shared<AccumulatingProtocol>();
  auto pair = testing::connectedServerAndClient(server, raw);
  raw->transport->write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  pair.pump.flush();
  EXPECT_TRUE(lostWith<tls::HandshakeError>(*s)) << s->closedReason->getErrorMessage();
  EXPECT_NE(s->closedReason->getErrorMessage().find("http request"), std::string::npos)
      << s->closedReason->getErrorMessage();
  EXPECT_TRUE(raw->closed);
}

TEST(TLSMemoryBIOTest, AStalledHandshakeTimesOut) {
  testing::Clock clock;
  auto s = std::make_shared<Recorder>();
  auto sf =
      std::make_shared<tls::TLSMemoryBIOFactory>(serverOptions(), TLSRole::Server, factoryOf(s));
  sf->handshakeTimeout = 10;
  Address addr = IPv4Address{Transport::TCP, "127.0.0.1", 1};
  auto server = sf->buildProtocol(addr);
  auto silent = std::make_shared<AccumulatingProtocol>();
  testing::LoopbackOptions options;
  options.clock = &clock;
  auto pair = testing::connectedServerAndClient(server, silent, options);
  silent->transport->write("\x16\x03\x01");  // the start of a record, and nothing more
  pair.pump.flush();
  clock.advance(9.9);
  pair.pump.flush();
  EXPECT_FALSE(s->closed);
  clock.advance(0.2);
  pair.pump.flush();
  EXPECT_TRUE(lostWith<tls::HandshakeTimeout>(*s)) << s->closedReason->getErrorMessage();
  EXPECT_TRUE(silent->closed);
  EXPECT_TRUE(clock.getDelayedCalls().empty());
}

TEST(TLSMemoryBIOTest, ACompletedHandshakeCancelsItsTimeout) {
  testing::Clock clock;
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s, nullptr, nullptr, &clock);
  EXPECT_EQ(clock.getDelayedCalls().size(), 2u);
  loop.pump.flush();
  EXPECT_TRUE(clock.getDelayedCalls().empty());
  clock.advance(60);
  EXPECT_FALSE(c->closed);
}

TEST(TLSMemoryBIOTest, AShutdownThePeerNeverAnswersEndsAfterTheShutdownTimeout) {
  testing::Clock clock;
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<HalfCloseRecorder>();  // reads close_notify, does not answer
  auto loop = tlsLoopback(c, s, nullptr, nullptr, &clock);
  loop.pump.flush();
  c->transport->loseConnection();
  loop.pump.flush();
  EXPECT_TRUE(s->readLost);
  EXPECT_FALSE(c->closed);
  clock.advance(loop.clientFactory->shutdownTimeout + 0.1);
  loop.pump.flush();
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*c)) << c->closedReason->getErrorMessage();
}

// ---- verification ---------------------------------------------------------------------

TEST(TLSVerificationTest, AnUntrustedIssuerIsRefusedAsUnknownIssuer) {
  testing::CertificateAuthority other("another CA");
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s, tls::optionsForClientTLS("localhost", other.trustRoot()));
  loop.pump.flush();
  EXPECT_EQ(verificationKind(*c), tls::VerificationFailure::UnknownIssuer);
  EXPECT_TRUE(lostWith<tls::HandshakeError>(*s)) << s->closedReason->getErrorMessage();
  EXPECT_EQ(c->handshakes, 0);
  EXPECT_EQ(s->data, "");
}

TEST(TLSVerificationTest, AnExpiredCertificateIsRefusedAsExpired) {
  auto expired = testCA().issueValid("localhost", -7200, -3600);
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop =
      tlsLoopback(c, s, clientOptions(), std::make_shared<tls::CertificateOptions>(expired));
  loop.pump.flush();
  EXPECT_EQ(verificationKind(*c), tls::VerificationFailure::Expired);
  EXPECT_NE(c->closedReason->getErrorMessage().find("expired"), std::string::npos);
}

TEST(TLSVerificationTest, ACertificateNotYetValidIsRefused) {
  auto future = testCA().issueValid("localhost", 3600, 7200);
  auto c = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, std::make_shared<Recorder>(), clientOptions(),
                          std::make_shared<tls::CertificateOptions>(future));
  loop.pump.flush();
  EXPECT_EQ(verificationKind(*c), tls::VerificationFailure::NotYetValid);
}

TEST(TLSVerificationTest, ACertificateForAnotherHostIsRefusedAsWrongHost) {
  auto c = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, std::make_shared<Recorder>(), clientOptions("example.com"));
  loop.pump.flush();
  EXPECT_EQ(verificationKind(*c), tls::VerificationFailure::WrongHost);
}

TEST(TLSVerificationTest, IPAddressesAreCheckedAgainstTheCertificatesAddresses) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s, clientOptions("127.0.0.1"));
  loop.pump.flush();
  EXPECT_TRUE(loop.client->handshakeDone());
  EXPECT_EQ(s->tls().serverName(), "");  // no SNI for an address

  auto wrong = std::make_shared<Recorder>();
  auto loop2 = tlsLoopback(wrong, std::make_shared<Recorder>(), clientOptions("127.0.0.2"));
  loop2.pump.flush();
  EXPECT_EQ(verificationKind(*wrong), tls::VerificationFailure::WrongHost);

  auto v6 = std::make_shared<Recorder>();
  auto loop3 = tlsLoopback(v6, std::make_shared<Recorder>(), clientOptions("[::1]"));
  loop3.pump.flush();
  EXPECT_TRUE(loop3.client->handshakeDone());
}

TEST(TLSVerificationTest, ASelfSignedCertificateIsRefusedAsSelfSigned) {
  testing::CertificateAuthority selfSigned("localhost");
  auto c = std::make_shared<Recorder>();
  auto loop =
      tlsLoopback(c, std::make_shared<Recorder>(), clientOptions(),
                  std::make_shared<tls::CertificateOptions>(selfSigned.privateCertificate()));
  loop.pump.flush();
  EXPECT_EQ(verificationKind(*c), tls::VerificationFailure::SelfSigned);
}

TEST(TLSVerificationTest, InsecurelySkipVerificationAcceptsAnything) {
  testing::CertificateAuthority selfSigned("nobody");
  auto c = std::make_shared<Recorder>();
  auto loop = tlsLoopback(
      c, std::make_shared<Recorder>(),
      tls::optionsForClientTLS("example.com", tls::TrustRoot::insecurelySkipVerification()),
      std::make_shared<tls::CertificateOptions>(selfSigned.privateCertificate()));
  loop.pump.flush();
  EXPECT_TRUE(loop.client->handshakeDone());
}

TEST(TLSVerificationTest, MutualTLSRefusesAClientWithoutACertificate) {
  tls::ServerTLSSettings settings(localhostCertificate());
  settings.clientCertificateTrust = testCA().trustRoot();
  auto server = std::make_shared<tls::CertificateOptions>(settings);
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s, clientOptions(), server);
  loop.pump.flush();
  EXPECT_EQ(verificationKind(*s), tls::VerificationFailure::NoCertificate);
  // TLS 1.3: the client finished its side before the server refused it.
  EXPECT_TRUE(lostWith<tls::TLSError>(*c)) << c->closedReason->getErrorMessage();
}

TEST(TLSVerificationTest, MutualTLSAcceptsAClientCertificateFromTheTrustedCA) {
  tls::ServerTLSSettings settings(localhostCertificate());
  settings.clientCertificateTrust = testCA().trustRoot();
  auto server = std::make_shared<tls::CertificateOptions>(settings);
  auto clientCert = testCA().issue("alice");
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(
      c, s, tls::optionsForClientTLS("localhost", testCA().trustRoot(), clientCert), server);
  loop.pump.flush();
  c->transport->write("hi");
  loop.pump.flush();
  EXPECT_EQ(s->data, "hi");
  ASSERT_TRUE(s->tls().getPeerCertificate());
  EXPECT_EQ(s->tls().getPeerCertificate()->subjectCommonName(), "alice");
}

TEST(TLSVerificationTest, MutualTLSRefusesAClientCertificateFromAnotherCA) {
  tls::ServerTLSSettings settings(localhostCertificate());
  settings.clientCertificateTrust = testCA().trustRoot();
  testing::CertificateAuthority other("another CA");
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(
      std::make_shared<Recorder>(), s,
      tls::optionsForClientTLS("localhost", testCA().trustRoot(), other.issue("mallory")),
      std::make_shared<tls::CertificateOptions>(settings));
  loop.pump.flush();
  EXPECT_EQ(verificationKind(*s), tls::VerificationFailure::UnknownIssuer);
}

// ---- ALPN, SNI, reload ----------------------------------------------------------------

TEST(TLSNegotiationTest, ALPNChoosesTheServersFirstChoiceTheClientOffers) {
  tls::ServerTLSSettings settings(localhostCertificate());
  settings.acceptableProtocols = {"http/1.1", "h2"};
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(
      c, s, tls::optionsForClientTLS("localhost", testCA().trustRoot(), {}, {"h2", "http/1.1"}),
      std::make_shared<tls::CertificateOptions>(settings));
  loop.pump.flush();
  EXPECT_EQ(c->tls().negotiatedProtocol(), "http/1.1");
  EXPECT_EQ(s->tls().negotiatedProtocol(), "http/1.1");
}

TEST(TLSNegotiationTest, ALPNWithNothingInCommonNegotiatesNothing) {
  tls::ServerTLSSettings settings(localhostCertificate());
  settings.acceptableProtocols = {"h2"};
  auto c = std::make_shared<Recorder>();
  auto loop =
      tlsLoopback(c, std::make_shared<Recorder>(),
                  tls::optionsForClientTLS("localhost", testCA().trustRoot(), {}, {"spdy/3"}),
                  std::make_shared<tls::CertificateOptions>(settings));
  loop.pump.flush();
  EXPECT_TRUE(loop.client->handshakeDone());
  EXPECT_FALSE(c->tls().negotiatedProtocol());
}

TEST(TLSNegotiationTest, SNIPicksTheCertificateOfTheNameAsked) {
  auto other = testCA().issue("other.example");
  tls::ServerTLSSettings settings(localhostCertificate());
  settings.serverNameCertificates.emplace("Other.Example", other);
  auto server = std::make_shared<tls::CertificateOptions>(settings);

  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s, clientOptions("other.example"), server);
  loop.pump.flush();
  ASSERT_TRUE(loop.client->handshakeDone());
  EXPECT_EQ(c->tls().getPeerCertificate()->subjectCommonName(), "other.example");
  EXPECT_EQ(s->tls().serverName(), "other.example");

  auto c2 = std::make_shared<Recorder>();
  auto loop2 = tlsLoopback(c2, std::make_shared<Recorder>(), clientOptions("localhost"), server);
  loop2.pump.flush();
  EXPECT_EQ(c2->tls().getPeerCertificate()->subjectCommonName(), "localhost");
}

TEST(TLSNegotiationTest, ReloadChangesTheCertificateOfNewConnectionsOnly) {
  auto server = serverOptions();
  auto c1 = std::make_shared<Recorder>();
  auto loop1 = tlsLoopback(c1, std::make_shared<Recorder>(), clientOptions(), server);
  loop1.pump.flush();
  auto renewed = testCA().issue("localhost", {"localhost"});
  server->reload(tls::ServerTLSSettings(renewed));
  auto c2 = std::make_shared<Recorder>();
  auto loop2 = tlsLoopback(c2, std::make_shared<Recorder>(), clientOptions(), server);
  loop2.pump.flush();
  EXPECT_EQ(*c2->tls().getPeerCertificate(), renewed.certificate());
  EXPECT_EQ(*c1->tls().getPeerCertificate(), localhostCertificate().certificate());
  c1->transport->write("the old connection still works");
  loop1.pump.flush();
  EXPECT_EQ(std::static_pointer_cast<Recorder>(loop1.server->wrappedProtocol)->data,
            "the old connection still works");
}

TEST(TLSNegotiationTest, TLS12CanBeTheHighestVersion) {
  tls::ClientTLSSettings settings;
  settings.trustRoot = testCA().trustRoot();
  settings.maximumVersion = tls::TLSVersion::TLSv1_2;
  auto c = std::make_shared<Recorder>();
  auto loop =
      tlsLoopback(c, std::make_shared<Recorder>(), tls::optionsForClientTLS("localhost", settings));
  loop.pump.flush();
  EXPECT_EQ(c->tls().tlsVersion(), "TLSv1.2");
}

TEST(TLSNegotiationTest, AMinimumVersionAboveTheMaximumIsRefusedWhenTheOptionsAreMade) {
  tls::ClientTLSSettings client;
  client.trustRoot = testCA().trustRoot();
  client.minimumVersion = tls::TLSVersion::TLSv1_3;
  client.maximumVersion = tls::TLSVersion::TLSv1_2;
  try {
    tls::optionsForClientTLS("localhost", client);
    ADD_FAILURE() << "an inverted range was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("minimumVersion TLS 1.3 is above maximumVersion TLS 1.2"),
              std::string::npos)
        << e.what();
  }
  tls::ServerTLSSettings server(localhostCertificate());
  server.minimumVersion = tls::TLSVersion::TLSv1_3;
  server.maximumVersion = tls::TLSVersion::TLSv1_2;
  EXPECT_THROW(tls::CertificateOptions{server}, std::invalid_argument);
  server.maximumVersion = tls::TLSVersion::TLSv1_3;  // one version is a range
  EXPECT_NO_THROW(tls::CertificateOptions{server});
}

// ---- renegotiation ----------------------------------------------------------------------

// A TLS peer written straight on OpenSSL over memory BIOs, wired by hand
// to one of our connections on a StringTransport: it can do what our
// engine never does, ask for a renegotiation.
class RawPeer {
 public:
  // A client, or a server of the test's localhost certificate.
  RawPeer(TLSRole role, int maxVersion)
      : ctx_(SSL_CTX_new(role == TLSRole::Client ? TLS_client_method() : TLS_server_method())) {
    SSL_CTX_set_max_proto_version(ctx_, maxVersion);
    // OpenSSL 3 offers nothing below TLS 1.2 at its default security level.
    if (maxVersion < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx_, 0);
    if (role == TLSRole::Server) {
      SSL_CTX_use_certificate(ctx_, localhostCertificate().certificate().handle());
      SSL_CTX_use_PrivateKey(ctx_, localhostCertificate().key().handle());
    }
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, in_, out_);  // the SSL owns both now
    if (role == TLSRole::Client) {
      SSL_set_connect_state(ssl_);
    } else {
      SSL_set_accept_state(ssl_);
    }
  }
  ~RawPeer() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;
  SSL* ssl() const { return ssl_; }
  // OpenSSL's reason for this peer's last SSL_ERROR_SSL (0 if none).
  int failureReason() const { return reason_; }

  // Moves bytes both ways between this peer and `ours` (below which is
  // `wire`) until neither side has more to say; `step` is what this peer
  // does each time round (SSL_do_handshake, SSL_read) until it fails.
  // Returns the last SSL_get_error of `step`.
  template <class Step>
  int shuttle(Protocol& ours, testing::StringTransport& wire, Step step) {
    int error = SSL_ERROR_NONE;
    for (int round = 0; round < 20; ++round) {
      if (error == SSL_ERROR_NONE || error == SSL_ERROR_WANT_READ) {
        int r = step(ssl_);
        error = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
        // Kept now: our server clears this thread's queue before each call.
        if (error == SSL_ERROR_SSL) reason_ = ERR_GET_REASON(ERR_peek_last_error());
      }
      std::string toOurs = drainBio(out_);
      std::string toRaw = wire.value();
      wire.clear();
      if (!toOurs.empty() && !wire.disconnecting()) ours.dataReceived(toOurs);
      toRaw += wire.value();
      wire.clear();
      if (!toRaw.empty()) BIO_write(in_, toRaw.data(), static_cast<int>(toRaw.size()));
      if (toOurs.empty() && toRaw.empty()) break;
    }
    return error;
  }

  // Asks `ours` to renegotiate and shuttles until that ends; the last
  // SSL_get_error.
  int renegotiate(Protocol& ours, testing::StringTransport& wire) {
    if (SSL_renegotiate(ssl_) != 1) return SSL_ERROR_SSL;
    return shuttle(ours, wire, [](SSL* ssl) {
      char buf[64];
      int r = SSL_do_handshake(ssl);
      return r > 0 ? SSL_read(ssl, buf, sizeof buf) : r;
    });
  }

 private:
  static std::string drainBio(BIO* bio) {
    std::string out;
    char buf[4096];
    int n;
    while ((n = BIO_read(bio, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
  SSL_CTX* ctx_;
  SSL* ssl_;
  BIO* in_;
  BIO* out_;
  int reason_ = 0;
};

TEST(TLSMemoryBIOTest, CiphertextInPiecesOfAnySizeIsReadWhole) {
  // Records cut anywhere (a byte at a time, or pieces that end inside a
  // record header) are put together across dataReceived calls (OpenSSL
  // keeps a partial record itself; the wire BIO must hand over each byte once).
  std::string payload(40 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 + i / 251);
  for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{4096 + 1}}) {
    auto c = std::make_shared<Recorder>();
    auto s = std::make_shared<Recorder>();
    OnWire client = onWire(c, TLSRole::Client);
    OnWire server = onWire(s, TLSRole::Server);
    trickle(client, server, step);
    ASSERT_EQ(c->handshakes, 1) << "step " << step;
    ASSERT_EQ(s->handshakes, 1) << "step " << step;
    c->transport->write(payload);
    s->transport->write("pong");
    trickle(client, server, step);
    EXPECT_TRUE(s->data == payload) << "step " << step << ": " << s->data.size() << " bytes";
    EXPECT_EQ(c->data, "pong") << "step " << step;
    EXPECT_FALSE(c->closed || s->closed);
  }
}

TEST(TLSMemoryBIOTest, CiphertextThatArrivesWhilePausedIsKeptAndReadOnResume) {
  // Paused, the engine reads nothing of what comes: those bytes are only
  // borrowed from dataReceived, so they must be kept when it returns.
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  OnWire client = onWire(c, TLSRole::Client);
  OnWire server = onWire(s, TLSRole::Server);
  trickle(client, server, 1 << 20);
  ASSERT_EQ(s->handshakes, 1);
  s->transport->pauseProducing();
  c->transport->write("first record, ");
  c->transport->write("second record");
  trickle(client, server, 1 << 20);  // both records in one dataReceived
  EXPECT_EQ(s->data, "");
  c->transport->write(", and a third after them");
  trickle(client, server, 1 << 20);
  EXPECT_EQ(s->data, "");
  s->transport->resumeProducing();
  EXPECT_EQ(s->data, "first record, second record, and a third after them");
  EXPECT_FALSE(s->closed);
}

TEST(TLSMemoryBIOTest, ARenegotiationRequestIsRefusedWithATypedError) {
  // Renegotiation is off in every context (TLS 1.3 has none; in TLS 1.2 it
  // has been a source of attacks): a client that asks is told no, and the
  // connection ends as a TLS error, after what came before it was delivered.
  auto s = std::make_shared<Recorder>();
  auto [server, wire, factory] = onWire(s, TLSRole::Server);
  RawPeer client(TLSRole::Client, TLS1_2_VERSION);
  auto handshake = [](SSL* ssl) { return SSL_do_handshake(ssl); };
  ASSERT_EQ(client.shuttle(*server, *wire, handshake), SSL_ERROR_NONE);
  EXPECT_EQ(s->handshakes, 1);
  EXPECT_EQ(s->tls().tlsVersion(), "TLSv1.2");
  ASSERT_EQ(SSL_write(client.ssl(), "before", 6), 6);
  client.shuttle(*server, *wire, [](SSL*) { return 1; });
  EXPECT_EQ(s->data, "before");

  int error = client.renegotiate(*server, *wire);
  // The client was refused (OpenSSL fails it with "no renegotiation" and
  // a fatal alert)...
  EXPECT_EQ(error, SSL_ERROR_SSL);
  EXPECT_EQ(client.failureReason(), SSL_R_NO_RENEGOTIATION);
  // ...on which the server closed; the connection below then ends.
  EXPECT_TRUE(wire->disconnecting());
  server->connectionLost(Failure::of(error::ConnectionDone()));
  // ...and the server's protocol heard a TLS error, once, with no second
  // handshake and nothing more delivered.
  EXPECT_EQ(s->lostCount, 1);
  EXPECT_TRUE(lostWith<tls::TLSError>(*s)) << (s->closedReason ? s->closedReason->brief() : "");
  EXPECT_EQ(s->handshakes, 1);
  EXPECT_EQ(s->data, "before");
  ERR_clear_error();
}

TEST(TLSMemoryBIOTest, HandshakeCompletedComesBeforeThePlaintextWrittenEarlier) {
  // A client that refuses the server from handshakeCompleted (aborting)
  // must have sent nothing of what it wrote before: the protocol is told
  // first, the queued plaintext is encrypted after. What reaches the wire
  // below is read by a raw OpenSSL server.
  auto c = std::make_shared<AbortsOnHandshake>("never sent");
  auto [client, wire, factory] = onWire(c, TLSRole::Client);
  RawPeer server(TLSRole::Server, TLS1_3_VERSION);
  std::string received;
  server.shuttle(*client, *wire, [&received](SSL* ssl) {
    int r = SSL_do_handshake(ssl);
    if (r <= 0) return r;
    char buf[256];
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n > 0) received.append(buf, static_cast<std::size_t>(n));
    return n;
  });
  EXPECT_EQ(c->handshakes, 1);
  EXPECT_TRUE(wire->disconnecting());
  EXPECT_EQ(received, "");
  client->connectionLost(Failure::of(error::ConnectionLost()));
  EXPECT_EQ(c->lostCount, 1);
  ERR_clear_error();
}

TEST(TLSMemoryBIOTest, OurClientRefusesAServersRenegotiation) {
  // A TLS 1.2 server may ask its client to renegotiate (HelloRequest), and
  // OpenSSL clients agree unless told not to: ours answers no.
  auto c = std::make_shared<Recorder>();
  tls::ClientTLSSettings settings;
  settings.trustRoot = testCA().trustRoot();
  auto [client, wire, factory] =
      onWire(c, TLSRole::Client, tls::optionsForClientTLS("localhost", settings));
  RawPeer server(TLSRole::Server, TLS1_2_VERSION);
  auto handshake = [](SSL* ssl) { return SSL_do_handshake(ssl); };
  server.shuttle(*client, *wire, handshake);
  ASSERT_EQ(c->handshakes, 1);
  EXPECT_EQ(c->tls().tlsVersion(), "TLSv1.2");

  int error = server.renegotiate(*client, *wire);
  // Our no_renegotiation alert makes OpenSSL's server give up, fatally...
  EXPECT_EQ(error, SSL_ERROR_SSL);
  EXPECT_EQ(server.failureReason(), SSL_R_NO_RENEGOTIATION);
  // ...and ours hears it as a TLS error, with no second handshake.
  if (wire->disconnecting()) client->connectionLost(Failure::of(error::ConnectionDone()));
  EXPECT_EQ(c->lostCount, 1);
  EXPECT_TRUE(lostWith<tls::TLSError>(*c)) << (c->closedReason ? c->closedReason->brief() : "");
  EXPECT_EQ(c->handshakes, 1);
  ERR_clear_error();
}

TEST(TLSNegotiationTest, AClientThatOffersAtMostTLS11IsRefused) {
  // TLS 1.2 is the floor of every context: an older client is refused with
  // a protocol_version alert, and our server's protocol is never connected over TLS.
  auto s = std::make_shared<Recorder>();
  auto [server, wire, factory] = onWire(s, TLSRole::Server);
  RawPeer client(TLSRole::Client, TLS1_1_VERSION);
  int error = client.shuttle(*server, *wire, [](SSL* ssl) { return SSL_do_handshake(ssl); });
  EXPECT_EQ(error, SSL_ERROR_SSL);
  EXPECT_EQ(client.failureReason(), SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);
  EXPECT_TRUE(wire->disconnecting());
  server->connectionLost(Failure::of(error::ConnectionDone()));
  EXPECT_EQ(s->handshakes, 0);
  EXPECT_TRUE(lostWith<tls::HandshakeError>(*s))
      << (s->closedReason ? s->closedReason->brief() : "");
  ERR_clear_error();
}

TEST(TLSNegotiationTest, AServerThatSpeaksAtMostTLS11IsRefused) {
  auto c = std::make_shared<Recorder>();
  auto [client, wire, factory] = onWire(c, TLSRole::Client);
  RawPeer server(TLSRole::Server, TLS1_1_VERSION);
  int error = server.shuttle(*client, *wire, [](SSL* ssl) { return SSL_do_handshake(ssl); });
  EXPECT_EQ(error, SSL_ERROR_SSL);
  EXPECT_TRUE(wire->disconnecting());
  client->connectionLost(Failure::of(error::ConnectionDone()));
  EXPECT_EQ(c->handshakes, 0);
  EXPECT_TRUE(lostWith<tls::HandshakeError>(*c))
      << (c->closedReason ? c->closedReason->brief() : "");
  ERR_clear_error();
}

TEST(TLSNegotiationTest, AMinimumOfTLS13RefusesAPeerThatSpeaksAtMostTLS12) {
  tls::ClientTLSSettings settings;
  settings.trustRoot = testCA().trustRoot();
  settings.minimumVersion = tls::TLSVersion::TLSv1_3;
  tls::ServerTLSSettings server(localhostCertificate());
  server.maximumVersion = tls::TLSVersion::TLSv1_2;
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s, tls::optionsForClientTLS("localhost", settings),
                          std::make_shared<tls::CertificateOptions>(server));
  loop.pump.flush();
  EXPECT_EQ(c->handshakes + s->handshakes, 0);
  EXPECT_TRUE(lostWith<tls::HandshakeError>(*c))
      << (c->closedReason ? c->closedReason->brief() : "not lost");
  EXPECT_TRUE(lostWith<tls::HandshakeError>(*s))
      << (s->closedReason ? s->closedReason->brief() : "not lost");
}

// ---- session resumption -------------------------------------------------------------

std::shared_ptr<tls::CertificateOptions> serverWithTickets(bool tickets) {
  tls::ServerTLSSettings s(localhostCertificate());
  s.sessionTickets = tickets;
  return std::make_shared<tls::CertificateOptions>(std::move(s));
}

std::shared_ptr<tls::ClientTLSOptions> resumingClient(
    std::optional<tls::TLSVersion> maximum = std::nullopt) {
  tls::ClientTLSSettings settings;
  settings.trustRoot = testCA().trustRoot();
  settings.resumeSessions = true;
  settings.maximumVersion = maximum;
  return tls::optionsForClientTLS("localhost", settings);
}

// One connection from `client` to `server`, with a message each way (so a
// TLS 1.3 ticket, sent after the handshake, is read), ended cleanly; what
// the client saw of the session, and whether the server resumed it.
struct Resumption {
  bool clientReused = false;
  bool serverReused = false;
  bool peerCertificate = false;
  std::string echoed;
};

Resumption connectOnce(const std::shared_ptr<tls::ClientTLSOptions>& client,
                       const std::shared_ptr<tls::CertificateOptions>& server) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s, client, server);
  loop.pump.flush();
  c->transport->write("ping");
  loop.pump.flush();
  s->transport->write("pong");
  loop.pump.flush();
  Resumption r{c->tls().sessionReused(), s->tls().sessionReused(),
               c->tls().getPeerCertificate().has_value(), c->data};
  c->transport->loseConnection();
  loop.pump.flush();
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*c));
  return r;
}

TEST(TLSSessionTest, ASecondConnectionResumesWhenTheServerIssuesTickets) {
  for (auto version : {tls::TLSVersion::TLSv1_3, tls::TLSVersion::TLSv1_2}) {
    SCOPED_TRACE(version == tls::TLSVersion::TLSv1_3 ? "TLS 1.3" : "TLS 1.2");
    auto client = resumingClient(version);
    auto server = serverWithTickets(true);
    Resumption first = connectOnce(client, server);
    EXPECT_FALSE(first.clientReused);
    EXPECT_FALSE(first.serverReused);
    for (int i = 0; i < 3; ++i) {
      Resumption again = connectOnce(client, server);
      EXPECT_TRUE(again.clientReused) << "connection " << i + 2;
      EXPECT_TRUE(again.serverReused) << "connection " << i + 2;
      // The session carries the server's certificate, verified the first time.
      EXPECT_TRUE(again.peerCertificate);
      EXPECT_EQ(again.echoed, "pong");
    }
  }
}

TEST(TLSSessionTest, AServerWithoutTicketsMakesEveryHandshakeFull) {
  auto client = resumingClient();
  auto server = serverWithTickets(false);  // the default
  EXPECT_FALSE(server->settings().sessionTickets);
  connectOnce(client, server);
  Resumption again = connectOnce(client, server);
  EXPECT_FALSE(again.clientReused);
  EXPECT_FALSE(again.serverReused);
}

TEST(TLSSessionTest, AClientOffersNoSessionUnlessAsked) {
  auto client = clientOptions();  // resumeSessions is off by default
  auto server = serverWithTickets(true);
  connectOnce(client, server);
  EXPECT_FALSE(connectOnce(client, server).serverReused);
}

TEST(TLSSessionTest, SessionsAreKeptPerOptions) {
  auto server = serverWithTickets(true);
  auto first = resumingClient();
  connectOnce(first, server);
  // Other options (another host, or the same one made again) start afresh.
  EXPECT_FALSE(connectOnce(resumingClient(), server).serverReused);
  EXPECT_TRUE(connectOnce(first, server).serverReused);
}

TEST(TLSNegotiationTest, AnotherConnectionsErrorInTheQueueDoesNotSurfaceHere) {
  // Something else on this thread left an error behind.
  ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  c->transport->write("fine");
  loop.pump.flush();
  EXPECT_EQ(s->data, "fine");
  EXPECT_FALSE(c->closed);
  ERR_clear_error();
}

// ---- producers and flow control -------------------------------------------------------

TEST(TLSProducerTest, AStreamingProducerIsPausedByTheQueueBelow) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  auto producer = std::make_shared<PushProducer>();
  c->transport->registerProducer(producer, true);
  c->transport->write(std::string(200 * 1024, 'x'));  // past the high-water mark below
  EXPECT_EQ(producer->paused, 1);
  loop.pump.flush();
  EXPECT_EQ(producer->resumed, 1);
  EXPECT_EQ(s->data.size(), 200u * 1024);
  c->transport->unregisterProducer();
}

// A close waits for the producer to unregister (ITransport::loseConnection);
// a half-close does not, as over TCP: a forwarder whose source reached its end
// half-closes the destination while that source is still its producer.
TEST(TLSProducerTest, AHalfCloseDoesNotWaitForTheProducerButACloseDoes) {
  auto c = std::make_shared<HalfCloseRecorder>();
  auto s = std::make_shared<HalfCloseRecorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  auto producer = std::make_shared<PushProducer>();
  c->transport->registerProducer(producer, true);
  dynamic_cast<ITCPTransport&>(*c->transport).loseWriteConnection();
  loop.pump.flush();
  EXPECT_TRUE(s->readLost) << "the close_notify waited for the producer";
  EXPECT_TRUE(c->writeLost);
  s->transport->registerProducer(std::make_shared<PushProducer>(), true);
  s->transport->loseConnection();
  loop.pump.flush();
  EXPECT_FALSE(c->closed) << "the close did not wait for the producer";
  s->transport->unregisterProducer();
  loop.pump.flush();
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*c));
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*s));
}

TEST(TLSProducerTest, PausingTheTLSTransportPausesTheOneBelow) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  s->transport->pauseProducing();
  c->transport->write("held");
  loop.pump.flush();
  EXPECT_EQ(s->data, "");
  s->transport->resumeProducing();
  loop.pump.flush();
  EXPECT_EQ(s->data, "held");
}

TEST(TLSProducerTest, AProducerIsHeldWhilePlaintextWaitsForTheHandshake) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  auto producer = std::make_shared<PushProducer>();
  c->transport->registerProducer(producer, true);
  c->transport->write(std::string(100 * 1024, 'y'));
  EXPECT_EQ(producer->paused, 1);  // held: 100 KiB wait for the handshake
  loop.pump.flush();
  EXPECT_GE(producer->resumed, 1);
  EXPECT_EQ(s->data.size(), 100u * 1024);
}

TEST(TLSProducerTest, APullProducerIsAskedAfterTheHandshakeAndLoseConnectionWaitsForIt) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  auto producer = std::make_shared<CountingPullProducer>(*c->transport, 3);
  c->transport->registerProducer(producer, false);
  EXPECT_EQ(producer->asked, 0);  // not before the handshake
  loop.pump.flush();
  EXPECT_EQ(s->data, "piece;piece;piece;");
  EXPECT_TRUE(lostWith<error::ConnectionDone>(*s)) << s->closedReason->getErrorMessage();
}

TEST(TLSProducerTest, AProducerStillRegisteredWhenTheConnectionIsLostIsStopped) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s);
  loop.pump.flush();
  auto producer = std::make_shared<PushProducer>();
  c->transport->registerProducer(producer, true);
  loop.pump.serverIO->abortConnection();
  loop.pump.flush();
  EXPECT_TRUE(c->closed);
  EXPECT_EQ(producer->stopped, 1);
}

}  // namespace
}  // namespace twisted::test

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
#include "twisted/internet/error.hpp"
#include "twisted/testing/accumulating_protocol.hpp"
#include "twisted/testing/clock.hpp"
#include "twisted/testing/iosim.hpp"
#include "twisted/tls/error.hpp"

namespace twisted::test {
namespace {

using testing::AccumulatingProtocol;
using tls::TLSRole;

// Records what TLS tells it, as well as what AccumulatingProtocol does.
class Recorder : public AccumulatingProtocol, public tls::IHandshakeListener {
 public:
  int handshakes = 0;
  int lostCount = 0;
  void handshakeCompleted() override { ++handshakes; }
  void connectionLost(const Failure& reason) override {
    ++lostCount;
    AccumulatingProtocol::connectionLost(reason);
  }
  tls::ISSLTransport& tls() { return dynamic_cast<tls::ISSLTransport&>(*transport); }
};

class HalfCloseRecorder : public Recorder, public IHalfCloseableProtocol {
 public:
  bool readLost = false;
  bool writeLost = false;
  void readConnectionLost() override { readLost = true; }
  void writeConnectionLost() override { writeLost = true; }
};

// Writes what it is given as soon as it is connected (before the handshake).
class Greeter : public Recorder {
 public:
  explicit Greeter(std::string greeting) : greeting_(std::move(greeting)) {}
  void connectionMade() override {
    Recorder::connectionMade();
    transport->write(greeting_);
  }

 private:
  std::string greeting_;
};

template <class E>
bool lostWith(const Recorder& p) {
  return p.closedReason && p.closedReason->check<E>();
}

tls::VerificationFailure verificationKind(const Recorder& p) {
  EXPECT_TRUE(lostWith<tls::VerificationError>(p))
      << (p.closedReason ? p.closedReason->getErrorMessage() : "not lost");
  try {
    p.closedReason->raiseException();
  } catch (const tls::VerificationError& e) {
    return e.kind();
  } catch (...) {
  }
  return tls::VerificationFailure::Other;
}

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

class CountingPullProducer : public IPullProducer {
 public:
  explicit CountingPullProducer(ITransport& t, int pieces) : t_(t), left_(pieces) {}
  int asked = 0;
  void resumeProducing() override {
    ++asked;
    if (left_-- > 0) {
      t_.write("piece;");
    } else {
      t_.unregisterProducer();
      t_.loseConnection();
    }
  }
  void stopProducing() override {}

 private:
  ITransport& t_;
  int left_;
};

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

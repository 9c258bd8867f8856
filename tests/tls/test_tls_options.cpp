// What the options put into each connection (Twisted's test_sslverify.py,
// OpenSSLOptionsTests and its neighbours, and TLSMemoryBIOFactoryTests):
// a certificate chain sent and verified through an intermediate, a
// self-signed certificate trusted as itself, ALPN with nothing advertised,
// the options every context carries, the cipher TLS 1.2 chooses, PEM
// without its final newline, and the factory's log prefix.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "pem_files.hpp"
#include "tls_test_protocols.hpp"
#include "twisted/testing/iosim.hpp"
#include "twisted/testing/tls.hpp"

namespace twisted::test {
namespace {

// ---- a chain --------------------------------------------------------------------------

TEST(TLSOptionsTest, AServerSendsItsChainAndIsVerifiedThroughTheIntermediate) {
  testing::CertificateAuthority root("chain test root");
  testing::CertificateAuthority middle = root.intermediate("chain test intermediate");
  tls::PrivateCertificate leaf = middle.issue("localhost");
  ASSERT_EQ(leaf.chain().size(), 1u);
  EXPECT_EQ(leaf.chain()[0], middle.certificate());
  auto c = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, std::make_shared<Recorder>(),
                          tls::optionsForClientTLS("localhost", root.trustRoot()),
                          std::make_shared<tls::CertificateOptions>(leaf));
  loop.pump.flush();
  ASSERT_EQ(c->handshakes, 1) << (c->closedReason ? c->closedReason->brief() : "");
  // The client received the leaf, then the intermediate.
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(loop.client->ssl());
  ASSERT_TRUE(sent);
  ASSERT_EQ(sk_X509_num(sent), 2);
  EXPECT_EQ(tls::Certificate::fromHandle(sk_X509_value(sent, 0)), leaf.certificate());
  EXPECT_EQ(tls::Certificate::fromHandle(sk_X509_value(sent, 1)), middle.certificate());
}

TEST(TLSOptionsTest, WithoutItsChainAServerOfAnIntermediateIsAnUnknownIssuer) {
  testing::CertificateAuthority root("chain test root");
  testing::CertificateAuthority middle = root.intermediate("chain test intermediate");
  tls::PrivateCertificate withChain = middle.issue("localhost");
  tls::PrivateCertificate bare(withChain.certificate(), withChain.key());
  auto c = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, std::make_shared<Recorder>(),
                          tls::optionsForClientTLS("localhost", root.trustRoot()),
                          std::make_shared<tls::CertificateOptions>(bare));
  loop.pump.flush();
  EXPECT_EQ(verificationKind(*c), tls::VerificationFailure::UnknownIssuer);
}

// ---- trust ----------------------------------------------------------------------------

TEST(TLSOptionsTest, ASelfSignedCertificateTrustedAsItselfIsAccepted) {
  tls::PrivateCertificate self = testing::selfSignedCertificate();
  auto c = std::make_shared<Recorder>();
  auto loop = tlsLoopback(
      c, std::make_shared<Recorder>(),
      tls::optionsForClientTLS("localhost", tls::TrustRoot::fromCertificates({self.certificate()})),
      std::make_shared<tls::CertificateOptions>(self));
  loop.pump.flush();
  EXPECT_EQ(c->handshakes, 1) << (c->closedReason ? c->closedReason->brief() : "");
}

// ---- ALPN -----------------------------------------------------------------------------

TEST(TLSOptionsTest, AServerThatAdvertisesNoProtocolNegotiatesNone) {
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop =
      tlsLoopback(c, s, tls::optionsForClientTLS("localhost", testCA().trustRoot(), {}, {"h2"}),
                  serverOptions());
  loop.pump.flush();
  ASSERT_EQ(c->handshakes, 1);
  EXPECT_FALSE(c->tls().negotiatedProtocol());
  EXPECT_FALSE(s->tls().negotiatedProtocol());
}

// ---- what every context has -------------------------------------------------------------

void expectSafeOptions(SSL_CTX* ctx) {
  uint64_t o = SSL_CTX_get_options(ctx);
  EXPECT_TRUE(o & SSL_OP_NO_COMPRESSION);
  EXPECT_TRUE(o & SSL_OP_CIPHER_SERVER_PREFERENCE);
  EXPECT_TRUE(o & SSL_OP_NO_RENEGOTIATION);
  EXPECT_FALSE(o & SSL_OP_IGNORE_UNEXPECTED_EOF) << "an end without close_notify would be clean";
  EXPECT_FALSE(o & SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
}

TEST(TLSOptionsTest, EveryContextRefusesCompressionRenegotiationAndSilentTruncation) {
  expectSafeOptions(clientOptions()->context());
  auto c = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, std::make_shared<Recorder>());
  expectSafeOptions(SSL_get_SSL_CTX(loop.server->ssl()));
}

// ---- TLS 1.2's cipher -------------------------------------------------------------------

TEST(TLSOptionsTest, TLS12ChoosesAnECDHESuiteForECDSAAndRSACertificates) {
  for (bool rsa : {false, true}) {
    testing::CertificateRequest request;
    request.rsa = rsa;
    tls::ServerTLSSettings server(testCA().issue(request));
    server.maximumVersion = tls::TLSVersion::TLSv1_2;
    auto c = std::make_shared<Recorder>();
    auto loop = tlsLoopback(c, std::make_shared<Recorder>(), clientOptions(),
                            std::make_shared<tls::CertificateOptions>(server));
    loop.pump.flush();
    ASSERT_EQ(c->handshakes, 1) << (rsa ? "RSA" : "ECDSA");
    EXPECT_EQ(c->tls().tlsVersion(), "TLSv1.2");
    std::string cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(loop.client->ssl()));
    EXPECT_EQ(cipher.rfind(rsa ? "ECDHE-RSA-" : "ECDHE-ECDSA-", 0), 0u) << cipher;
  }
}

// ---- PEM --------------------------------------------------------------------------------

std::string withoutFinalNewline(std::string pem) {
  while (!pem.empty() && pem.back() == '\n') pem.pop_back();
  return pem;
}

TEST(TLSOptionsTest, PEMWithoutItsFinalNewlineLoads) {
  const tls::PrivateCertificate& local = localhostCertificate();
  std::string cert = withoutFinalNewline(local.certificate().dumpPEM());
  std::string key = withoutFinalNewline(local.key().dumpPEM());
  EXPECT_EQ(tls::Certificate::loadPEM(cert), local.certificate());
  EXPECT_NO_THROW(tls::KeyPair::loadPEM(key));
  TestCertificateFiles files;
  files.write("cert-nonl.pem", cert);
  files.write("key-nonl.pem", key);
  tls::PrivateCertificate loaded =
      tls::PrivateCertificate::loadPEMFiles(files("key-nonl.pem"), files("cert-nonl.pem"));
  EXPECT_EQ(loaded.certificate(), local.certificate());
}

// ---- the factory ------------------------------------------------------------------------

class NamedFactory : public Factory {
 public:
  std::shared_ptr<Protocol> buildProtocol(const Address&) override {
    return std::make_shared<Recorder>();
  }
  std::string logPrefix() const override { return "ServerFactory"; }
};

TEST(TLSOptionsTest, TheFactorysLogPrefixIsTheWrappedOnesWithTLS) {
  tls::TLSMemoryBIOFactory factory(serverOptions(), TLSRole::Server,
                                   std::make_shared<NamedFactory>());
  EXPECT_EQ(factory.logPrefix(), "ServerFactory (TLS)");
}

}  // namespace
}  // namespace twisted::test

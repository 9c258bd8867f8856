// What the options put into each connection (Twisted's test_sslverify.py,
// OpenSSLOptionsTests and its neighbours, and TLSMemoryBIOFactoryTests):
// a certificate chain sent and verified through an intermediate, a
// self-signed certificate trusted as itself, ALPN with nothing advertised,
// the options every context carries, the cipher TLS 1.2 chooses, PEM
// without its final newline, and the factory's log prefix.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <memory>
#include <optional>
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

// ---- names ------------------------------------------------------------------------------

TEST(TLSOptionsTest, ANonASCIIHostNameIsSentAndVerifiedInItsIDNAForm) {
  auto options = tls::optionsForClientTLS("h\u00e1llo.example.com", testCA().trustRoot());
  EXPECT_EQ(options->hostname(), "xn--hllo-5na.example.com");
  tls::PrivateCertificate cert = testCA().issue("xn--hllo-5na.example.com");
  auto c = std::make_shared<Recorder>();
  auto s = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, s, options, std::make_shared<tls::CertificateOptions>(cert));
  loop.pump.flush();
  EXPECT_EQ(c->handshakes, 1) << (c->closedReason ? c->closedReason->brief() : "");
  EXPECT_EQ(s->tls().serverName(), "xn--hllo-5na.example.com");
  // Upper case maps as UTS #46 says; a name IDNA refuses is refused here.
  EXPECT_EQ(tls::optionsForClientTLS("H\u00c1LLO.example.com", testCA().trustRoot())->hostname(),
            "xn--hllo-5na.example.com");
  EXPECT_THROW(tls::optionsForClientTLS("bad\u2028name.example", testCA().trustRoot()),
               std::invalid_argument);
}

// A certificate authority trusted by the platform for as long as it lives:
// SSL_CERT_FILE, which OpenSSL's default paths read when a context is made.
class PlatformTrusts {
 public:
  explicit PlatformTrusts(const std::string& file) {
    if (const char* v = std::getenv("SSL_CERT_FILE")) old_ = v;
    ::setenv("SSL_CERT_FILE", file.c_str(), 1);
  }
  ~PlatformTrusts() {
    if (old_) {
      ::setenv("SSL_CERT_FILE", old_->c_str(), 1);
    } else {
      ::unsetenv("SSL_CERT_FILE");
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(TLSOptionsTest, ThePlatformsTrustIsTheDefaultAndAcceptsWhatThePlatformTrusts) {
  TestCertificateFiles files;
  {
    PlatformTrusts trusted(files("ca.pem"));
    auto c = std::make_shared<Recorder>();
    auto loop = tlsLoopback(c, std::make_shared<Recorder>(), tls::optionsForClientTLS("localhost"));
    loop.pump.flush();
    EXPECT_EQ(c->handshakes, 1) << (c->closedReason ? c->closedReason->brief() : "");
  }
  // Without it the same default refuses the test CA.
  auto c = std::make_shared<Recorder>();
  auto loop = tlsLoopback(c, std::make_shared<Recorder>(), tls::optionsForClientTLS("localhost"));
  loop.pump.flush();
  EXPECT_EQ(verificationKind(*c), tls::VerificationFailure::UnknownIssuer);
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

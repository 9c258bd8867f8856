// Loading certificates, keys and trust roots (Twisted's test_sslverify.py,
// the loading parts): what loads, and the error that says what is wrong.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <string>

#include "temp_dir.hpp"
#include "tls_helpers.hpp"
#include "twisted/testing/accumulating_protocol.hpp"
#include "twisted/tls/error.hpp"

namespace twisted::test {
namespace {

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string messageOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const tls::CertificateError& e) {
    return e.what();
  }
  return "no CertificateError";
}

TEST(CertificateLoadingTest, FilesRoundTripThroughPEM) {
  TemporaryDirectory dir("certs");
  const auto& cert = localhostCertificate();
  writeFile(dir.path() + "/key.pem", cert.key().dumpPEM());
  writeFile(dir.path() + "/cert.pem", cert.certificate().dumpPEM());
  auto loaded =
      tls::PrivateCertificate::loadPEMFiles(dir.path() + "/key.pem", dir.path() + "/cert.pem");
  EXPECT_EQ(loaded.certificate(), cert.certificate());
  EXPECT_EQ(loaded.certificate().subjectAltNames(),
            (std::vector<std::string>{"localhost", "127.0.0.1", "::1"}));
  auto both = tls::PrivateCertificate::loadPEM(cert.key().dumpPEM() + cert.certificate().dumpPEM());
  EXPECT_EQ(both.certificate().digest(), cert.certificate().digest());
}

TEST(CertificateLoadingTest, EachWrongInputSaysWhatIsWrong) {
  TemporaryDirectory dir("certs");
  std::string missing = dir.path() + "/missing.pem";
  EXPECT_NE(messageOf([&] { tls::Certificate::loadPEMFile(missing); }).find("cannot read"),
            std::string::npos);
  writeFile(dir.path() + "/junk.pem", "not a PEM at all\n");
  EXPECT_NE(
      messageOf([&] { tls::Certificate::loadPEMFile(dir.path() + "/junk.pem"); }).find("junk.pem"),
      std::string::npos);
  auto other = testCA().issue("other");
  EXPECT_NE(messageOf([&] {
              tls::PrivateCertificate(localhostCertificate().certificate(), other.key());
            }).find("does not match"),
            std::string::npos);
}

TEST(CertificateLoadingTest, TrustRootsFromAFileAndADirectory) {
  TemporaryDirectory dir("cas");
  writeFile(dir.path() + "/ca.pem", testCA().certificate().dumpPEM());
  writeFile(dir.path() + "/README", "not a certificate\n");
  auto fromFile = tls::TrustRoot::fromPEMFile(dir.path() + "/ca.pem");
  ASSERT_EQ(fromFile.authorities().size(), 1u);
  EXPECT_EQ(fromFile.authorities()[0], testCA().certificate());
  auto fromDir = tls::TrustRoot::fromDirectory(dir.path());
  ASSERT_EQ(fromDir.authorities().size(), 1u);  // the README is skipped
  TemporaryDirectory empty("nocas");
  EXPECT_THROW(tls::TrustRoot::fromDirectory(empty.path()), tls::CertificateError);
  EXPECT_THROW(tls::TrustRoot::fromPEMFile(empty.path() + "/none.pem"), tls::CertificateError);

  // A directory's CAs verify like any other trust root.
  auto c = std::make_shared<testing::AccumulatingProtocol>();
  auto loop = tlsLoopback(c, std::make_shared<testing::AccumulatingProtocol>(),
                          tls::optionsForClientTLS("localhost", fromDir));
  loop.pump.flush();
  EXPECT_TRUE(loop.client->handshakeDone());
}

}  // namespace
}  // namespace twisted::test

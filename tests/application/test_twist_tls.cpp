// `twist` over TLS: every plugin serves ssl: endpoints, and portforward
// terminates TLS (--listen ssl:) or originates it (--dest tls:), verified.
// The client is OpenSSL itself over a blocking socket (no twisted::tls code),
// so these are also tests against an independent peer. Each runs on every
// backend.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../tls/blocking_tls_client.hpp"
#include "../tls/pem_files.hpp"
#include "twist_program.hpp"

namespace {

using twisted::test::BlockingTLSClient;
using twisted::test::connectTo;
using twisted::test::kTwist;
using twisted::test::portFromLine;
using twisted::test::readToEof;
using twisted::test::runProgram;
using twisted::test::sendAll;
using twisted::test::Twist;

class TwistTLS : public twisted::test::TwistOnBackend {
 protected:
  twisted::test::TestCertificateFiles files;
  std::string sslListen() const {
    return "ssl:0:interface=127.0.0.1:privateKey=" + files("key.pem") +
           ":certKey=" + files("cert.pem");
  }
  BlockingTLSClient::Options verified() const {
    BlockingTLSClient::Options o;
    o.caFile = files("ca.pem");
    o.verifyHost = "localhost";
    o.serverName = "localhost";
    return o;
  }
};
INSTANTIATE_TEST_SUITE_P(Backends, TwistTLS,
                         ::testing::Values("select", "poll", "epoll", "iouring"),
                         [](const auto& info) { return info.param; });

// 1 MiB in 16 KiB pieces, each read back before the next is sent, so no
// buffer anywhere has to hold more than a piece.
void expectEchoes(BlockingTLSClient& c) {
  for (int i = 0; i < 64; ++i) {
    std::string piece(16384, static_cast<char>('a' + i % 26));
    piece[0] = static_cast<char>(i);
    ASSERT_TRUE(c.write(piece)) << "piece " << i;
    ASSERT_EQ(c.read(piece.size()), piece) << "piece " << i;
  }
}

TEST_P(TwistTLS, EchoServesAVerifyingOpenSSLClient) {
  Twist echo(on({"echo", "--listen", sslListen()}));
  ASSERT_GT(echo.port, 0) << echo.line;
  BlockingTLSClient c(echo.port, verified());
  ASSERT_TRUE(c.ok()) << c.error();
  expectEchoes(c);
  // Its close_notify is answered with twist's: a clean end, not a truncation.
  c.shutdown();
  EXPECT_EQ(c.readToEnd(), SSL_ERROR_ZERO_RETURN);
  EXPECT_EQ(echo.program.stop(), 0);
}

// Two forwarders in a chain, one terminating TLS and one originating it:
//   OpenSSL client --TLS--> terminate --plaintext--> originate --TLS--> echo
TEST_P(TwistTLS, PortforwardTerminatesAndOriginatesTLS) {
  Twist echo(on({"echo", "--listen", sslListen()}));
  Twist originate(
      on({"portforward", "--listen", "tcp:0:interface=127.0.0.1", "--dest",
          "tls:localhost:" + std::to_string(echo.port) + ":trustRoots=" + files("ca")}));
  Twist terminate(on({"portforward", "--listen", sslListen(), "--dest",
                      "tcp:127.0.0.1:" + std::to_string(originate.port)}));
  ASSERT_GT(terminate.port, 0);
  BlockingTLSClient c(terminate.port, verified());
  ASSERT_TRUE(c.ok()) << c.error();
  expectEchoes(c);
  c.shutdown();
  EXPECT_EQ(c.readToEnd(), SSL_ERROR_ZERO_RETURN);
  EXPECT_EQ(terminate.program.stop(), 0);
  EXPECT_EQ(originate.program.stop(), 0);
  EXPECT_EQ(echo.program.stop(), 0);
}

// Originating TLS verifies: a server whose certificate does not lead to the
// trust roots given is refused, the client's connection closed, the reason
// logged.
TEST_P(TwistTLS, PortforwardRefusesAServerItCannotVerify) {
  Twist echo(on({"echo", "--listen", sslListen()}));
  twisted::testing::CertificateAuthority other("another CA");
  std::filesystem::create_directories(files("other"));
  files.write("other/ca.pem", other.certificate().dumpPEM());
  Twist forward(
      on({"portforward", "--listen", "tcp:0:interface=127.0.0.1", "--dest",
          "tls:localhost:" + std::to_string(echo.port) + ":trustRoots=" + files("other")}));
  int fd = connectTo(forward.port);
  ASSERT_GE(fd, 0);
  sendAll(fd, "never echoed\n");
  EXPECT_EQ(readToEof(fd), std::optional<std::string>(""));
  ::close(fd);
  std::string why = forward.program.waitForLine("Unable to connect");
  EXPECT_NE(why.find("certificate"), std::string::npos) << why;
  EXPECT_EQ(forward.program.stop(), 0);
  EXPECT_EQ(echo.program.stop(), 0);
}

TEST(TwistTLSOnce, AMissingKeyFileIsAUsageErrorNamingIt) {
  auto r = runProgram({kTwist, "echo", "--listen", "ssl:0:privateKey=/nonexistent/key.pem"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(r.err.starts_with("twist: ")) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/key.pem"), std::string::npos) << r.err;
}

TEST(TwistTLSOnce, HelpNamesTheTLSEndpoints) {
  auto r = runProgram({kTwist, "portforward", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("ssl:PORT"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tls:HOST:PORT"), std::string::npos) << r.out;
}

}  // namespace

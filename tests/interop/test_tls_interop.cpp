// twisted::tls against TLS stacks it shares no code with, both directions,
// over real sockets on every backend:
// - the real Twisted with pyOpenSSL (twisted_peer.py --tls): 64 MiB both ways
//   checked byte for byte, TLS 1.2 and 1.3, ALPN, SNI, mutual TLS, our
//   half-close, a server from another CA refused;
// - openssl s_client and s_server: TLS 1.2 and 1.3, ALPN, SNI, mutual TLS;
// - curl: HTTPS from our server, verified, and refused for the wrong name.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../internet/tcp_helpers.hpp"
#include "../tls/pem_files.hpp"
#include "iterate_until.hpp"
#include "our_peer.hpp"
#include "port_of.hpp"
#include "reactor_test.hpp"
#include "twisted/internet/utils.hpp"
#include "twisted/tls/error.hpp"
#include "twisted/tls/options.hpp"
#include "twisted/tls/reactor_ssl.hpp"
#include "twisted_peer.hpp"

namespace twisted::test {
namespace {

using tls::ISSLTransport;

const std::string kOpenSSL = "/usr/bin/openssl";
const std::string kCurl = "/usr/bin/curl";

// What a connection's TLS handshake negotiated, as our side saw it.
struct Negotiated {
  std::string version;
  std::string alpn = "none";
  std::string serverName;
  std::string peer = "none";
  bool reused = false;
  void record(ITransport& transport) {
    auto& t = dynamic_cast<ISSLTransport&>(transport);
    version = t.tlsVersion();
    reused = t.sessionReused();
    alpn = t.negotiatedProtocol().value_or("none");
    serverName = t.serverName();
    if (auto c = t.getPeerCertificate()) peer = c->subjectCommonName();
  }
};

// OurPeer, recording its handshake.
class TLSPeer : public OurPeer, public tls::IHandshakeListener {
 public:
  using OurPeer::OurPeer;
  void handshakeCompleted() override { tls.record(*transport); }
  Negotiated tls;
};

// Echoes the first line it gets, then closes (for s_client).
class LineEcho : public Protocol, public tls::IHandshakeListener {
 public:
  void handshakeCompleted() override { tls.record(*transport); }
  void dataReceived(std::string_view data) override {
    got.append(data);
    if (got.find('\n') != std::string::npos && !answered) {
      answered = true;
      transport->write(got.substr(0, got.find('\n') + 1));
      transport->loseConnection();
    }
  }
  void connectionLost(const Failure& reason) override { lost = reason; }
  Negotiated tls;
  std::string got;
  bool answered = false;
  std::optional<Failure> lost;
};

// Sends a line once the handshake is done, keeps what comes back, closes
// at the first newline (for s_server).
class LineClient : public Protocol, public tls::IHandshakeListener {
 public:
  explicit LineClient(std::string line) : line_(std::move(line)) {}
  void handshakeCompleted() override {
    tls.record(*transport);
    transport->write(line_);
  }
  void dataReceived(std::string_view data) override {
    kept.append(data);
    if (kept.find('\n') != std::string::npos) transport->loseConnection();
  }
  void connectionLost(const Failure& reason) override { lost = reason; }
  Negotiated tls;
  std::string kept;
  std::optional<Failure> lost;

 private:
  std::string line_;
};

// A one-page HTTPS server, enough for curl.
class TinyHttp : public LineEcho {
 public:
  static constexpr std::string_view kBody = "hello from twisted-cpp\n";
  void dataReceived(std::string_view data) override {
    got.append(data);
    if (got.find("\r\n\r\n") != std::string::npos && !answered) {
      answered = true;
      transport->write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                       std::to_string(kBody.size()) + "\r\nConnection: close\r\n\r\n");
      transport->write(kBody);
      transport->loseConnection();
    }
  }
};

// The server certificate a client gets without SNI: not for localhost, so a
// client that verifies "localhost" succeeds only if SNI chose the other one.
const tls::PrivateCertificate& defaultCertificate() {
  static const tls::PrivateCertificate cert = testCA().issue("default.example");
  return cert;
}

struct ServerChoice {
  bool requireClientCertificate = false;
  std::vector<std::string> alpn;
  bool sessionTickets = false;
};

ServerChoice issuingTickets() {
  ServerChoice c;
  c.sessionTickets = true;
  return c;
}

ServerChoice requiringClientCertificates() {
  ServerChoice c;
  c.requireClientCertificate = true;
  return c;
}

std::shared_ptr<tls::CertificateOptions> serverOptionsWith(const ServerChoice& choice) {
  tls::ServerTLSSettings s(defaultCertificate());
  s.serverNameCertificates.emplace("localhost", localhostCertificate());
  if (choice.requireClientCertificate) s.clientCertificateTrust = testCA().trustRoot();
  s.acceptableProtocols = choice.alpn;
  s.sessionTickets = choice.sessionTickets;
  return std::make_shared<tls::CertificateOptions>(std::move(s));
}

class TLSInteropTest : public ReactorTest {
 protected:
  TestCertificateFiles files;
  std::shared_ptr<IListeningPort> listening;

  // Serves `p` (once) over TLS on 127.0.0.1; its port.
  int serve(std::shared_ptr<Protocol> p, const ServerChoice& choice) {
    listening = tls::listenSSL(*reactor, 0, std::make_shared<Factory>([p] { return p; }),
                               serverOptionsWith(choice), 50, "127.0.0.1");
    return portOf(*listening);
  }
  // twisted_peer.py's TLS flags, with our test files.
  std::vector<std::string> twistedTLS(std::vector<std::string> more) const {
    std::vector<std::string> args{"--tls", files("")};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  static tls::ClientTLSSettings trustingTestCA() {
    tls::ClientTLSSettings s;
    s.trustRoot = testCA().trustRoot();
    return s;
  }
  // Connects `peer` to `port` as a TLS client verifying "localhost"; turns
  // the reactor until it is lost.
  void connectAndRun(const std::shared_ptr<TLSPeer>& peer, int port,
                     tls::ClientTLSSettings settings) {
    tls::connectSSL(*reactor, "127.0.0.1", port,
                    std::make_shared<ClientFactory>([peer] { return peer; }),
                    tls::optionsForClientTLS("localhost", std::move(settings)), 10);
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return peer->lost.has_value(); }, "the connection to end"));
  }
  void TearDown() override {
    if (listening) stopAndWait(*reactor, listening);
    ReactorTest::TearDown();
  }
};
TWISTED_ALL_BACKENDS(TLSInteropTest);

// ---- the real Twisted ---------------------------------------------------------------

TEST_P(TLSInteropTest, TwistedClientEchoes64MiBThroughOurServerChosenBySNIWithALPN) {
  auto peer = std::make_shared<TLSPeer>(OurPeer::Mode::Echo);
  int port = serve(peer, {.alpn = {"h2", "http/1.1"}});
  TwistedPeer twisted(twistedTLS(
      {"--alpn", "http/1.1", "client", "echo", std::to_string(port), std::to_string(kBig)}));
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return peer->lost.has_value(); }, "Twisted to finish"));
  EXPECT_EQ(twisted.line(), "TLS TLSv1.3 ALPN http/1.1 PEER localhost")
      << "Twisted verified the certificate SNI chose";
  EXPECT_EQ(twisted.line(), "OK " + std::to_string(kBig)) << "Twisted got the echo intact";
  EXPECT_EQ(twisted.wait(), 0);
  EXPECT_EQ(peer->tls.version, "TLSv1.3");
  EXPECT_EQ(peer->tls.alpn, "http/1.1");
  EXPECT_EQ(peer->tls.serverName, "localhost");
  EXPECT_TRUE(peer->lost->check<error::ConnectionDone>()) << peer->lost->brief();
}

// TLS 1.2 as our client's choice: Twisted 22.4's lowerMaximumSecurityTo breaks
// its server's TLS 1.2 handshakes on OpenSSL 3 ("no suitable signature
// algorithm"), so its server keeps its defaults.
TEST_P(TLSInteropTest, OurClientEchoes64MiBThroughATwistedServerOverTLS12AndHalfCloses) {
  TwistedPeer twisted(twistedTLS({"--alpn", "h2,http/1.1", "server", "echo"}));
  int port = twisted.port();
  ASSERT_GT(port, 0) << "python3-twisted or python3-openssl missing? (tools/install-deps test)";
  auto peer = std::make_shared<TLSPeer>(OurPeer::Mode::SendAndCheck);
  auto settings = trustingTestCA();
  settings.acceptableProtocols = {"h2"};
  settings.maximumVersion = tls::TLSVersion::TLSv1_2;
  connectAndRun(peer, port, settings);
  EXPECT_EQ(peer->checker.count, kBig);
  EXPECT_FALSE(peer->checker.badAt) << "first wrong byte at " << *peer->checker.badAt;
  EXPECT_TRUE(peer->writeLost) << "our half-close (close_notify) took effect";
  EXPECT_TRUE(peer->lost->check<error::ConnectionDone>()) << peer->lost->brief();
  EXPECT_EQ(peer->tls.version, "TLSv1.2");
  EXPECT_EQ(peer->tls.alpn, "h2");
  EXPECT_EQ(peer->tls.peer, "localhost");
  EXPECT_EQ(twisted.line(), "TLS TLSv1.2 ALPN h2 PEER none");
  EXPECT_EQ(twisted.line(), "OK echo");
  EXPECT_EQ(twisted.wait(), 0);
}

TEST_P(TLSInteropTest, OurClientReceives64MiBFromATwistedTLSServer) {
  TwistedPeer twisted(twistedTLS({"server", "source", std::to_string(kBig)}));
  int port = twisted.port();
  ASSERT_GT(port, 0);
  auto peer = std::make_shared<TLSPeer>(OurPeer::Mode::Check);
  connectAndRun(peer, port, trustingTestCA());
  EXPECT_EQ(peer->checker.count, kBig);
  EXPECT_FALSE(peer->checker.badAt) << "first wrong byte at " << *peer->checker.badAt;
  EXPECT_TRUE(peer->lost->check<error::ConnectionDone>())
      << "Twisted's close_notify is a clean end: " << peer->lost->brief();
  EXPECT_EQ(twisted.line(), "TLS TLSv1.3 ALPN none PEER none");
  EXPECT_EQ(twisted.line(), "OK " + std::to_string(kBig));
  EXPECT_EQ(twisted.wait(), 0);
}

TEST_P(TLSInteropTest, MutualTLSWithTwistedBothWays) {
  constexpr std::size_t kSome = 1u << 20;
  {  // A Twisted client presents its certificate to our server, which requires one.
    auto peer = std::make_shared<TLSPeer>(OurPeer::Mode::Echo);
    int port = serve(peer, requiringClientCertificates());
    TwistedPeer twisted(
        twistedTLS({"--mtls", "client", "echo", std::to_string(port), std::to_string(kSome)}));
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return peer->lost.has_value(); }, "Twisted"));
    EXPECT_EQ(twisted.line(), "TLS TLSv1.3 ALPN none PEER localhost");
    EXPECT_EQ(twisted.line(), "OK " + std::to_string(kSome));
    EXPECT_EQ(twisted.wait(), 0);
    EXPECT_EQ(peer->tls.peer, "localhost") << "we saw Twisted's client certificate";
    stopAndWait(*reactor, listening);
    listening.reset();
  }
  {  // Our client presents one to a Twisted server that requires it.
    TwistedPeer twisted(twistedTLS({"--mtls", "server", "echo"}));
    int port = twisted.port();
    ASSERT_GT(port, 0);
    auto peer = std::make_shared<TLSPeer>(OurPeer::Mode::SendAndCheck, kSome);
    auto settings = trustingTestCA();
    settings.clientCertificate = localhostCertificate();
    connectAndRun(peer, port, settings);
    EXPECT_EQ(peer->checker.count, kSome);
    EXPECT_TRUE(peer->lost->check<error::ConnectionDone>()) << peer->lost->brief();
    EXPECT_EQ(twisted.line(), "TLS TLSv1.3 ALPN none PEER localhost")
        << "Twisted saw our client certificate";
    EXPECT_EQ(twisted.line(), "OK echo");
    EXPECT_EQ(twisted.wait(), 0);
  }
}

TEST_P(TLSInteropTest, OurClientRefusesATwistedServerFromAnotherCA) {
  TwistedPeer twisted(twistedTLS({"server", "echo"}));
  int port = twisted.port();
  ASSERT_GT(port, 0);
  testing::CertificateAuthority other("another CA");
  tls::ClientTLSSettings settings;
  settings.trustRoot = other.trustRoot();
  auto factory = std::make_shared<RecordingFactory>();
  tls::connectSSL(*reactor, "127.0.0.1", port, factory,
                  tls::optionsForClientTLS("localhost", settings), 10);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !factory->failed.empty(); }, "clientConnectionFailed"));
  const Failure& why = factory->failed[0];
  ASSERT_TRUE(why.check<tls::VerificationError>()) << why.getErrorMessage();
  try {
    why.raiseException();
  } catch (const tls::VerificationError& e) {
    EXPECT_EQ(e.kind(), tls::VerificationFailure::UnknownIssuer) << e.what();
  }
  for (auto& p : factory->protocols) EXPECT_TRUE(p->data.empty());
}

// ---- openssl s_client and s_server -----------------------------------------------

struct Finished {
  bool done = false;
  std::optional<utils::ProcessOutputAndValue> result;
  std::optional<Failure> failed;
};

// Runs `args` of /usr/bin/openssl (or curl) with `input` on its stdin.
std::shared_ptr<Finished> run(Reactor& reactor, const std::string& program,
                              std::vector<std::string> args, std::string input = "") {
  auto f = std::make_shared<Finished>();
  utils::getProcessOutputAndValue(reactor, program, std::move(args), Environment{}, {},
                                  std::move(input))
      .addBoth([f](Outcome<utils::ProcessOutputAndValue> o) {
        f->done = true;
        if (o.succeeded()) {
          f->result = o.value();
        } else {
          f->failed = o.failure();
        }
      });
  return f;
}

TEST_P(TLSInteropTest, OpenSSLClientOverTLS12And13WithALPNAndSNI) {
  for (auto [flag, version] : {std::pair{"-tls1_2", "TLSv1.2"}, std::pair{"-tls1_3", "TLSv1.3"}}) {
    SCOPED_TRACE(version);
    auto server = std::make_shared<LineEcho>();
    int port = serve(server, {.alpn = {"h2"}});
    auto client = run(*reactor, kOpenSSL,
                      {"s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-servername",
                       "localhost", "-verify_hostname", "localhost", "-verify_return_error",
                       "-CAfile", files("ca.pem"), "-alpn", "h2", flag, "-quiet"},
                      "hello over TLS\n");
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return client->done && server->lost; },
        "s_client and our server to finish"));
    ASSERT_TRUE(client->result) << client->failed->getErrorMessage();
    EXPECT_EQ(client->result->code, 0) << client->result->err;
    EXPECT_EQ(client->result->out, "hello over TLS\n");
    EXPECT_EQ(server->tls.version, version);
    EXPECT_EQ(server->tls.alpn, "h2");
    EXPECT_EQ(server->tls.serverName, "localhost");
    EXPECT_TRUE(server->lost->check<error::ConnectionDone>()) << server->lost->brief();
    stopAndWait(*reactor, listening);
    listening.reset();
  }
}

TEST_P(TLSInteropTest, OpenSSLClientCertificateIsRequiredAndChecked) {
  auto server = std::make_shared<LineEcho>();
  int port = serve(server, requiringClientCertificates());
  auto client = run(
      *reactor, kOpenSSL,
      {"s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-servername", "localhost",
       "-CAfile", files("ca.pem"), "-cert", files("cert.pem"), "-key", files("key.pem"), "-quiet"},
      "with a certificate\n");
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return client->done && server->lost; }, "s_client"));
  EXPECT_EQ(client->result->out, "with a certificate\n") << client->result->err;
  EXPECT_EQ(server->tls.peer, "localhost");
  stopAndWait(*reactor, listening);
  listening.reset();

  // Without one, the handshake fails and nothing reaches the protocol.
  auto refused = std::make_shared<LineEcho>();
  port = serve(refused, requiringClientCertificates());
  auto anonymous = run(*reactor, kOpenSSL,
                       {"s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-servername",
                        "localhost", "-CAfile", files("ca.pem"), "-quiet"},
                       "without one\n");
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return anonymous->done && refused->lost; }, "s_client"));
  EXPECT_TRUE(refused->got.empty()) << refused->got;
  EXPECT_FALSE(refused->lost->check<error::ConnectionDone>()) << refused->lost->brief();
  EXPECT_NE(anonymous->result->code, 0);
}

// openssl s_server -rev answers each line reversed.
TEST_P(TLSInteropTest, OurClientAgainstOpenSSLServerOverTLS12And13WithALPNAndMutualTLS) {
  for (auto [flag, version] : {std::pair{"-tls1_2", "TLSv1.2"}, std::pair{"-tls1_3", "TLSv1.3"}}) {
    SCOPED_TRACE(version);
    BackgroundProgram server({kOpenSSL, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
                              "-rev", "-cert", files("cert.pem"), "-key", files("key.pem"),
                              "-Verify", "1", "-CAfile", files("ca.pem"), "-alpn", "h2", flag},
                             true);
    std::string accept = server.waitForLine("ACCEPT");
    ASSERT_FALSE(accept.empty()) << "openssl s_server did not start";
    int port = std::stoi(accept.substr(accept.rfind(':') + 1));
    auto reverse = std::make_shared<LineClient>("hello\n");
    auto settings = trustingTestCA();
    settings.acceptableProtocols = {"h2"};
    settings.clientCertificate = localhostCertificate();
    tls::connectSSL(*reactor, "127.0.0.1", port,
                    std::make_shared<ClientFactory>([reverse] { return reverse; }),
                    tls::optionsForClientTLS("localhost", settings), 10);
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return reverse->lost.has_value(); }, "s_server"));
    EXPECT_EQ(reverse->kept, "olleh\n");
    EXPECT_EQ(reverse->tls.version, version);
    EXPECT_EQ(reverse->tls.alpn, "h2");
    EXPECT_EQ(reverse->tls.peer, "localhost");
    EXPECT_FALSE(reverse->lost->check<tls::TLSError>()) << reverse->lost->brief();
  }
}

// s_client keeps the session our server gave it (-sess_out) and offers it
// on its next connection (-sess_in); -ign_eof without -quiet, so that it
// says whether the session was "New" or "Reused" and waits for our close.
TEST_P(TLSInteropTest, OpenSSLClientResumesOurSessionsWhenTicketsAreOn) {
  for (auto [flag, version] : {std::pair{"-tls1_2", "TLSv1.2"}, std::pair{"-tls1_3", "TLSv1.3"}}) {
    for (bool tickets : {true, false}) {
      SCOPED_TRACE(std::string(version) + (tickets ? " with tickets" : " without"));
      std::string session = files("") + "/session-" + flag;
      // One port, one set of options: the ticket keys are the context's.
      std::vector<std::shared_ptr<LineEcho>> servers;
      listening = tls::listenSSL(*reactor, 0, std::make_shared<Factory>([&servers] {
        servers.push_back(std::make_shared<LineEcho>());
        return servers.back();
      }),
                                 serverOptionsWith(tickets ? issuingTickets() : ServerChoice{}), 50,
                                 "127.0.0.1");
      int port = portOf(*listening);
      std::vector<std::string> said;
      for (std::string sessionFlag : {"-sess_out", "-sess_in"}) {
        auto client = run(*reactor, kOpenSSL,
                          {"s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                           "-servername", "localhost", "-verify_return_error", "-CAfile",
                           files("ca.pem"), flag, sessionFlag, session, "-ign_eof"},
                          "again\n");
        ASSERT_TRUE(iterateUntil(
            *reactor, [&] { return client->done && !servers.empty() && servers.back()->lost; },
            "s_client"));
        ASSERT_TRUE(client->result) << client->failed->getErrorMessage();
        EXPECT_EQ(client->result->code, 0) << client->result->err;
        said.push_back(client->result->out);
      }
      stopAndWait(*reactor, listening);
      listening.reset();
      ASSERT_EQ(servers.size(), 2u);
      EXPECT_NE(said[0].find("New, " + std::string(version)), std::string::npos) << said[0];
      EXPECT_FALSE(servers[0]->tls.reused);
      std::string second = (tickets ? "Reused, " : "New, ") + std::string(version);
      EXPECT_NE(said[1].find(second), std::string::npos) << said[1];
      EXPECT_EQ(servers[1]->tls.reused, tickets);
      EXPECT_NE(said[1].find("again\n"), std::string::npos);
    }
  }
}

// openssl s_server issues tickets by default; our client keeps the newest
// and offers it when asked to (resumeSessions).
TEST_P(TLSInteropTest, OurClientResumesItsSessionWithOpenSSLServer) {
  for (auto [flag, version] : {std::pair{"-tls1_2", "TLSv1.2"}, std::pair{"-tls1_3", "TLSv1.3"}}) {
    SCOPED_TRACE(version);
    BackgroundProgram server({kOpenSSL, "s_server", "-accept", "127.0.0.1:0", "-naccept", "3",
                              "-rev", "-cert", files("cert.pem"), "-key", files("key.pem"), flag},
                             true);
    std::string accept = server.waitForLine("ACCEPT");
    ASSERT_FALSE(accept.empty()) << "openssl s_server did not start";
    int port = std::stoi(accept.substr(accept.rfind(':') + 1));
    auto settings = trustingTestCA();
    settings.resumeSessions = true;
    auto options = tls::optionsForClientTLS("localhost", settings);
    std::vector<bool> reused;
    for (int i = 0; i < 3; ++i) {
      auto reverse = std::make_shared<LineClient>("resume\n");
      tls::connectSSL(*reactor, "127.0.0.1", port,
                      std::make_shared<ClientFactory>([reverse] { return reverse; }), options, 10);
      ASSERT_TRUE(iterateUntil(
          *reactor, [&] { return reverse->lost.has_value(); }, "s_server"));
      EXPECT_EQ(reverse->kept, "emuser\n");
      EXPECT_EQ(reverse->tls.version, version);
      reused.push_back(reverse->tls.reused);
    }
    EXPECT_EQ(reused, (std::vector<bool>{false, true, true}));
  }
}

// ---- curl ---------------------------------------------------------------------------

TEST_P(TLSInteropTest, CurlFetchesAPageFromOurServerOverHTTP11) {
  for (std::string versionFlag : {"--tlsv1.2", "--tlsv1.3"}) {
    SCOPED_TRACE(versionFlag);
    auto server = std::make_shared<TinyHttp>();
    int port = serve(server, {.alpn = {"http/1.1"}});
    std::string n = std::to_string(port);
    std::vector<std::string> args{
        "-sS",      "--cacert", files("ca.pem"), "--resolve", "localhost:" + n + ":127.0.0.1",
        versionFlag};
    if (versionFlag == "--tlsv1.2") args.insert(args.end(), {"--tls-max", "1.2"});
    args.push_back("https://localhost:" + n + "/");
    auto curl = run(*reactor, kCurl, args);
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return curl->done && server->lost; }, "curl"));
    ASSERT_TRUE(curl->result);
    EXPECT_EQ(curl->result->code, 0) << curl->result->err;
    EXPECT_EQ(curl->result->out, TinyHttp::kBody);
    EXPECT_EQ(server->tls.alpn, "http/1.1")
        << "curl offered h2 and http/1.1; we accept only the latter";
    EXPECT_EQ(server->tls.version, versionFlag == "--tlsv1.2" ? "TLSv1.2" : "TLSv1.3");
    EXPECT_TRUE(server->got.starts_with("GET / HTTP/1.1\r\n")) << server->got;
    stopAndWait(*reactor, listening);
    listening.reset();
  }
}

TEST_P(TLSInteropTest, CurlRefusesOurServerForAnotherName) {
  auto server = std::make_shared<TinyHttp>();
  int port = serve(server, {});
  // By address curl sends no SNI, so it gets the certificate for default.example.
  auto curl =
      run(*reactor, kCurl,
          {"-sS", "--cacert", files("ca.pem"), "https://127.0.0.1:" + std::to_string(port) + "/"});
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return curl->done && server->lost; }, "curl"));
  ASSERT_TRUE(curl->result);
  EXPECT_EQ(curl->result->code, 60) << "CURLE_PEER_FAILED_VERIFICATION: " << curl->result->err;
  EXPECT_TRUE(server->got.empty());
}

}  // namespace
}  // namespace twisted::test

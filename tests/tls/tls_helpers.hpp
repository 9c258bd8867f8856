// Shared by the TLS tests: a test CA (made once per test binary), options
// for a server of "localhost"/127.0.0.1/::1 and a client that trusts it,
// and a TLS loopback over the test kit's IOPump.
#pragma once

#include <memory>
#include <string>

#include "twisted/internet/protocol.hpp"
#include "twisted/testing/clock.hpp"
#include "twisted/testing/iosim.hpp"
#include "twisted/testing/tls.hpp"
#include "twisted/tls/options.hpp"
#include "twisted/tls/tls_protocol.hpp"

namespace twisted::test {

/// The binary's test CA.
inline const testing::CertificateAuthority& testCA() {
  static const testing::CertificateAuthority ca;
  return ca;
}

/// A certificate for localhost, 127.0.0.1 and ::1, made once.
inline const tls::PrivateCertificate& localhostCertificate() {
  static const tls::PrivateCertificate cert =
      testCA().issue("localhost", {"localhost", "127.0.0.1", "::1"});
  return cert;
}

inline std::shared_ptr<tls::CertificateOptions> serverOptions() {
  return std::make_shared<tls::CertificateOptions>(localhostCertificate());
}

inline std::shared_ptr<tls::ClientTLSOptions> clientOptions(std::string host = "localhost") {
  return tls::optionsForClientTLS(std::move(host), testCA().trustRoot());
}

/// A factory whose buildProtocol hands out `p` (once is all a loopback needs).
inline std::shared_ptr<Factory> factoryOf(std::shared_ptr<Protocol> p) {
  return std::make_shared<Factory>([p] { return p; });
}

/// Two protocols over TLS over the in-memory loopback. While connected,
/// each protocol above and its TLS transport hold each other (as with any
/// ProtocolWrapper), so the loopback aborts what is still open when it
/// goes: a test may end with the connection up.
struct TLSLoopback {
  TLSLoopback(std::shared_ptr<tls::TLSMemoryBIOFactory> cf,
              std::shared_ptr<tls::TLSMemoryBIOFactory> sf,
              std::shared_ptr<tls::TLSMemoryBIOProtocol> c,
              std::shared_ptr<tls::TLSMemoryBIOProtocol> s, testing::IOPump p)
      : clientFactory(std::move(cf)),
        serverFactory(std::move(sf)),
        client(std::move(c)),
        server(std::move(s)),
        pump(std::move(p)) {}
  TLSLoopback(TLSLoopback&&) = default;
  ~TLSLoopback() {
    if (!client || !pump.clientIO) return;  // moved from
    pump.clientIO->abortConnection();
    pump.flush();
  }

  std::shared_ptr<tls::TLSMemoryBIOFactory> clientFactory;
  std::shared_ptr<tls::TLSMemoryBIOFactory> serverFactory;
  std::shared_ptr<tls::TLSMemoryBIOProtocol> client;
  std::shared_ptr<tls::TLSMemoryBIOProtocol> server;
  testing::IOPump pump;
};

inline TLSLoopback tlsLoopback(std::shared_ptr<Protocol> clientApp,
                               std::shared_ptr<Protocol> serverApp,
                               std::shared_ptr<tls::IOpenSSLConnectionCreator> client = nullptr,
                               std::shared_ptr<tls::IOpenSSLConnectionCreator> server = nullptr,
                               IReactorTime* clock = nullptr) {
  auto cf = std::make_shared<tls::TLSMemoryBIOFactory>(
      client ? client : clientOptions(), tls::TLSRole::Client, factoryOf(std::move(clientApp)));
  auto sf = std::make_shared<tls::TLSMemoryBIOFactory>(
      server ? server : serverOptions(), tls::TLSRole::Server, factoryOf(std::move(serverApp)));
  Address addr = IPv4Address{Transport::TCP, "127.0.0.1", 1};
  auto c = std::static_pointer_cast<tls::TLSMemoryBIOProtocol>(cf->buildProtocol(addr));
  auto s = std::static_pointer_cast<tls::TLSMemoryBIOProtocol>(sf->buildProtocol(addr));
  testing::LoopbackOptions options;
  options.clock = clock;
  options.greet = false;  // the handshake is the test's to pump
  auto pair = testing::connectedServerAndClient(s, c, options);
  return TLSLoopback{cf, sf, c, s, std::move(pair.pump)};
}

}  // namespace twisted::test

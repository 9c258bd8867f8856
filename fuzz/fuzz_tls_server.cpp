// TLSMemoryBIOProtocol as a server, fed whatever a client might send, in
// chunks the fuzzer chooses, then the end of the connection below. The
// properties: the protocol above hears no data before the handshake has
// completed and connectionLost exactly once, with a reason of the typed
// families (a TLS error, or the connection's end); nothing is kept past the
// connection (LeakSanitizer); and the sanitizers find nothing in our code on
// any path OpenSSL's record and handshake parsing takes us (alerts, a
// truncated hello, garbage after one, a second hello).
//
// Input: [split seed][how the connection ends][bytes from the client...].
#include <memory>
#include <optional>

#include "fuzz_support.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/testing/string_transport.hpp"
#include "twisted/testing/tls.hpp"
#include "twisted/tls/error.hpp"
#include "twisted/tls/options.hpp"
#include "twisted/tls/tls_protocol.hpp"

namespace {

using namespace twisted;

class Above : public Protocol, public tls::IHandshakeListener {
 public:
  bool handshake = false;
  int lost = 0;
  std::optional<Failure> reason;
  void handshakeCompleted() override { handshake = true; }
  void dataReceived(std::string_view) override {
    fuzz::expect(handshake, "data reached the protocol before the handshake");
  }
  void connectionLost(const Failure& why) override {
    ++lost;
    reason = why;
  }
};

// One certificate for every run: making a key per input would be all the
// fuzzer measured.
const std::shared_ptr<tls::CertificateOptions>& serverOptions() {
  static const auto options = [] {
    testing::CertificateAuthority ca;
    return std::make_shared<tls::CertificateOptions>(ca.issue("localhost"));
  }();
  return options;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  unsigned seed = in.byte();
  bool cleanEnd = in.byte() & 1;
  auto above = std::make_shared<Above>();
  auto factory = std::make_shared<tls::TLSMemoryBIOFactory>(
      serverOptions(), tls::TLSRole::Server, std::make_shared<Factory>([above] { return above; }));
  auto server = factory->buildProtocol(IPv4Address{Transport::TCP, "127.0.0.1", 4433});
  auto below = std::make_shared<testing::StringTransport>();
  server->makeConnection(below);
  for (std::string_view chunk : fuzz::chunks(in.rest(), seed)) {
    // Bytes still in flight arrive even after the server asked to close.
    server->dataReceived(chunk);
    fuzz::expect(above->lost <= 1, "connectionLost came twice");
  }
  // The connection below ends: cleanly (EOF) or not (a reset).
  if (cleanEnd) {
    server->connectionLost(Failure::of(error::ConnectionDone()));
  } else {
    server->connectionLost(Failure::of(error::ConnectionLost()));
  }
  fuzz::expect(above->lost == 1, "connectionLost did not come exactly once");
  fuzz::expect(above->reason->check<tls::TLSError, error::ConnectionDone, error::ConnectionLost>(),
               "a reason outside the typed families");
  if (!cleanEnd) {
    fuzz::expect(!above->reason->check<error::ConnectionDone>(),
                 "a reset below was reported as a clean close");
  }
  return 0;
}

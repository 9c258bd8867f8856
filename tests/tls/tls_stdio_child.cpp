// The child of TLSOverProcessTest: a TLS server on its own standard input
// and output (StandardIO under a TLSMemoryBIOProtocol), echoing what it
// reads, with the certificate and key its parent names. Exits 0 once the
// TLS connection has ended cleanly (close_notify both ways), 1 otherwise.
//   tls_stdio_child KEY_PEM CERT_PEM
#include <cstdio>
#include <memory>
#include <string>

#include "twisted/internet/error.hpp"
#include "twisted/internet/stdio.hpp"
#include "twisted/tls/options.hpp"
#include "twisted/tls/tls_protocol.hpp"
#include "twisted/twisted.hpp"

namespace {

using namespace twisted;

class Echo : public Protocol {
 public:
  explicit Echo(Reactor& reactor, bool& clean) : reactor_(reactor), clean_(clean) {}
  void dataReceived(std::string_view data) override { transport->write(data); }
  void connectionLost(const Failure& reason) override {
    clean_ = reason.check<error::ConnectionDone>();
    if (!clean_) std::fprintf(stderr, "tls_stdio_child: %s\n", reason.getErrorMessage().c_str());
    reactor_.stop();
  }

 private:
  Reactor& reactor_;
  bool& clean_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: tls_stdio_child KEY_PEM CERT_PEM\n");
    return 2;
  }
  Reactor reactor;
  bool clean = false;
  auto options = std::make_shared<tls::CertificateOptions>(
      tls::PrivateCertificate::loadPEMFiles(argv[1], argv[2]));
  auto factory = std::make_shared<tls::TLSMemoryBIOFactory>(
      options, tls::TLSRole::Server,
      std::make_shared<ClientFactory>([&] { return std::make_shared<Echo>(reactor, clean); }));
  std::shared_ptr<Protocol> tls = factory->buildProtocol(IPv4Address{Transport::TCP, "0.0.0.0", 0});
  StandardIO::create(reactor, tls);
  reactor.run();
  return clean ? 0 : 1;
}

// twisted-cpp's TLS echo server, written as a user would: a Protocol, a
// Factory, listenSSL with CertificateOptions, on the epoll reactor.
//   tls_server_twisted PORT CERT_PEM KEY_PEM [--no-tickets]
// (127.0.0.1, backlog 1024; SIGTERM exits 0). Tickets are on unless
// --no-tickets, as for the peers in this directory (ours are off by
// default: ServerTLSSettings::sessionTickets).
#include <cstdio>
#include <cstring>
#include <string>

#include "twisted/protocols/protocol_wrapper.hpp"
#include "twisted/tls/options.hpp"
#include "twisted/tls/reactor_ssl.hpp"
#include "twisted/twisted.hpp"

namespace {

class Echo : public twisted::Protocol {
 public:
  void connectionMade() override {
    // The transport is TLS; Nagle is the TCP connection's, below it.
    auto& tls = dynamic_cast<twisted::policies::ProtocolWrapper&>(*transport);
    static_cast<twisted::ITCPTransport&>(*tls.transport).setTcpNoDelay(true);
  }
  void dataReceived(std::string_view data) override { transport->write(data); }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5 || (argc == 5 && std::strcmp(argv[4], "--no-tickets") != 0)) {
    std::fprintf(stderr, "usage: tls_server_twisted PORT CERT_PEM KEY_PEM [--no-tickets]\n");
    return 2;
  }
  twisted::tls::ServerTLSSettings settings(
      twisted::tls::PrivateCertificate::loadPEMFiles(argv[3], argv[2]));
  settings.sessionTickets = argc != 5;
  twisted::Reactor reactor(twisted::Backend::Epoll);
  twisted::tls::listenSSL(reactor, std::stoi(argv[1]), twisted::Factory::forProtocol<Echo>(),
                          std::make_shared<twisted::tls::CertificateOptions>(settings), 1024,
                          "127.0.0.1");
  std::printf("READY\n");
  std::fflush(stdout);
  reactor.run();  // until SIGTERM
  return 0;
}

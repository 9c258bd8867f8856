// An echo server: a Protocol, a Factory, listenTCP (Twisted's classic
// first example).
//
//   echo_server [--port N] [--interface ADDR] [--reactor select|poll|epoll]
//   nc 127.0.0.1 8000
//
// A client that sends without reading cannot make it grow: an accepted
// connection stops reading while its write buffer is full (docs/tcp.md).
#include <iostream>
#include <memory>
#include <string>

#include "twisted/twisted.hpp"

namespace {

using namespace twisted;

class Echo : public Protocol {
 public:
  void dataReceived(std::string_view data) override { transport->write(data); }
  std::string logPrefix() const override { return "Echo"; }
};

}  // namespace

int main(int argc, char** argv) {
  const logger::Logger log{"echo_server"};
  int port = 8000;
  std::string interface = "127.0.0.1";
  Backend backend = Backend::Default;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--port" && i + 1 < argc) {
        port = std::stoi(argv[++i]);
      } else if (arg == "--interface" && i + 1 < argc) {
        interface = argv[++i];
      } else if (arg == "--reactor" && i + 1 < argc) {
        backend = backendFromName(argv[++i]);
      } else {
        std::cerr << "usage: echo_server [--port N] [--interface ADDR] "
                     "[--reactor select|poll|epoll]\n";
        return 2;
      }
    }
    logger::beginLoggingTo({logger::textFileLogObserver(stdout)});
    Reactor reactor(backend);
    auto listening = reactor.listenTCP(port, Factory::forProtocol<Echo>(), 50, interface);
    log.info("echo server on {address} ({backend} reactor); try: nc {interface} {port}",
             {{"address", toString(listening->getHost())},
              {"interface", interface},
              {"port", port},
              {"backend", std::string(backendName(reactor.backend()))}});
    reactor.run();  // until SIGINT/SIGTERM
    log.info("stopped cleanly");
    return 0;
  } catch (const error::CannotListenError& e) {
    std::cerr << "echo_server: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "echo_server: " << e.what() << "\n";
    return 2;
  }
}

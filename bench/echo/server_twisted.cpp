// twisted-cpp's echo server, written as a user would: a Protocol, a Factory,
// listenTCP, on the epoll reactor (or the backend named).
//   server_twisted PORT [select|poll|epoll|iouring [WORKERS]]
//                            (127.0.0.1, backlog 1024; SIGTERM exits 0)
// With WORKERS, a ReactorGroup of that many reactors serves the port, a
// SO_REUSEPORT socket each.
#include <cstdio>
#include <string>

#include "twisted/twisted.hpp"

namespace {

class Echo : public twisted::Protocol {
 public:
  void connectionMade() override {
    static_cast<twisted::ITCPTransport&>(*transport).setTcpNoDelay(true);
  }
  void dataReceived(std::string_view data) override { transport->write(data); }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) return 2;
  twisted::Backend backend =
      argc >= 3 ? twisted::backendFromName(argv[2]) : twisted::Backend::Epoll;
  if (argc == 4) {
    twisted::ReactorGroup group(std::stoi(argv[3]), backend);
    group.listenTCP(std::stoi(argv[1]), twisted::Factory::forProtocol<Echo>(), 1024, "127.0.0.1");
    std::printf("READY\n");
    std::fflush(stdout);
    group.run();  // until SIGTERM
    return 0;
  }
  twisted::Reactor reactor(backend);
  reactor.listenTCP(std::stoi(argv[1]), twisted::Factory::forProtocol<Echo>(), 1024, "127.0.0.1");
  std::printf("READY\n");
  std::fflush(stdout);
  reactor.run();  // until SIGTERM
  return 0;
}

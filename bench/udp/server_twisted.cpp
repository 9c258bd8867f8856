// twisted-cpp's UDP echo server, written as a user would: a
// DatagramProtocol that writes each datagram back to its sender,
// listenUDP, on the epoll reactor.
//   server_twisted PORT      (127.0.0.1; SIGTERM exits 0)
#include <cstdio>
#include <string>

#include "twisted/twisted.hpp"

namespace {

class Echo : public twisted::DatagramProtocol {
 public:
  void datagramReceived(std::string_view datagram, const twisted::Address& from) override {
    transport->write(datagram, from);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  twisted::Reactor reactor(twisted::Backend::Epoll);
  reactor.listenUDP(std::stoi(argv[1]), std::make_shared<Echo>(), "127.0.0.1");
  std::printf("READY\n");
  std::fflush(stdout);
  reactor.run();  // until SIGTERM
  return 0;
}

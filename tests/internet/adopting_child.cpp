// The child of ReactorSocketTest's descriptor-passing test: connects to the
// UNIX socket its parent names, adopts the listening TCP socket the parent
// sends over it (adoptStreamPort), serves echo on it, says "serving PORT"
// and exits 0 once the parent closes the UNIX connection.
//   adopting_child PATH
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include "twisted/twisted.hpp"

namespace {

using namespace twisted;

class Echo : public Protocol {
 public:
  void dataReceived(std::string_view data) override { transport->write(data); }
};

// Receives the listening socket and serves on it.
class Receiver : public Protocol, public IFileDescriptorReceiver {
 public:
  explicit Receiver(Reactor& reactor) : reactor_(reactor) {}
  void fileDescriptorReceived(int fd) override {
    port_ = reactor_.adoptStreamPort(fd, AF_INET, Factory::forProtocol<Echo>());
    ::close(fd);  // the port serves its own duplicate
    Address host = port_->getHost();
    transport->write("serving " + std::to_string(std::get<IPv4Address>(host).port) + "\n");
  }
  void connectionLost(const Failure&) override {
    if (port_) port_->stopListening();
    reactor_.stop();
  }

 private:
  Reactor& reactor_;
  std::shared_ptr<IListeningPort> port_;
};

// Gives up if the parent cannot be reached.
class ChildFactory : public ClientFactory {
 public:
  explicit ChildFactory(Reactor& reactor)
      : ClientFactory([&reactor]() -> std::shared_ptr<Protocol> {
          return std::make_shared<Receiver>(reactor);
        }),
        reactor_(reactor) {}
  void clientConnectionFailed(IConnector&, const Failure& reason) override {
    std::cerr << "adopting_child: " << reason.getErrorMessage() << "\n";
    failed = true;
    reactor_.stop();
  }

  bool failed = false;

 private:
  Reactor& reactor_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: adopting_child PATH\n";
    return 2;
  }
  Reactor reactor;
  auto factory = std::make_shared<ChildFactory>(reactor);
  reactor.connectUNIX(argv[1], factory);
  reactor.run(false);
  return factory->failed ? 1 : 0;
}

// ReactorUDP: the reactor's IReactorUDP and IReactorMulticast
// (twisted/internet/reactor_udp.hpp).
#include "twisted/internet/reactor_udp.hpp"

#include <stdexcept>

#include "twisted/internet/reactor.hpp"
#include "udp.hpp"

namespace twisted {

namespace {
// ReactorUDP's only derived class.
Reactor& reactorOf(ReactorUDP& self) {
  return static_cast<Reactor&>(self);
}

std::shared_ptr<udp::Port> listen(ReactorUDP& self, int port,
                                  std::shared_ptr<DatagramProtocol> protocol, std::string interface,
                                  std::size_t maxPacketSize, bool listenMultiple) {
  if (!protocol) throw std::invalid_argument("listenUDP needs a protocol");
  auto p = std::make_shared<udp::Port>(reactorOf(self), port, std::move(protocol),
                                       std::move(interface), maxPacketSize, listenMultiple);
  p->startListening();
  return p;
}
}  // namespace

std::shared_ptr<IUDPTransport> ReactorUDP::listenUDP(int port,
                                                     std::shared_ptr<DatagramProtocol> protocol,
                                                     std::string interface,
                                                     std::size_t maxPacketSize) {
  return listen(*this, port, std::move(protocol), std::move(interface), maxPacketSize, false);
}

std::shared_ptr<IMulticastTransport> ReactorUDP::listenMulticast(
    int port, std::shared_ptr<DatagramProtocol> protocol, std::string interface,
    std::size_t maxPacketSize, bool listenMultiple) {
  return listen(*this, port, std::move(protocol), std::move(interface), maxPacketSize,
                listenMultiple);
}

}  // namespace twisted

// ReactorUNIXDatagram: the reactor's IReactorUNIXDatagram
// (twisted/internet/reactor_unix_datagram.hpp).
#include "twisted/internet/reactor_unix_datagram.hpp"

#include <stdexcept>

#include "datagram.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted {

namespace {
// ReactorUNIXDatagram's only derived class.
Reactor& reactorOf(ReactorUNIXDatagram& self) {
  return static_cast<Reactor&>(self);
}
}  // namespace

std::shared_ptr<IDatagramTransport> ReactorUNIXDatagram::listenUNIXDatagram(
    std::string address, std::shared_ptr<DatagramProtocol> protocol, std::size_t maxPacketSize,
    int mode) {
  if (!protocol) throw std::invalid_argument("listenUNIXDatagram needs a protocol");
  auto p = std::make_shared<unixsock::DatagramPort>(reactorOf(*this), std::move(address),
                                                    std::move(protocol), maxPacketSize, mode);
  p->startListening();
  return p;
}

std::shared_ptr<IConnectedDatagramTransport> ReactorUNIXDatagram::connectUNIXDatagram(
    std::string address, std::shared_ptr<ConnectedDatagramProtocol> protocol,
    std::size_t maxPacketSize, int mode, std::string bindAddress) {
  if (!protocol) throw std::invalid_argument("connectUNIXDatagram needs a protocol");
  auto p = std::make_shared<unixsock::ConnectedDatagramPort>(reactorOf(*this), std::move(address),
                                                             std::move(protocol), maxPacketSize,
                                                             mode, std::move(bindAddress));
  p->startListening();
  return p;
}

}  // namespace twisted

// ReactorSocket: the reactor's IReactorSocket
// (twisted/internet/reactor_socket.hpp): each call checks and duplicates
// the caller's socket, then hands it to the kind that serves it.
#include "twisted/internet/reactor_socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "../build_protocol.hpp"
#include "../tcp/socket.hpp"
#include "../tcp/tcp.hpp"
#include "../udp/udp.hpp"
#include "../unix/unix.hpp"
#include "adopted_socket.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/pool.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted {

namespace {
// ReactorSocket's only derived class.
Reactor& reactorOf(ReactorSocket& self) {
  return static_cast<Reactor&>(self);
}

bool isStreamFamily(int family) {
  return family == AF_INET || family == AF_INET6 || family == AF_UNIX;
}

[[noreturn]] void unsupported(const char* call, int family, const char* served) {
  throw error::UnsupportedAddressFamily(std::string(call) + ": family " + std::to_string(family) +
                                        " (it serves " + served + ")");
}

// Starts `server` on `fd` as a port would; what connectionMade throws
// reaches the caller, once the connection is aborted.
template <class Server>
void serve(const std::shared_ptr<Server>& server, int fd, std::shared_ptr<Protocol> protocol) {
  try {
    server->start(fd, std::move(protocol));
  } catch (...) {
    server->abortConnection();
    throw;
  }
}
}  // namespace

std::shared_ptr<IListeningPort> ReactorSocket::adoptStreamPort(int fileDescriptor,
                                                               int addressFamily,
                                                               std::shared_ptr<Factory> factory) {
  if (!factory) throw std::invalid_argument("adoptStreamPort needs a factory");
  if (!isStreamFamily(addressFamily)) {
    unsupported("adoptStreamPort", addressFamily, "AF_INET, AF_INET6 and AF_UNIX");
  }
  detail::AdoptedSocket socket(fileDescriptor, addressFamily,
                               detail::AdoptedSocket::Kind::ListeningStream, "adoptStreamPort");
  std::shared_ptr<detail::StreamPort> port;
  if (addressFamily == AF_UNIX) {
    port =
        std::make_shared<unixsock::Port>(reactorOf(*this), std::move(socket), std::move(factory));
  } else {
    port = std::make_shared<tcp::Port>(reactorOf(*this), std::move(socket), std::move(factory));
  }
  port->startListening();
  return port;
}

void ReactorSocket::adoptStreamConnection(int fileDescriptor, int addressFamily,
                                          std::shared_ptr<Factory> factory) {
  if (!factory) throw std::invalid_argument("adoptStreamConnection needs a factory");
  if (!isStreamFamily(addressFamily)) {
    unsupported("adoptStreamConnection", addressFamily, "AF_INET, AF_INET6 and AF_UNIX");
  }
  detail::AdoptedSocket socket(fileDescriptor, addressFamily,
                               detail::AdoptedSocket::Kind::ConnectedStream,
                               "adoptStreamConnection");
  std::optional<Address> peer = tcp::detail::remoteAddress(socket.fd());
  if (!peer) {
    int err = errno;
    throw error::CannotAdoptError("adoptStreamConnection: descriptor " +
                                      std::to_string(fileDescriptor) +
                                      ": it has no peer: " + tcp::detail::errnoText(err),
                                  err);
  }
  std::shared_ptr<Protocol> protocol = detail::buildProtocol(*factory, *peer);
  if (!protocol) return;  // refused: the duplicate closes with `socket`
  detail::TransportHost& host = detail::transportHost(reactorOf(*this));
  if (addressFamily == AF_UNIX) {
    std::string name;
    if (auto local = tcp::detail::localAddress(socket.fd())) {
      if (const auto* u = std::get_if<UNIXAddress>(&*local)) name = u->name;
    }
    auto server = makePooled<unixsock::Server>(host, std::move(factory), std::move(name),
                                               std::get<UNIXAddress>(*peer).name, 0);
    serve(server, socket.release(), std::move(protocol));
  } else {
    auto server = makePooled<tcp::Server>(host, std::move(factory), *peer, 0);
    serve(server, socket.release(), std::move(protocol));
  }
}

std::shared_ptr<IUDPTransport> ReactorSocket::adoptDatagramPort(
    int fileDescriptor, int addressFamily, std::shared_ptr<DatagramProtocol> protocol,
    std::size_t maxPacketSize) {
  if (!protocol) throw std::invalid_argument("adoptDatagramPort needs a protocol");
  if (addressFamily != AF_INET && addressFamily != AF_INET6) {
    unsupported("adoptDatagramPort", addressFamily, "AF_INET and AF_INET6");
  }
  detail::AdoptedSocket socket(fileDescriptor, addressFamily, detail::AdoptedSocket::Kind::Datagram,
                               "adoptDatagramPort");
  auto port = std::make_shared<udp::Port>(reactorOf(*this), std::move(socket), std::move(protocol),
                                          maxPacketSize);
  port->startListening();
  return port;
}

}  // namespace twisted

// Adopted sockets: Twisted's IReactorSocket (adoptStreamPort,
// adoptStreamConnection, adoptDatagramPort), in files of their own
// (src/internet/socket/). See docs/tcp.md, "Adopted sockets".
//
// Serves a socket made elsewhere (a parent process, systemd, a test):
//
//   int fd = inheritedListeningSocket();
//   auto port = reactor.adoptStreamPort(fd, AF_INET, factory);
//   ::close(fd);  // the reactor serves its own duplicate
#pragma once

#include <cstddef>
#include <memory>

#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/reactor_udp.hpp"

namespace twisted {

/// Twisted's IReactorSocket. Each call duplicates `fileDescriptor`
/// (close-on-exec): the caller keeps its own and may close it at once.
/// The duplicate shares the open file description, so the socket is made
/// non-blocking for both (Twisted asks the caller to do it), and stays so
/// even if the call then fails.
class IReactorSocket {
 public:
  virtual ~IReactorSocket() = default;
  /// Starts accepting on a listening SOCK_STREAM socket of `addressFamily`
  /// (AF_INET, AF_INET6 or AF_UNIX), as listenTCP/listenUNIX would, with
  /// `factory`. stopListening closes only the duplicate (the caller's
  /// socket still listens; a UNIX socket's file is left where it is, and
  /// its mode and backlog are the caller's: unlike Twisted 22.4, which
  /// chmods the path to 0666, listens again and unlinks it), and an
  /// adopted port cannot listen again once stopped.
  /// @throws error::UnsupportedAddressFamily for another family,
  ///   error::CannotAdoptError when the descriptor is not a listening stream
  ///   socket of that family, the errors of Factory::doStart.
  virtual std::shared_ptr<IListeningPort> adoptStreamPort(int fileDescriptor, int addressFamily,
                                                          std::shared_ptr<Factory> factory) = 0;
  /// Serves a connected SOCK_STREAM socket of `addressFamily` (AF_INET,
  /// AF_INET6 or AF_UNIX) with a protocol `factory` builds for its peer, as
  /// if a port had accepted it (a factory that builds none closes the
  /// duplicate), with session number 0 in its log prefix. The factory is
  /// not started (Twisted's rule): it is the caller's.
  /// @throws error::UnsupportedAddressFamily, error::CannotAdoptError as
  ///   adoptStreamPort; what buildProtocol throws; what connectionMade
  ///   throws, once the connection has been aborted (connectionLost follows).
  virtual void adoptStreamConnection(int fileDescriptor, int addressFamily,
                                     std::shared_ptr<Factory> factory) = 0;
  /// Serves a SOCK_DGRAM socket of `addressFamily` (AF_INET or AF_INET6,
  /// as Twisted) with `protocol`, as listenUDP would; the port is also an
  /// IMulticastTransport (std::dynamic_pointer_cast) and stopping closes
  /// only the duplicate.
  /// @throws error::UnsupportedAddressFamily, error::CannotAdoptError as
  ///   adoptStreamPort.
  virtual std::shared_ptr<IUDPTransport> adoptDatagramPort(
      int fileDescriptor, int addressFamily, std::shared_ptr<DatagramProtocol> protocol,
      std::size_t maxPacketSize = 8192) = 0;
};

/// The reactor's IReactorSocket (a Reactor is the only class that derives
/// from it).
class ReactorSocket : public IReactorSocket {
 public:
  std::shared_ptr<IListeningPort> adoptStreamPort(int fileDescriptor, int addressFamily,
                                                  std::shared_ptr<Factory> factory) override;
  void adoptStreamConnection(int fileDescriptor, int addressFamily,
                             std::shared_ptr<Factory> factory) override;
  std::shared_ptr<IUDPTransport> adoptDatagramPort(int fileDescriptor, int addressFamily,
                                                   std::shared_ptr<DatagramProtocol> protocol,
                                                   std::size_t maxPacketSize = 8192) override;

 private:
  // Only a Reactor is one (src/internet/socket/reactor_socket.cpp casts to it).
  friend class Reactor;
  ReactorSocket() = default;
  ~ReactorSocket() override = default;
};

}  // namespace twisted

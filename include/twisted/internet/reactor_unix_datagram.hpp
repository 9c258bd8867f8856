// UNIX datagram sockets: Twisted's IReactorUNIXDatagram
// (listenUNIXDatagram, connectUNIXDatagram), in files of their own
// (src/internet/unix/). See docs/unix.md.
//
//   auto port = reactor.listenUNIXDatagram("/run/app.dgram", protocol);
//   auto peer = reactor.connectUNIXDatagram("/run/app.dgram", connectedProtocol);
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "twisted/internet/datagram.hpp"

namespace twisted {

/// Twisted's IReactorUNIXDatagram.
class IReactorUNIXDatagram {
 public:
  virtual ~IReactorUNIXDatagram() = default;
  /// Binds a UNIX datagram socket to `address` (a path, made with
  /// permissions `mode` and removed when the port stops; or an abstract
  /// name with a leading NUL byte) and starts delivering to `protocol`,
  /// whose `transport` then writes to any UNIXAddress.
  /// @throws error::CannotListenError naming the address and the reason.
  virtual std::shared_ptr<IDatagramTransport> listenUNIXDatagram(
      std::string address, std::shared_ptr<DatagramProtocol> protocol,
      std::size_t maxPacketSize = 8192, int mode = 0666) = 0;
  /// Connects a UNIX datagram socket to `address`, bound first to
  /// `bindAddress` if given (made with `mode`; without one the socket is
  /// unnamed and can send but not be answered). A failure to bind or
  /// connect is `protocol`'s connectionFailed(reason), not an exception:
  /// the returned port is then closed.
  virtual std::shared_ptr<IConnectedDatagramTransport> connectUNIXDatagram(
      std::string address, std::shared_ptr<ConnectedDatagramProtocol> protocol,
      std::size_t maxPacketSize = 8192, int mode = 0666, std::string bindAddress = {}) = 0;
};

/// The reactor's IReactorUNIXDatagram (a Reactor is the only class that
/// derives from it).
class ReactorUNIXDatagram : public IReactorUNIXDatagram {
 public:
  std::shared_ptr<IDatagramTransport> listenUNIXDatagram(std::string address,
                                                         std::shared_ptr<DatagramProtocol> protocol,
                                                         std::size_t maxPacketSize = 8192,
                                                         int mode = 0666) override;
  std::shared_ptr<IConnectedDatagramTransport> connectUNIXDatagram(
      std::string address, std::shared_ptr<ConnectedDatagramProtocol> protocol,
      std::size_t maxPacketSize = 8192, int mode = 0666, std::string bindAddress = {}) override;

 private:
  // Only a Reactor is one (src/internet/unix/reactor_unix_datagram.cpp casts to it).
  friend class Reactor;
  ReactorUNIXDatagram() = default;
  ~ReactorUNIXDatagram() override = default;
};

}  // namespace twisted

// UNIX datagram sockets, as Twisted's unix.DatagramPort and
// unix.ConnectedDatagramPort: the name (a path, made with its mode and
// removed when the port closes, or an abstract name) over the shared
// datagram port, which reads, sends and closes. Internal; users meet them
// as IDatagramTransport and IConnectedDatagramTransport.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "../datagram/address_cache.hpp"
#include "../datagram/protocol_port.hpp"
#include "socket_file.hpp"
#include "twisted/internet/reactor_unix_datagram.hpp"

namespace twisted::unixsock {

/// A bound UNIX datagram socket that sends to any UNIX address
/// (listenUNIXDatagram).
class DatagramPort final
    : public twisted::detail::ProtocolPort<DatagramProtocol, IDatagramTransport> {
 public:
  /// Use Reactor::listenUNIXDatagram; public for make_shared.
  DatagramPort(Reactor& reactor, std::string name, std::shared_ptr<DatagramProtocol> protocol,
               std::size_t maxPacketSize, int mode);

  Address getHost() const override { return UNIXAddress{name_}; }
  void write(std::string_view datagram, const Address& to) override;
  void writeSequence(std::span<const std::string_view> parts, const Address& to) override;
  std::size_t queuedDatagrams() const override { return queued(); }

 private:
  int openSocket() override;
  void announce() override;
  std::string closedName() const override;
  const char* kind() const override { return "UNIX"; }
  void deliver(std::string_view datagram, const sockaddr* from, socklen_t length) override;
  void truncated(std::size_t size, const sockaddr* from, socklen_t length) override;
  void refused() override {}
  void sendFailed(const Failure& reason, const SocketAddress* to) override;
  void socketClosed() override { file_.remove(); }

  std::string name_;
  int mode_;
  SocketFile file_;
  twisted::detail::AddressCache cache_;
};

/// A UNIX datagram socket connected to one peer (connectUNIXDatagram),
/// bound first to a name of its own if one was given.
class ConnectedDatagramPort final
    : public twisted::detail::ProtocolPort<ConnectedDatagramProtocol, IConnectedDatagramTransport> {
 public:
  /// Use Reactor::connectUNIXDatagram; public for make_shared.
  ConnectedDatagramPort(Reactor& reactor, std::string peer,
                        std::shared_ptr<ConnectedDatagramProtocol> protocol,
                        std::size_t maxPacketSize, int mode, std::string bindName);

  /// A failure to bind or connect is the protocol's connectionFailed (as in
  /// Twisted), and the port is closed.
  void startListening() override;
  Address getHost() const override { return UNIXAddress{bindName_}; }
  Address getPeer() const override { return UNIXAddress{peer_}; }
  void write(std::string_view datagram) override { send(datagram, nullptr); }
  void writeSequence(std::span<const std::string_view> parts) override;

 private:
  int openSocket() override;
  void announce() override;
  std::string closedName() const override;
  const char* kind() const override { return "UNIX"; }
  void deliver(std::string_view datagram, const sockaddr* from, socklen_t length) override;
  void truncated(std::size_t size, const sockaddr* from, socklen_t length) override;
  void refused() override;
  bool isConnected() const override { return true; }
  void sendFailed(const Failure& reason, const SocketAddress* to) override;
  void socketClosed() override { file_.remove(); }

  std::string peer_;
  int mode_;
  std::string bindName_;
  SocketFile file_;
};

}  // namespace twisted::unixsock

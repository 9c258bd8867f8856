// TCP, as Twisted's twisted.internet.tcp: Port (listening), Server and
// Client (the two kinds of Connection) and Connector. Internal.
//
// Users meet these only through the interfaces: listenTCP returns
// an IListeningPort, connectTCP an IConnector, and a protocol sees its
// Connection as an ITCPTransport. The flow follows Twisted's:
//
//   listenTCP -> Port::startListening (a reader) -> Port::doRead accepts ->
//   factory->buildProtocol(peer) -> Server (registers itself as a reader) ->
//   protocol->makeConnection -> Connection::doRead -> protocol->dataReceived
//
//   connectTCP -> Connector::connect -> factory->doStart -> Client ->
//   callLater(timeout, failIfNotConnected(TimeoutError)) ->
//   factory->startedConnecting -> ... -> protocol->makeConnection
//
// Lifetimes are in docs/architecture.md ("Connections, protocols, ...").
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "../socket/adopted_socket.hpp"
#include "../stream/socket_io.hpp"
#include "../stream/stream_connector.hpp"
#include "../stream/stream_port.hpp"
#include "../stream/stream_transport.hpp"
#include "twisted/internet/address.hpp"
#include "twisted/internet/deferred.hpp"
#include "twisted/internet/delayed_call.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::tcp {

class Connector;

/// A connected TCP socket: the shared stream transport over a socket, and
/// what is TCP's own (options, addresses).
class Connection
    : public twisted::detail::StreamTransport<ITCPTransport, twisted::detail::SocketIO> {
 public:
  using Stream = twisted::detail::StreamTransport<ITCPTransport, twisted::detail::SocketIO>;

  // ---- ITCPTransport ---------------------------------------------------------
  void loseWriteConnection() override { halfClose(); }
  Address getPeer() const override;
  Address getHost() const override;
  bool getTcpNoDelay() const override;
  void setTcpNoDelay(bool enabled) override;
  bool getTcpKeepAlive() const override;
  void setTcpKeepAlive(bool enabled) override;
  std::string logPrefix() const override;

 protected:
  explicit Connection(twisted::detail::TransportHost& host) : Stream(host) {}
  /// getHost answers after close.
  void beforeClose() override;
  /// Keeps `address` as the peer's (an accepted or a resolved address).
  void setPeer(const Address& address);
  /// The log prefix while `protocol` is connected ("Echo,3,127.0.0.1").
  virtual std::string prefixFor(const Protocol& protocol) const = 0;

  /// Server's session number (0 for a client).
  std::uint32_t sessionno_ = 0;

 private:
  // Kept out of the object until used: an idle connection carries only
  // what it needs (docs/performance.md, "Memory per idle connection").
  struct TcpCold final : Cold {
    std::optional<Address> host;  // looked up on first use, kept after close
    std::string prefix;           // logPrefix, computed once
  };
  std::unique_ptr<Cold> makeCold() const override { return std::make_unique<TcpCold>(); }
  TcpCold& tcpCold() const { return static_cast<TcpCold&>(cold()); }

  // The peer, as the kernel gives it (28 bytes, not an Address's 72):
  // known from accept or the resolver, else looked up on first use.
  union PeerAddress {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  mutable PeerAddress peer_{};
};

/// The server side of an accepted connection (Twisted's tcp.Server).
class Server final : public Connection {
 public:
  /// Use Port; public for make_shared.
  Server(twisted::detail::TransportHost& host, std::shared_ptr<Factory> factory,
         const Address& peer, long sessionno);
  /// Starts serving `fd` with `protocol` (called by Port).
  void start(int fd, std::shared_ptr<Protocol> protocol);
  long sessionno() const { return sessionno_; }
  std::string prefixFor(const Protocol& protocol) const override;

 protected:
  /// Lets go of the factory: a protocol kept after its connection (which
  /// keeps its transport) must not keep the factory, which may keep it.
  void afterConnectionLost(const Failure& reason) override;

 private:
  std::shared_ptr<Factory> factory_;  // pinned: protocol->factory stays valid
};

/// A listening TCP socket (Twisted's tcp.Port): the shared StreamPort with
/// IPv4/IPv6 binding.
class Port final : public twisted::detail::StreamPort {
 public:
  /// Use Reactor::listenTCP; public for make_shared.
  Port(Reactor& reactor, int port, std::shared_ptr<Factory> factory, int backlog,
       std::string interface);
  /// Use Reactor::adoptStreamPort: serves `socket`, already listening.
  Port(Reactor& reactor, twisted::detail::AdoptedSocket socket, std::shared_ptr<Factory> factory);

  Address getHost() const override;
  /// Binds with SO_REUSEPORT too (before startListening): a ReactorGroup's
  /// workers each listen on one address so, the kernel spreading new
  /// connections over their sockets.
  void setReusePort() { reusePort_ = true; }
  /// The port number bound (port 0 resolved), once listening.
  int realPort() const { return realPort_; }

 protected:
  int bindAndListen(int backlog) override;
  void announce() override;
  const char* kind() const override { return "TCP"; }
  std::string closedName() const override { return std::to_string(realPort_); }
  void serve(int fd, Address peer, std::shared_ptr<Protocol> protocol) override;

 private:
  /// Keeps what `fd` is bound to.
  void setBound(int fd);

  int port_;
  std::string interface_;
  int realPort_ = 0;  // the number bound (port 0 resolved), for the close line
  std::optional<Address> bound_;
  // An adopted port's socket, until startListening takes it; such a port
  // has nothing to bind again once stopped.
  std::optional<twisted::detail::AdoptedSocket> adopted_;
  bool isAdopted_ = false;
  bool reusePort_ = false;
};

/// The client side of a connection (Twisted's tcp.Client): resolves,
/// connects, then behaves as any Connection.
class Client final : public Connection, public twisted::detail::ConnectingTransport {
 public:
  /// Use Connector; public for make_shared.
  Client(twisted::detail::TransportHost& host, std::shared_ptr<Connector> connector);
  void begin() override;
  void failIfNotConnected(const Failure& reason) override;
  void loseConnection() override { Connection::loseConnection(); }

  IOResult doRead() override;
  IOResult doWrite() override;
  void connectionLost(const Failure& reason) override;

 protected:
  void afterConnectionLost(const Failure& reason) override;
  std::string prefixFor(const Protocol& protocol) const override;

 private:
  void resolve();
  void resolved(const Address& address);
  IOResult doConnect();
  void connectDone();
  void stopConnecting();

  std::shared_ptr<Connector> connector_;
  Deferred<std::vector<Address>> resolving_;
  bool resolvingActive_ = false;
  std::optional<Address> realAddress_;
};

/// Twisted's tcp.Connector: a repeatable TCP client connection attempt to
/// a host (a literal or a name) and port.
class Connector final : public twisted::detail::StreamConnector {
 public:
  /// Use Reactor::connectTCP; public for make_shared.
  Connector(Reactor& reactor, std::string host, int port, std::shared_ptr<ClientFactory> factory,
            double timeout, std::optional<BindAddress> bindAddress);

  Address getDestination() const override;

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::optional<BindAddress>& bindAddress() const { return bindAddress_; }

 protected:
  std::shared_ptr<twisted::detail::ConnectingTransport> makeTransport() override;

 private:
  std::string host_;
  int port_;
  std::optional<BindAddress> bindAddress_;
};

}  // namespace twisted::tcp

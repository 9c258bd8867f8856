// UNIX stream sockets, as Twisted's twisted.internet.unix: Port
// (listening), Server and Client (the two kinds of Connection) and
// Connector. Internal; users meet them as IListeningPort, IConnector and
// IUNIXTransport. The namespace is `unixsock`: `unix` is a macro in GNU C++.
//
// The flow is TCP's (src/internet/tcp/tcp.hpp) on the shared layers:
// StreamPort accepts, StreamConnector repeats attempts, StreamTransport
// carries the bytes. What is UNIX's own: names (a path or an abstract
// name), the socket file's mode and removal, the lock file, credentials.
// Ownership: docs/architecture.md, "UNIX sockets".
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "../socket/adopted_socket.hpp"
#include "../stream/stream_connector.hpp"
#include "../stream/stream_port.hpp"
#include "../stream/stream_transport.hpp"
#include "lock_file.hpp"
#include "socket_file.hpp"
#include "twisted/internet/address.hpp"
#include "twisted/internet/reactor_unix.hpp"
#include "twisted/logger/logger.hpp"
#include "unix_socket_io.hpp"

namespace twisted::unixsock {

class Connector;

/// True for a name in the abstract namespace (a leading NUL byte).
inline bool isAbstract(const std::string& name) {
  return !name.empty() && name[0] == '\0';
}
/// A name for messages: the path, or "@name" for an abstract one.
std::string describe(const std::string& name);
/// The log of UNIX sockets ("twisted.internet.unix").
const logger::Logger& log();

/// A connected UNIX stream socket: the shared stream transport, and what is
/// UNIX's own (addresses, credentials).
class Connection : public twisted::detail::StreamTransport<IUNIXTransport, UnixSocketIO> {
 public:
  using Stream = twisted::detail::StreamTransport<IUNIXTransport, UnixSocketIO>;
  /// Descriptors waiting to be sent beyond which a producer is paused.
  static constexpr std::size_t kDescriptorQueueLimit = 64;

  ~Connection() override;
  void loseWriteConnection() override { halfClose(); }
  std::optional<PeerCredentials> getPeerCredentials() const override;
  void sendFileDescriptor(int fd) override;
  Address getPeer() const override { return UNIXAddress{peer_}; }
  Address getHost() const override { return UNIXAddress{host_}; }

 protected:
  Connection(twisted::detail::TransportHost& host, std::string hostName, std::string peerName)
      : Stream(host), host_(std::move(hostName)), peer_(std::move(peerName)) {}
  /// Credentials are read while the socket is open, for after the close.
  void beforeClose() override;
  std::deque<int>* descriptorsToSend() override { return toSend_.get(); }
  /// Hands received descriptors to an IFileDescriptorReceiver (or closes
  /// them), logs what else came.
  void ancillaryReceived() override;

 private:
  std::unique_ptr<std::deque<int>> toSend_;  // made on first use
  std::string host_;
  std::string peer_;
  mutable std::optional<PeerCredentials> credentials_;
  mutable bool credentialsRead_ = false;
};

/// The server side of an accepted connection (Twisted's unix.Server).
class Server final : public Connection {
 public:
  /// Use Port; public for make_shared.
  Server(twisted::detail::TransportHost& host, std::shared_ptr<Factory> factory,
         std::string portName, std::string peerName, long sessionno);
  /// Starts serving `fd` with `protocol` (called by Port).
  void start(int fd, std::shared_ptr<Protocol> protocol);
  /// "Protocol,sessionno,peer" (the peer of a UNIX connection is usually
  /// unnamed: "").
  std::string logPrefix() const override;

 protected:
  /// Lets go of the factory (which may hold the protocol).
  void afterConnectionLost(const Failure& reason) override;

 private:
  std::shared_ptr<Factory> factory_;
  long sessionno_;
};

/// The client side (Twisted's unix.Client): connects, then is a Connection.
class Client final : public Connection, public twisted::detail::ConnectingTransport {
 public:
  /// Use Connector; public for make_shared.
  Client(twisted::detail::TransportHost& host, std::shared_ptr<Connector> connector);
  void begin() override;
  void failIfNotConnected(const Failure& reason) override;
  void loseConnection() override { Connection::loseConnection(); }
  void connectionLost(const Failure& reason) override;
  /// "Protocol,client".
  std::string logPrefix() const override;

 protected:
  void afterConnectionLost(const Failure& reason) override;

 private:
  void attempt();

  std::shared_ptr<Connector> connector_;
};

/// A listening UNIX socket (Twisted's unix.Port).
class Port final : public twisted::detail::StreamPort {
 public:
  /// Use Reactor::listenUNIX; public for make_shared.
  Port(Reactor& reactor, std::string name, std::shared_ptr<Factory> factory, int backlog, int mode,
       bool wantPID);
  /// Use Reactor::adoptStreamPort: serves `socket`, already listening. Its
  /// name is the kernel's; its file, if any, is not the port's to remove.
  Port(Reactor& reactor, twisted::detail::AdoptedSocket socket, std::shared_ptr<Factory> factory);

  Address getHost() const override { return UNIXAddress{name_}; }

 protected:
  int bindAndListen(int backlog) override;
  void announce() override;
  const char* kind() const override { return "UNIX"; }
  std::string closedName() const override { return describe(name_); }
  void serve(int fd, Address peer, std::shared_ptr<Protocol> protocol) override;
  void socketClosed() override;

 private:
  std::string name_;
  int mode_;
  bool wantPID_;
  std::optional<LockFile> lock_;
  SocketFile file_;
  // An adopted port's socket, until startListening takes it.
  std::optional<twisted::detail::AdoptedSocket> adopted_;
  bool isAdopted_ = false;
};

/// Twisted's unix.Connector: a repeatable attempt to reach a UNIX socket.
class Connector final : public twisted::detail::StreamConnector {
 public:
  /// Use Reactor::connectUNIX; public for make_shared.
  Connector(Reactor& reactor, std::string name, std::shared_ptr<ClientFactory> factory,
            double timeout, bool checkPID);

  Address getDestination() const override { return UNIXAddress{name_}; }
  const std::string& name() const { return name_; }
  bool checkPID() const { return checkPID_; }

 protected:
  std::shared_ptr<twisted::detail::ConnectingTransport> makeTransport() override;

 private:
  std::string name_;
  bool checkPID_;
};

}  // namespace twisted::unixsock

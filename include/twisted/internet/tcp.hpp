// TCP, as Twisted's twisted.internet.tcp: Port (listening), Server and
// Client (the two kinds of Connection) and Connector.
//
// Users normally meet these only through the interfaces: listenTCP returns
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

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "twisted/internet/address.hpp"
#include "twisted/internet/deferred.hpp"
#include "twisted/internet/delayed_call.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"
#include "twisted/internet/write_buffer.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::detail {
struct ReadArena;
}  // namespace twisted::detail

namespace twisted::tcp {

class Connector;

/// A connected TCP socket: the transport of one protocol.
// Aligned to a cache line: the fields every read and write touches (the
// first 184 bytes) then span three lines, not four.
class alignas(64) Connection : public IReadWriteDescriptor,
                               public IHalfCloseableDescriptor,
                               public ITCPTransport,
                               public std::enable_shared_from_this<Connection> {
 public:
  static constexpr std::size_t kDefaultHighWater = 64 * 1024;
  static constexpr std::size_t kDefaultLowWater = 16 * 1024;

  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // ---- ITransport / ITCPTransport ------------------------------------------
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> data) override;
  using ITransport::writeSequence;
  void loseConnection() override;
  void abortConnection() override;
  void loseWriteConnection() override;
  Address getPeer() const override;
  Address getHost() const override;
  bool getTcpNoDelay() const override;
  void setTcpNoDelay(bool enabled) override;
  bool getTcpKeepAlive() const override;
  void setTcpKeepAlive(bool enabled) override;
  void setWriteBufferLimits(std::size_t high, std::size_t low, bool pauseReading = true) override;
  std::size_t writeBufferSize() const override { return buffer_.size() + readView_.size(); }

  // ---- IConsumer --------------------------------------------------------
  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) override;
  void unregisterProducer() override;

  // ---- IPushProducer: the data this transport reads ------------------------
  /// Stops calling dataReceived until resumeProducing.
  void pauseProducing() override;
  void resumeProducing() override;
  /// Closes the connection (Twisted's stopProducing on a transport).
  void stopProducing() override;

  // ---- the reactor's side ----------------------------------------------------
  int fileno() const override;
  IOResult doRead() override;
  IOResult doWrite() override;
  void connectionLost(const Failure& reason) override;
  void readConnectionLost(const Failure& reason) override;
  std::string logPrefix() const override;

  /// The protocol; null after connectionLost.
  const std::shared_ptr<Protocol>& protocol() const { return protocol_; }
  Reactor& reactor() const { return reactor_; }
  bool connected() const { return connected_; }
  bool disconnecting() const override { return disconnecting_ || aborting_; }
  bool disconnected() const { return disconnected_; }

 protected:
  explicit Connection(Reactor& reactor);
  /// Takes `fd` (connected, non-blocking) and `protocol`; registers as a
  /// reader and calls protocol->makeConnection.
  void startConnection(int fd, std::shared_ptr<Protocol> protocol);
  /// Closes the socket; `orderly` false sends a reset (SO_LINGER 0).
  void closeSocket(bool orderly);
  void startReading();
  void stopReading();
  void startWriting();
  void stopWriting();
  /// After the protocol's connectionLost: the Client tells its connector.
  virtual void afterConnectionLost(const Failure& reason) { (void)reason; }

  // Members are laid out by use, not by topic: what every read and write
  // touches comes first, right after the bases, so that an echo touches
  // three cache lines of the transport instead of seven (with 1,000
  // connections they are cold, and each miss costs about as much as all
  // the code of an echo).
  int fd_ = -1;
  bool connected_ = false;
  bool disconnected_ = false;

 private:
  // Sends what is buffered; a failure if the socket is gone.
  IOResult flush();
  // Sends `pieces` directly when nothing is queued; queues the rest.
  void writeNow(std::span<const std::string_view> pieces);
  // Pauses or resumes producer and reading after the buffer size changed.
  void bufferGrew();
  void bufferShrank();
  void updateReading();
  void closeWriteSide();
  // Copies a pending readView_ into buffer_ (before anything that must see
  // the bytes queued in order).
  void spillReadView();
  // After dataReceived: sends or queues readView_.
  IOResult sendReadView();
  // write() when the bytes cannot be sent from the read buffer.
  void writeCopied(std::string_view data);

  // ---- hot: every read and write
  bool reading_ = false;
  bool writing_ = false;
  bool inRead_ = false;  // inside dataReceived: writes wait for the flush after it
  bool disconnecting_ = false;
  bool writeDisconnecting_ = false;
  bool writeDisconnected_ = false;
  bool readDisconnected_ = false;
  bool aborting_ = false;
  bool readPausedByBuffer_ = false;
  bool readPausedByUser_ = false;
  bool pauseReadingWhenFull_ = true;
  bool streamingProducer_ = false;
  bool producerPaused_ = false;
  std::shared_ptr<Protocol> protocol_;
  twisted::detail::WriteBuffer buffer_;
  // Inside dataReceived: the bytes just read, and a write of some of them
  // made while nothing else was queued (an echo). That write is not copied:
  // it is sent from the read buffer once dataReceived returns, and copied
  // into buffer_ only if the socket does not take it all.
  std::string_view readBytes_;
  std::string_view readView_;
  std::size_t highWater_ = kDefaultHighWater;
  std::size_t lowWater_ = kDefaultLowWater;
  twisted::detail::ReadArena* arena_;  // the reactor's read buffer

  // ---- cold
  std::optional<Failure> writeError_;  // a failed direct write, reported by doWrite
  std::shared_ptr<IProducer> producer_;

 protected:
  Reactor& reactor_;
  std::string prefix_;  // logPrefix, computed once
  // Both ends, looked up on first use and kept, so they answer after close.
  mutable std::optional<Address> host_;
  mutable std::optional<Address> peer_;
};

/// The server side of an accepted connection (Twisted's tcp.Server).
class Server final : public Connection {
 public:
  /// Use Port; public for make_shared.
  Server(Reactor& reactor, std::shared_ptr<Factory> factory, Address peer, long sessionno);
  /// Starts serving `fd` with `protocol` (called by Port).
  void start(int fd, std::shared_ptr<Protocol> protocol);
  long sessionno() const { return sessionno_; }

 protected:
  /// Lets go of the factory: a protocol kept after its connection (which
  /// keeps its transport) must not keep the factory, which may keep it.
  void afterConnectionLost(const Failure& reason) override;

 private:
  std::shared_ptr<Factory> factory_;  // pinned: protocol->factory stays valid
  long sessionno_;
};

/// A listening TCP socket (Twisted's tcp.Port).
class Port final : public IReadDescriptor,
                   public IListeningPort,
                   public std::enable_shared_from_this<Port> {
 public:
  /// Use Reactor::listenTCP; public for make_shared.
  Port(Reactor& reactor, int port, std::shared_ptr<Factory> factory, int backlog,
       std::string interface);
  ~Port() override;

  void startListening() override;
  Deferred<void> stopListening() override;
  Address getHost() const override;

  int fileno() const override { return fd_; }
  IOResult doRead() override;
  void connectionLost(const Failure& reason) override;
  std::string logPrefix() const override;

  /// How many connections the next doRead may accept (adapts to load, as
  /// Twisted's: +20 after a full batch, else the number just accepted).
  int numberAccepts() const { return numberAccepts_; }
  const std::shared_ptr<Factory>& factory() const { return factory_; }
  bool listening() const { return listening_; }

 private:
  void acceptFailed(int err);
  void resumeAccepting();

  Reactor& reactor_;
  int port_;
  std::shared_ptr<Factory> factory_;
  int backlog_;
  std::string interface_;
  int fd_ = -1;
  int family_ = 0;
  bool listening_ = false;
  bool factoryStarted_ = false;
  int numberAccepts_ = 100;
  long sessionno_ = 0;
  bool loggedAcceptError_ = false;
  std::optional<DelayedCall> backoff_;
  std::optional<Address> bound_;
};

/// The client side of a connection (Twisted's tcp.Client): resolves,
/// connects, then behaves as any Connection.
class Client final : public Connection {
 public:
  /// Use Connector; public for make_shared.
  Client(Reactor& reactor, std::shared_ptr<Connector> connector);
  /// Begins the attempt on the next turn (as Twisted: connect() never
  /// reports synchronously).
  void begin();
  /// Abandons the attempt if not yet connected; the connector is told
  /// with `reason`. Does nothing once connected or already failed.
  void failIfNotConnected(const Failure& reason);

  IOResult doRead() override;
  IOResult doWrite() override;
  void connectionLost(const Failure& reason) override;

 protected:
  void afterConnectionLost(const Failure& reason) override;

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
  bool failed_ = false;
};

/// Twisted's tcp.Connector: a repeatable TCP client connection attempt.
class Connector final : public IConnector {
 public:
  enum class State { Disconnected, Connecting, Connected };

  /// Use Reactor::connectTCP; public for make_shared.
  Connector(Reactor& reactor, std::string host, int port, std::shared_ptr<ClientFactory> factory,
            double timeout, std::optional<BindAddress> bindAddress);

  void connect() override;
  void disconnect() override;
  void stopConnecting() override;
  Address getDestination() const override;

  State state() const { return state_; }
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::optional<BindAddress>& bindAddress() const { return bindAddress_; }
  Reactor& reactor() const { return reactor_; }
  /// The current transport (connecting or connected), if any.
  const std::shared_ptr<Client>& transport() const { return transport_; }

  // ---- called by Client ------------------------------------------------------
  std::shared_ptr<Protocol> buildProtocol(const Address& addr);
  void connectionFailed(const Failure& reason);
  void connectionLost(const Failure& reason);

 private:
  void cancelTimeout();

  Reactor& reactor_;
  std::string host_;
  int port_;
  std::shared_ptr<ClientFactory> factory_;
  double timeout_;
  std::optional<BindAddress> bindAddress_;
  State state_ = State::Disconnected;
  bool factoryStarted_ = false;
  std::shared_ptr<Client> transport_;
  std::optional<DelayedCall> timeoutID_;
};

}  // namespace twisted::tcp

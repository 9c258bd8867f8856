// Transport, producer/consumer, listening-port and connector interfaces, as
// Twisted's twisted.internet.interfaces (ITransport, ITCPTransport,
// IConsumer, IPushProducer, IPullProducer, IListeningPort, IConnector,
// IReactorTCP).
//
// A protocol talks to its connection only through these, so the same protocol
// runs over TCP, over the in-memory testing::StringTransport, and over later
// transports (TLS, UNIX sockets) unchanged.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "twisted/internet/address.hpp"
#include "twisted/internet/deferred.hpp"

namespace twisted {

class Factory;
class ClientFactory;
class IReactorTime;

/// Twisted's IProducer: something that writes into a consumer.
class IProducer {
 public:
  virtual ~IProducer() = default;
  /// Stop for good: the consumer is going away (or asked to stop).
  virtual void stopProducing() = 0;
};

/// Twisted's IPullProducer: produces one chunk each time it is asked.
class IPullProducer : public virtual IProducer {
 public:
  /// Write some data to the consumer now (called when its buffer is empty).
  virtual void resumeProducing() = 0;
};

/// Twisted's IPushProducer: produces on its own until paused.
class IPushProducer : public virtual IProducer {
 public:
  /// The consumer's buffer is full: stop writing until resumeProducing.
  virtual void pauseProducing() = 0;
  /// The consumer can take more again.
  virtual void resumeProducing() = 0;
};

/// Twisted's IConsumer.
class IConsumer {
 public:
  virtual ~IConsumer() = default;
  /// Registers `producer` to be paused/resumed (`streaming`: an
  /// IPushProducer) or asked for more data when the buffer empties (not
  /// streaming: an IPullProducer). The consumer keeps `producer` alive
  /// until unregisterProducer or until the connection is lost, when it
  /// calls stopProducing.
  /// @throws std::logic_error if a producer is already registered, or if
  ///   `producer` lacks the interface `streaming` asks for.
  virtual void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) = 0;
  /// Forgets the producer (does not stop it).
  virtual void unregisterProducer() = 0;
  /// Same as the transport's write.
  virtual void write(std::string_view data) = 0;
};

/// Twisted's ITransport: one connection, seen from its protocol. A
/// transport is also a push producer of the data it reads: pausing it stops
/// dataReceived until it is resumed.
class ITransport : public IConsumer, public IPushProducer {
 public:
  /// Sends `data`, in order, without blocking: what the socket does not take
  /// at once is queued (copied once). Writes made after loseConnection are
  /// still sent before the close; after the connection is closed, aborted or
  /// its write side shut down they are ignored.
  void write(std::string_view data) override = 0;
  /// Writes the pieces in order, gathered into one system call if possible.
  virtual void writeSequence(std::span<const std::string_view> data) = 0;
  /// Writes the pieces of a braced list, e.g. writeSequence({header, body}).
  void writeSequence(std::initializer_list<std::string_view> data) {
    writeSequence(std::span<const std::string_view>(data.begin(), data.size()));
  }
  /// Closes the connection after everything written so far (and what a
  /// registered pull producer still produces) has been sent. The protocol
  /// then gets connectionLost(ConnectionDone). Never calls it synchronously.
  virtual void loseConnection() = 0;
  /// Closes at once, discarding the buffer (TCP sends a reset). The
  /// protocol gets connectionLost(ConnectionAborted) on the next turn.
  virtual void abortConnection() = 0;
  /// True once loseConnection or abortConnection has been called (Twisted's
  /// `transport.disconnecting`): a protocol parsing a batch of messages
  /// stops handing them on once its connection is going away.
  virtual bool disconnecting() const = 0;
  /// The other side's address.
  virtual Address getPeer() const = 0;
  /// This side's address.
  virtual Address getHost() const = 0;

  /// Flow control (beyond Twisted). When more than `high` bytes wait to be
  /// sent, a registered streaming producer is paused and, if
  /// `pauseReading`, the transport also stops reading from its peer; both
  /// resume once the buffer is down to `low`. So a request/response
  /// protocol stays bounded against a peer that does not read, with no code
  /// of its own. Defaults: 64 KiB and 16 KiB; `pauseReading` is on for
  /// accepted (server) connections and off for clients, because two ends
  /// that both stopped reading while full would wait on each other forever.
  virtual void setWriteBufferLimits(std::size_t high, std::size_t low,
                                    bool pauseReading = true) = 0;
  /// Bytes written and not yet sent.
  virtual std::size_t writeBufferSize() const = 0;

  /// The clock this connection's events run on (its reactor), for code that
  /// schedules timers of its own per connection, such as TimeoutMixin;
  /// nullptr when the transport cannot tell (the default).
  virtual IReactorTime* clock() const { return nullptr; }
};

/// Twisted's ITCPTransport.
class ITCPTransport : public ITransport {
 public:
  /// Half-close: sends what is buffered, then shuts down the write side; the
  /// peer reads end-of-file and this side can still read. An
  /// IHalfCloseableProtocol gets writeConnectionLost().
  virtual void loseWriteConnection() = 0;
  /// True if Nagle's algorithm is off (TCP_NODELAY); false once closed.
  virtual bool getTcpNoDelay() const = 0;
  /// Turns Nagle's algorithm off (true) or on; ignored once closed.
  virtual void setTcpNoDelay(bool enabled) = 0;
  /// True if TCP keep-alive probes are on (SO_KEEPALIVE); false once closed.
  virtual bool getTcpKeepAlive() const = 0;
  /// Turns TCP keep-alive probes on or off; ignored once closed.
  virtual void setTcpKeepAlive(bool enabled) = 0;
};

/// Twisted's IListeningPort.
class IListeningPort {
 public:
  virtual ~IListeningPort() = default;
  /// Starts listening (listenTCP already did); after stopListening's
  /// Deferred has fired, listens again (port 0: on a new free port).
  /// @throws error::CannotListenError; std::logic_error when stopListening
  ///   has not finished yet.
  virtual void startListening() = 0;
  /// Closes the listening socket (connections already accepted are not
  /// affected). The Deferred fires once the port is closed and its factory
  /// stopped; it fails with the exception a throwing stopFactory raised.
  /// Calling it again is harmless.
  virtual Deferred<void> stopListening() = 0;
  /// The address actually bound (the real port number after port 0).
  virtual Address getHost() const = 0;
};

/// Twisted's IConnector: a client connection attempt that can be repeated.
/// Connectors are always held by shared_ptr (a reconnecting factory keeps
/// one alive until its retry runs).
class IConnector : public std::enable_shared_from_this<IConnector> {
 public:
  virtual ~IConnector() = default;
  /// Starts a new attempt. @throws std::logic_error unless disconnected.
  virtual void connect() = 0;
  /// Stops connecting, or closes the connection if connected.
  virtual void disconnect() = 0;
  /// Stops an attempt in progress (clientConnectionFailed gets UserError).
  /// @throws error::NotConnectingError when not connecting.
  virtual void stopConnecting() = 0;
  /// Where this connector connects to.
  virtual Address getDestination() const = 0;
};

/// A local address to bind a client socket to (Twisted's bindAddress).
struct BindAddress {
  std::string host;  ///< A numeric IP address; "" binds to any address of the family.
  int port = 0;      ///< The local port; 0 lets the kernel choose.
};

/// Twisted's IReactorTCP.
class IReactorTCP {
 public:
  virtual ~IReactorTCP() = default;
  /// Listens on `port` (0: any free port) of `interface` ("" is every IPv4
  /// interface; an IPv6 address such as "::" or "::1" listens on IPv6).
  /// Connections get a protocol from `factory->buildProtocol(peer)`.
  /// @throws error::CannotListenError naming the address and the reason.
  virtual std::shared_ptr<IListeningPort> listenTCP(int port, std::shared_ptr<Factory> factory,
                                                    int backlog = 50,
                                                    std::string_view interface = "") = 0;
  /// Connects to `host` (an IPv4 or IPv6 literal, or a name resolved
  /// without blocking) and `port`. Success, failure and loss are reported to
  /// `factory`. `timeout` <= 0 means no timeout.
  virtual std::shared_ptr<IConnector> connectTCP(std::string host, int port,
                                                 std::shared_ptr<ClientFactory> factory,
                                                 double timeout = 30,
                                                 std::optional<BindAddress> bindAddress = {}) = 0;
};

}  // namespace twisted

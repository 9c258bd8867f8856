// An in-memory connection between two protocols, pumped by the test, as
// Twisted's twisted.test.iosim (connectedServerAndClient, IOPump,
// FakeTransport).
//
//   auto [client, server, pump] =
//       twisted::testing::connectedServerAndClient<EchoServer, EchoClient>();
//   client->sendLine("hello");
//   pump.flush();                 // moves bytes both ways until quiet
//   EXPECT_EQ(client->lines, std::vector<std::string>{"hello"});
//   client->transport->loseConnection();
//   pump.flush();                 // both sides get connectionLost
//
// Nothing moves until the test pumps: pump() is one pass (each side's
// queued bytes go to the other side), flush() repeats it until nothing
// happens. The rules are a TCP connection's:
// - bytes written are queued in the writer's FakeTransport (a StringTransport
//   that is always full(): writeBufferSize() counts them) and taken only
//   while the other side reads. A side reads unless its protocol paused its
//   transport (pauseProducing) or its own queue is above its high-water
//   mark (setWriteBufferLimits with pauseReading). So back-pressure works
//   as on a socket: a streaming producer is paused when its transport's
//   queue passes the high-water mark and resumed when the pump takes it; a
//   pull producer is asked for more (resumeProducing) whenever its
//   transport's queue is empty and the peer reads.
// - loseConnection takes effect once the side's queue is empty (and no
//   pull producer is registered), at the end of the pass that emptied it,
//   whatever the other side is still sending (which is then dropped, as a
//   closed socket would): both protocols get connectionLost(ConnectionDone),
//   the closing side first.
// - abortConnection drops both queues: on the next pump() the aborting side
//   gets ConnectionAborted and the other ConnectionLost.
// - loseWriteConnection (once drained): the closing side's protocol gets
//   writeConnectionLost and the other side's readConnectionLost, if they are
//   IHalfCloseableProtocols; a peer that is not gets the whole connection
//   closed (ConnectionDone to both), as it would on TCP. When both sides
//   have shut their write side, both get connectionLost(ConnectionDone).
// - writes after the connection is lost or aborted, or after its write side
//   is shut, are ignored; connectionLost is delivered exactly once per side,
//   always from pump(), never from inside loseConnection/abortConnection.
// - stopProducing on a transport is loseConnection; a producer still
//   registered when the connection is lost gets stopProducing.
//
// Ownership: the IOPump holds both protocols and both transports; each
// transport refers to its protocol and its peer weakly. Keep the pump while
// the connection is used. Exceptions thrown by the protocols propagate out
// of pump()/flush().
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "twisted/internet/address.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/testing/string_transport.hpp"

namespace twisted::testing {

class IOPump;

/// One end of a pumped connection (Twisted's iosim.FakeTransport): a
/// StringTransport that is always full(), whose queue the IOPump takes.
/// value() is what was written and not yet taken by the pump.
class FakeTransport final : public StringTransport {
 public:
  /// A transport whose getHost() is `host` and getPeer() is `peer`; not yet joined to a pump.
  FakeTransport(Address host, Address peer);

  /// Ignored once the connection is lost or aborted, or the write side shut.
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> data) override;
  /// Queues the listed pieces in order, as the span overload does.
  using ITransport::writeSequence;
  /// Closes once the queue is empty (see iosim.hpp).
  void loseConnection() override;
  /// Drops both queues; connectionLost comes on the next pump().
  void abortConnection() override;
  /// Shuts the write side once the queue is empty.
  void loseWriteConnection() override;
  /// Same as loseConnection (Twisted's and TCP's transports do this).
  void stopProducing() override { loseConnection(); }
  /// Does nothing when no producer is registered (the pump releases it
  /// before connectionLost, which may unregister it again), as TCP.
  void unregisterProducer() override {
    if (producer()) StringTransport::unregisterProducer();
  }

  /// True once this side's protocol has had connectionLost.
  bool closed() const { return lost_; }
  /// True while this side takes bytes: connected, not paused by its
  /// protocol nor by a full write buffer, read side open.
  bool reading() const;

 private:
  friend class IOPump;

  // Takes everything queued (the pump sends it to the peer).
  std::string take();
  // A pull producer is asked for more when the queue is empty; true if it
  // wrote something.
  bool askPullProducer();
  bool hasPullProducer() const { return producer() && !streaming(); }
  bool drained() const { return writeBufferSize() == 0 && !hasPullProducer(); }
  // Delivers connectionLost once (stops a registered producer first).
  void lose(const Failure& reason);

  std::weak_ptr<Protocol> protocol_;
  std::weak_ptr<FakeTransport> other_;
  bool lost_ = false;
  bool writeClosing_ = false;
  bool writeClosed_ = false;
  bool readClosed_ = false;
};

/// Moves bytes between the two ends of a connection (Twisted's IOPump).
class IOPump {
 public:
  /// Joins the two transports (each side's protocol and peer); does not
  /// call makeConnection (connect() does).
  /// @throws std::invalid_argument for a null pointer; std::logic_error if
  ///   a transport is already joined.
  IOPump(std::shared_ptr<Protocol> client, std::shared_ptr<Protocol> server,
         std::shared_ptr<FakeTransport> clientIO, std::shared_ptr<FakeTransport> serverIO);

  /// One pass: a pending abort is delivered; otherwise what each side has
  /// queued goes to the other (if it reads), pull producers with an empty
  /// queue are asked for more, and then a close or half-close whose side
  /// has drained takes effect. Returns whether anything happened.
  bool pump();
  /// pump() until nothing happens; returns whether anything did.
  /// @throws std::runtime_error after `maxPasses` busy passes (a producer
  ///   that never ends: pump() step by step instead).
  bool flush(std::size_t maxPasses = 1000);

  /// The client side's protocol.
  std::shared_ptr<Protocol> client;
  /// The server side's protocol.
  std::shared_ptr<Protocol> server;
  /// The client side's transport.
  std::shared_ptr<FakeTransport> clientIO;
  /// The server side's transport.
  std::shared_ptr<FakeTransport> serverIO;

 private:
  bool closeDrained();
};

/// How connectedServerAndClient builds the connection.
struct LoopbackOptions {
  /// Both transports' clock() (for TimeoutMixin); null: none.
  IReactorTime* clock = nullptr;
  /// flush() once after both connectionMade calls (Twisted's greet), so
  /// that greetings have been exchanged.
  bool greet = true;
  /// The server's address (its getHost, the client's getPeer).
  Address serverAddress = IPv4Address{Transport::TCP, "10.0.0.1", 12345};
  /// The client's address (its getHost, the server's getPeer).
  Address clientAddress = IPv4Address{Transport::TCP, "192.168.1.1", 54321};
};

/// What connectedServerAndClient returns, in Twisted's order:
/// `auto [client, server, pump] = connectedServerAndClient(...)`.
template <class Client, class Server>
struct ClientServerPump {
  /// The client protocol.
  std::shared_ptr<Client> client;
  /// The server protocol.
  std::shared_ptr<Server> server;
  /// The pump joining them; keep it while the connection is used.
  IOPump pump;
};

/// Connects `server` to `serverTransport` and `client` to `clientTransport`
/// (makeConnection, server first), joins the transports and, with `greet`,
/// flushes once (Twisted's iosim.connect).
/// @throws as IOPump's constructor.
IOPump connect(std::shared_ptr<Protocol> server, std::shared_ptr<FakeTransport> serverTransport,
               std::shared_ptr<Protocol> client, std::shared_ptr<FakeTransport> clientTransport,
               bool greet = true);

/// Connects two protocols over a new pair of FakeTransports.
template <class Server, class Client>
ClientServerPump<Client, Server> connectedServerAndClient(std::shared_ptr<Server> server,
                                                          std::shared_ptr<Client> client,
                                                          LoopbackOptions options = {}) {
  auto serverIO = std::make_shared<FakeTransport>(options.serverAddress, options.clientAddress);
  auto clientIO = std::make_shared<FakeTransport>(options.clientAddress, options.serverAddress);
  serverIO->setClock(options.clock);
  clientIO->setClock(options.clock);
  IOPump pump = connect(server, std::move(serverIO), client, std::move(clientIO), options.greet);
  return {std::move(client), std::move(server), std::move(pump)};
}

/// The same with default-constructed protocols (Twisted passes classes).
template <class Server, class Client>
ClientServerPump<Client, Server> connectedServerAndClient(LoopbackOptions options = {}) {
  return connectedServerAndClient(std::make_shared<Server>(), std::make_shared<Client>(),
                                  std::move(options));
}

/// The same with protocols built by factories, as on a real connection:
/// `serverFactory.buildProtocol(clientAddress)` and
/// `clientFactory.buildProtocol(serverAddress)` (so `protocol->factory` is
/// set). No startFactory/stopFactory and no ClientFactory events.
/// @throws std::logic_error if a factory refuses (returns nullptr).
ClientServerPump<Protocol, Protocol> connectedServerAndClient(Factory& serverFactory,
                                                              Factory& clientFactory,
                                                              LoopbackOptions options = {});

}  // namespace twisted::testing

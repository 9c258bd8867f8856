// Protocols and factories, as Twisted's twisted.internet.protocol.
//
// A Factory makes one Protocol per connection; the Protocol handles that
// connection's events (connectionMade, dataReceived, connectionLost) and
// answers through its `transport`. Who owns what is in docs/architecture.md:
// the transport owns its protocol while connected, the protocol owns a
// reference to its transport, and `factory` stays valid until connectionLost
// has returned.
//
//   class Echo : public twisted::Protocol {
//     void dataReceived(std::string_view data) override { transport->write(data); }
//   };
//   reactor.listenTCP(8000, twisted::Factory::forProtocol<Echo>());
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "twisted/internet/address.hpp"
#include "twisted/internet/delayed_call.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/pool.hpp"
#include "twisted/internet/transport.hpp"
#include "twisted/python/failure.hpp"

namespace twisted {

class Factory;

/// Twisted's BaseProtocol + Protocol: the handler of one connection.
class Protocol {
 public:
  virtual ~Protocol() = default;

  /// The connection, set by makeConnection. Kept (closed) after
  /// connectionLost so that late calls are harmless.
  std::shared_ptr<ITransport> transport;
  /// The factory that built this protocol (set by Factory::buildProtocol);
  /// valid until connectionLost has returned.
  Factory* factory = nullptr;
  /// True from makeConnection until connectionLost.
  bool connected = false;

  /// Called by the transport once: records it and calls connectionMade.
  virtual void makeConnection(std::shared_ptr<ITransport> t);
  /// The connection is up (transport is set). Start talking here.
  virtual void connectionMade() {}
  /// Some bytes arrived; `data` is valid only during the call and may hold
  /// any part of what the peer sent (no message boundaries).
  virtual void dataReceived(std::string_view data) { (void)data; }
  /// The connection is closed: ConnectionDone when closed cleanly,
  /// ConnectionLost (or ConnectionAborted) otherwise. Called exactly once.
  virtual void connectionLost(const Failure& reason) { (void)reason; }
  /// A name for log lines about this connection (Twisted's logPrefix).
  virtual std::string logPrefix() const;

  /// `factory` as the caller's own factory type.
  template <class F>
  F& factoryAs() const {
    return dynamic_cast<F&>(*factory);
  }
};

/// Twisted's IHalfCloseableProtocol: a protocol that also implements this
/// is told when each direction closes, instead of losing the connection
/// when the peer half-closes.
class IHalfCloseableProtocol {
 public:
  virtual ~IHalfCloseableProtocol() = default;
  /// The peer will send no more (it half-closed or closed).
  virtual void readConnectionLost() = 0;
  /// Our loseWriteConnection has taken effect.
  virtual void writeConnectionLost() = 0;
};

/// Twisted's Factory (ServerFactory): builds protocols, and is started
/// before its first port or connector uses it and stopped after its last.
class Factory {
 public:
  /// Makes one protocol (nullptr refuses the connection).
  using ProtocolMaker = std::function<std::shared_ptr<Protocol>()>;

  /// A factory with no maker: subclasses override buildProtocol.
  Factory() = default;
  /// A factory whose buildProtocol calls `maker`.
  explicit Factory(ProtocolMaker maker) : protocol(std::move(maker)) {}
  virtual ~Factory() = default;
  Factory(const Factory&) = delete;
  Factory& operator=(const Factory&) = delete;

  /// Makes the protocol for a new connection from `addr`, with `factory` set.
  /// Returning nullptr refuses the connection, which is closed at once. An
  /// override need not set `factory`: the port or connector that asked sets
  /// it to this factory when the protocol comes back without one.
  virtual std::shared_ptr<Protocol> buildProtocol(const Address& addr);

  /// Called by each port/connector that starts using the factory; the first
  /// call runs startFactory.
  void doStart();
  /// Called by each that stops; the last call runs stopFactory.
  void doStop();
  /// Set-up hook, run before the first port or connector uses the factory.
  virtual void startFactory() {}
  /// Tear-down hook, run after the last one stopped using it.
  virtual void stopFactory() {}
  /// How many ports/connectors are using the factory now. Counted
  /// atomically: the workers of a ReactorGroup start and stop their ports
  /// of one factory on their own threads.
  int numPorts() const { return numPorts_.load(std::memory_order_acquire); }
  /// The name log lines about this factory and its ports use.
  virtual std::string logPrefix() const { return "Factory"; }
  /// The clock the factory's connections run on, for protocols that
  /// schedule timers of their own (TimeoutMixin asks it when the transport
  /// cannot tell); nullptr (the default) when the factory does not know.
  virtual IReactorTime* clock() const { return nullptr; }

  /// A factory whose buildProtocol makes `P(args...)`.
  template <class P, class... Args>
  static std::shared_ptr<Factory> forProtocol(Args... args) {
    return std::make_shared<Factory>([args...] { return makePooled<P>(args...); });
  }

  /// Makes the protocol; buildProtocol's default calls it.
  ProtocolMaker protocol;

 private:
  std::atomic<int> numPorts_{0};
};

/// Twisted's ServerFactory: the same as Factory.
using ServerFactory = Factory;

/// Twisted's ClientFactory: a factory told of connection attempts.
class ClientFactory : public Factory {
 public:
  /// A client factory with no maker, or one that calls `maker`.
  using Factory::Factory;
  /// A connection attempt has begun.
  virtual void startedConnecting(IConnector& connector) { (void)connector; }
  /// The attempt failed (refused, timed out, DNS lookup failed, stopped).
  virtual void clientConnectionFailed(IConnector& connector, const Failure& reason) {
    (void)connector;
    (void)reason;
  }
  /// An established connection was closed.
  virtual void clientConnectionLost(IConnector& connector, const Failure& reason) {
    (void)connector;
    (void)reason;
  }

  /// A client factory whose buildProtocol makes `P(args...)`.
  template <class P, class... Args>
  static std::shared_ptr<ClientFactory> forProtocol(Args... args) {
    return std::make_shared<ClientFactory>([args...] { return makePooled<P>(args...); });
  }
};

}  // namespace twisted

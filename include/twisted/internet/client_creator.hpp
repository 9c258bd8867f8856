// ClientCreator: connect one protocol without writing a factory (Twisted's
// twisted.internet.protocol.ClientCreator).
//
//   twisted::ClientCreator<Greeter> creator(reactor, "hello");  // Greeter("hello")
//   auto d = creator.connectTCP("127.0.0.1", 8000, /*timeout=*/5);
//   d.addCallback([](std::shared_ptr<Greeter> g) { g->greet(); });
//   ...
//   d.cancel();  // gives up: the connector stops; fails with CancelledError
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/pool.hpp"
#include "twisted/internet/protocol.hpp"

namespace twisted {

/// Connects single protocol instances of type `P` without a user-written factory.
/// P must derive from Protocol; connectTCP() builds a fresh one per connection.
template <class P>
class ClientCreator {
  static_assert(std::is_base_of_v<Protocol, P>, "ClientCreator<P>: P must be a Protocol");

 public:
  /// Each connectTCP builds a new `P(args...)` (copies of args are kept).
  template <class... Args>
  explicit ClientCreator(IReactorTCP& reactor, Args... args)
      : reactor_(reactor), make_([args...] { return makePooled<P>(args...); }) {}

  /// Connects a new P to `host`:`port`. The Deferred fires with it once its
  /// connectionMade has run, or fails with the reason (ConnectionRefusedError,
  /// TimeoutError after `timeout` seconds, DNSLookupError, ...).
  ///
  /// Cancelling it before the connection is made stops the connector and
  /// fails it with ConnectingCancelledError (a CancelledError); if the
  /// protocol connected in the race (the cancel came from its own
  /// connectionMade), the connection is closed at once and the Deferred
  /// still fails with CancelledError.
  Deferred<std::shared_ptr<P>> connectTCP(std::string host, int port, double timeout = 30,
                                          std::optional<BindAddress> bindAddress = {}) {
    TCP4ClientEndpoint endpoint(reactor_, std::move(host), port, timeout, std::move(bindAddress));
    auto factory = std::make_shared<ClientFactory>(make_);
    return endpoint.connect(std::move(factory)).addCallback([](std::shared_ptr<Protocol> p) {
      return std::static_pointer_cast<P>(std::move(p));
    });
  }

 private:
  IReactorTCP& reactor_;
  Factory::ProtocolMaker make_;
};

}  // namespace twisted

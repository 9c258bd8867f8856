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
#include <stdexcept>
#include <string>
#include <utility>

#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/pool.hpp"
#include "twisted/internet/protocol.hpp"

namespace twisted {

/// Connects single protocol instances of type `P` without a user-written factory.
/// P must derive from Protocol; connectTCP(), connectUNIX() and connectSSL()
/// build a fresh one per connection.
template <class P>
class ClientCreator {
  static_assert(std::is_base_of_v<Protocol, P>, "ClientCreator<P>: P must be a Protocol");

 public:
  /// Each connect builds a new `P(args...)` (copies of args are kept).
  /// connectUNIX needs a reactor that is also an IReactorUNIX (a Reactor).
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
    return connectThrough(endpoint);
  }

  /// Connects a new P to the UNIX socket `address` (a path, or an abstract
  /// name with a leading NUL byte), as connectUNIX; fires and cancels as
  /// connectTCP's. With `checkPID`, a path whose lock names no live
  /// process fails with BadFileError.
  /// @throws std::logic_error if the reactor given has no UNIX sockets.
  Deferred<std::shared_ptr<P>> connectUNIX(std::string address, double timeout = 30,
                                           bool checkPID = false) {
    auto* unixReactor = dynamic_cast<IReactorUNIX*>(&reactor_);
    if (!unixReactor) {
      throw std::logic_error("ClientCreator::connectUNIX: this reactor has no UNIX sockets");
    }
    UNIXClientEndpoint endpoint(*unixReactor, std::move(address), timeout, checkPID);
    return connectThrough(endpoint);
  }

  /// Connects a new P to `host`:`port` over TLS made by `contextFactory`
  /// (twisted::tls::optionsForClientTLS). The Deferred fires once the
  /// handshake has completed and the server is verified, or fails with
  /// the connection's error or the TLS one (VerificationError, ...);
  /// cancelling it cancels as connectTCP's, or aborts the handshake.
  /// Needs twisted/tls/endpoints.hpp and the twisted::tls library: the
  /// endpoint is found by argument-dependent lookup on the creator's type,
  /// so that this header does not depend on OpenSSL.
  template <class ContextFactory>
  Deferred<std::shared_ptr<P>> connectSSL(std::string host, int port,
                                          std::shared_ptr<ContextFactory> contextFactory,
                                          double timeout = 30,
                                          std::optional<BindAddress> bindAddress = {}) {
    auto endpoint =
        clientCreatorSSLEndpoint(reactor_, std::move(host), port, std::move(contextFactory),
                                 timeout, std::move(bindAddress));
    return connectThrough(*endpoint);
  }

 private:
  Deferred<std::shared_ptr<P>> connectThrough(IStreamClientEndpoint& endpoint) {
    auto factory = std::make_shared<ClientFactory>(make_);
    return endpoint.connect(std::move(factory)).addCallback([](std::shared_ptr<Protocol> p) {
      return std::static_pointer_cast<P>(std::move(p));
    });
  }

  IReactorTCP& reactor_;
  Factory::ProtocolMaker make_;
};

}  // namespace twisted

// A port forwarder, as Twisted's twisted.protocols.portforward: each
// connection accepted by a ProxyFactory is joined to a new connection to
// the destination, and bytes flow both ways.
//
//   reactor.listenTCP(8080, std::make_shared<twisted::portforward::ProxyFactory>(
//       twisted::clientFromString(reactor, "tcp:host=example.com:port=80")));
//
// Back-pressure both ways: each side's transport is registered as a
// streaming producer with the other, so when one side's write buffer fills
// (its reader is slow) the other side stops reading until it drains. Memory
// stays bounded by the transports' high-water marks, whatever the speeds.
// Beyond Twisted, a half-close is forwarded (a client that shuts its write
// side still gets the whole answer), and a server connection that drops
// while the destination is still connecting cancels that attempt.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/protocol.hpp"

namespace twisted::portforward {

/// Twisted's Proxy: one side of a forwarded connection; writes what it
/// receives to its peer.
class Proxy : public Protocol,
              public IHalfCloseableProtocol,
              public std::enable_shared_from_this<Proxy> {
 public:
  /// The other side (set once both are connected).
  void setPeer(std::shared_ptr<Proxy> peer) { peer_ = std::move(peer); }
  /// The other side; null before it is connected and after this connection is lost.
  const std::shared_ptr<Proxy>& peer() const { return peer_; }

  void dataReceived(std::string_view data) override;
  /// Closes the peer too (after it has sent what it holds).
  void connectionLost(const Failure& reason) override;
  /// Our side will send no more: shut the peer's write side.
  void readConnectionLost() override;
  void writeConnectionLost() override;

 protected:
  /// Joins the two transports as each other's producers and starts the
  /// flow (called by the client side once connected).
  void joinWith(const std::shared_ptr<Proxy>& server);

 private:
  void closeIfBothHalvesDone();

  std::shared_ptr<Proxy> peer_;
  bool readLost_ = false;
  bool writeLost_ = false;
};

/// Twisted's ProxyClient: the connection to the destination.
class ProxyClient : public Proxy {
 public:
  void connectionMade() override;
};

/// Twisted's ProxyServer: an accepted connection. It stops reading until
/// the destination answers; if that fails, it is closed (and the reason
/// logged).
class ProxyServer : public Proxy {
 public:
  void connectionMade() override;
  void connectionLost(const Failure& reason) override;

 private:
  std::optional<Deferred<std::shared_ptr<Protocol>>> connecting_;
};

/// Twisted's ProxyFactory: forwards every accepted connection to
/// `destination`.
class ProxyFactory : public Factory {
 public:
  /// Forwards each accepted connection to a new connection made through `destination`.
  explicit ProxyFactory(std::shared_ptr<IStreamClientEndpoint> destination);
  /// Forwards to `host`:`port` over TCP (a name is resolved without
  /// blocking).
  ProxyFactory(IReactorTCP& reactor, std::string host, int port);

  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override;
  /// The endpoint each forwarded connection is made through.
  const std::shared_ptr<IStreamClientEndpoint>& destination() const { return destination_; }

 private:
  std::shared_ptr<IStreamClientEndpoint> destination_;
};

}  // namespace twisted::portforward

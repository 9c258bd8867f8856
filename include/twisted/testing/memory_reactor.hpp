// MemoryReactor: a fake IReactorTCP (and IReactorTime) that records what is
// asked of it, as Twisted's twisted.internet.testing.MemoryReactorClock.
//
// Code that takes an IReactorTCP& can be tested without sockets: the test
// inspects `tcpServers` / `tcpClients`, then plays the network's part by
// calling the recorded factory itself:
//
//   testing::MemoryReactor reactor;
//   myClient.start(reactor);                      // calls connectTCP
//   auto& call = reactor.tcpClients.at(0);
//   auto proto = call.factory->buildProtocol(IPv4Address{...});
//   auto transport = testing::connect(proto);     // a StringTransport
//   ...
//   reactor.connectors.at(0)->failConnection(Failure::of(error::ConnectionRefusedError()));
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "twisted/internet/protocol.hpp"
#include "twisted/internet/resolver.hpp"
#include "twisted/internet/transport.hpp"
#include "twisted/testing/clock.hpp"

namespace twisted::testing {

class MemoryReactor;

/// The IListeningPort listenTCP returns: records stopListening.
class FakePort final : public IListeningPort {
 public:
  /// A port whose getHost() is `host`.
  explicit FakePort(Address host) : host_(std::move(host)) {}
  void startListening() override {}
  /// Marks the port stopped; the Deferred has fired.
  Deferred<void> stopListening() override;
  Address getHost() const override { return host_; }
  /// True once stopListening has been called.
  bool stopped() const { return stopped_; }

 private:
  Address host_;
  bool stopped_ = false;
};

/// The IConnector connectTCP returns: records what is asked of it and
/// lets the test report the outcome to the factory.
class FakeConnector final : public IConnector {
 public:
  /// A connector to `destination` that reports outcomes to `factory`.
  FakeConnector(Address destination, std::shared_ptr<ClientFactory> factory)
      : destination_(std::move(destination)), factory_(std::move(factory)) {}
  /// Counts the call (the first one is made by connectTCP).
  void connect() override { ++connectCalls; }
  void disconnect() override { disconnected = true; }
  void stopConnecting() override { stoppedConnecting = true; }
  Address getDestination() const override { return destination_; }

  /// Plays a failed attempt: factory->clientConnectionFailed(*this, reason).
  void failConnection(const Failure& reason) { factory_->clientConnectionFailed(*this, reason); }
  /// Plays a lost connection: factory->clientConnectionLost(*this, reason).
  void loseConnection(const Failure& reason) { factory_->clientConnectionLost(*this, reason); }

  /// How many times connect() was called.
  int connectCalls = 0;
  /// True once disconnect() was called.
  bool disconnected = false;
  /// True once stopConnecting() was called.
  bool stoppedConnecting = false;

 private:
  Address destination_;
  std::shared_ptr<ClientFactory> factory_;
};

/// A MemoryReactor's resolver until the test installs one: every lookup
/// fails with DNSLookupError (a test that needs names installs a double).
class NoResolver final : public IHostnameResolver {
 public:
  Deferred<std::vector<Address>> resolveHostName(const std::string& host, int port,
                                                 AddressFamily family) override;
};

/// A fake IReactorTCP and IReactorTime that records every listenTCP and connectTCP call
/// and opens no socket; the test plays the network's part.
///
/// Also an IReactorPluggableNameResolver, so that whatever takes an
/// EndpointReactor (client endpoints, clientFromString, twist plugins) runs
/// on it.
class MemoryReactor : public IReactorTCP,
                      public IReactorTime,
                      public IReactorPluggableNameResolver {
 public:
  /// The arguments of one listenTCP call, and the port it returned.
  struct TCPServer {
    /// The port asked for (0 stays 0 here; see listeningPort's getHost).
    int port;
    /// The factory to build the accepted connections' protocols with.
    std::shared_ptr<Factory> factory;
    /// The backlog asked for.
    int backlog;
    /// The interface asked for; empty for all.
    std::string interface;
    /// The port returned.
    std::shared_ptr<FakePort> listeningPort;
  };
  /// The arguments of one connectTCP call.
  struct TCPClient {
    /// The host to connect to, as given.
    std::string host;
    /// The port to connect to.
    int port;
    /// The factory to build the connection's protocol with.
    std::shared_ptr<ClientFactory> factory;
    /// The connection timeout asked for, in seconds.
    double timeout;
    /// The local address to bind, if one was given.
    std::optional<BindAddress> bindAddress;
  };

  /// Every listenTCP call, in order. The returned port's getHost gives the
  /// interface (0.0.0.0 if none) and the port (0 becomes 12345 + n).
  std::vector<TCPServer> tcpServers;
  /// Every connectTCP call, in order, and the connector each returned.
  std::vector<TCPClient> tcpClients;
  /// The connector each connectTCP call returned, in the same order as tcpClients.
  std::vector<std::shared_ptr<FakeConnector>> connectors;

  std::shared_ptr<IListeningPort> listenTCP(int port, std::shared_ptr<Factory> factory,
                                            int backlog = 50,
                                            std::string_view interface = "") override;
  std::shared_ptr<IConnector> connectTCP(std::string host, int port,
                                         std::shared_ptr<ClientFactory> factory,
                                         double timeout = 30,
                                         std::optional<BindAddress> bindAddress = {}) override;

  /// Time comes from an embedded Clock (advance it with clock()).
  double seconds() const override { return clock_.seconds(); }
  DelayedCall callLater(double delay, UniqueFunction<void()> f) override {
    return clock_.callLater(delay, std::move(f));
  }
  std::vector<DelayedCall> getDelayedCalls() const override { return clock_.getDelayedCalls(); }
  /// The embedded Clock that gives this reactor its time; advance it to run delayed calls.
  Clock& clock() { return clock_; }

  /// The resolver in use: a NoResolver until the test installs another.
  IHostnameResolver& nameResolver() override { return *resolver_; }
  /// Makes `resolver` the one nameResolver() returns.
  void installNameResolver(std::shared_ptr<IHostnameResolver> resolver) override {
    resolver_ = std::move(resolver);
  }

 private:
  Clock clock_;
  std::shared_ptr<IHostnameResolver> resolver_ = std::make_shared<NoResolver>();
};

}  // namespace twisted::testing

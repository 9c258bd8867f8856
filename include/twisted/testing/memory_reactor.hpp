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
  explicit FakePort(Address host) : host_(std::move(host)) {}
  void startListening() override {}
  /// Marks the port stopped; the Deferred has fired.
  Deferred<void> stopListening() override;
  Address getHost() const override { return host_; }
  bool stopped() const { return stopped_; }

 private:
  Address host_;
  bool stopped_ = false;
};

/// The IConnector connectTCP returns: records what is asked of it and
/// lets the test report the outcome to the factory.
class FakeConnector final : public IConnector {
 public:
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

  int connectCalls = 0;
  bool disconnected = false;
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

/// Also an IReactorPluggableNameResolver, so that whatever takes an
/// EndpointReactor (client endpoints, clientFromString, twist plugins) runs
/// on it.
class MemoryReactor : public IReactorTCP,
                      public IReactorTime,
                      public IReactorPluggableNameResolver {
 public:
  struct TCPServer {
    int port;
    std::shared_ptr<Factory> factory;
    int backlog;
    std::string interface;
    std::shared_ptr<FakePort> listeningPort;
  };
  struct TCPClient {
    std::string host;
    int port;
    std::shared_ptr<ClientFactory> factory;
    double timeout;
    std::optional<BindAddress> bindAddress;
  };

  /// Every listenTCP call, in order. The returned port's getHost gives the
  /// interface (127.0.0.1 if none) and the port (0 becomes 12345 + n).
  std::vector<TCPServer> tcpServers;
  /// Every connectTCP call, in order, and the connector each returned.
  std::vector<TCPClient> tcpClients;
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
  Clock& clock() { return clock_; }

  IHostnameResolver& nameResolver() override { return *resolver_; }
  void installNameResolver(std::shared_ptr<IHostnameResolver> resolver) override {
    resolver_ = std::move(resolver);
  }

 private:
  Clock clock_;
  std::shared_ptr<IHostnameResolver> resolver_ = std::make_shared<NoResolver>();
};

}  // namespace twisted::testing

#include "twisted/testing/memory_reactor.hpp"

#include "twisted/internet/defer.hpp"
#include "twisted/internet/error.hpp"

namespace twisted::testing {

Deferred<void> FakePort::stopListening() {
  stopped_ = true;
  Deferred<void> done;
  done.callback();
  return done;
}

std::shared_ptr<IListeningPort> MemoryReactor::listenTCP(int port, std::shared_ptr<Factory> factory,
                                                         int backlog, std::string_view interface) {
  int realPort = port != 0 ? port : 12345 + static_cast<int>(tcpServers.size());
  std::string host = interface.empty() ? "0.0.0.0" : std::string(interface);
  Address address =
      isIPv6Address(host)
          ? Address{IPv6Address{Transport::TCP, host, static_cast<std::uint16_t>(realPort)}}
          : Address{IPv4Address{Transport::TCP, host, static_cast<std::uint16_t>(realPort)}};
  auto listening = std::make_shared<FakePort>(address);
  tcpServers.push_back({port, std::move(factory), backlog, std::string(interface), listening});
  return listening;
}

std::shared_ptr<IConnector> MemoryReactor::connectTCP(std::string host, int port,
                                                      std::shared_ptr<ClientFactory> factory,
                                                      double timeout,
                                                      std::optional<BindAddress> bindAddress) {
  auto p = static_cast<std::uint16_t>(port);
  Address destination = isIPv6Address(host) ? Address{IPv6Address{Transport::TCP, host, p}}
                                            : Address{IPv4Address{Transport::TCP, host, p}};
  auto connector = std::make_shared<FakeConnector>(destination, factory);
  tcpClients.push_back({std::move(host), port, factory, timeout, std::move(bindAddress)});
  connectors.push_back(connector);
  // As a real connector: the factory is told the attempt has begun.
  connector->connect();
  factory->startedConnecting(*connector);
  return connector;
}

Deferred<std::vector<Address>> NoResolver::resolveHostName(const std::string& host, int,
                                                           AddressFamily) {
  return fail<std::vector<Address>>(Failure::of(error::DNSLookupError(
      host + ": a MemoryReactor resolves nothing (installNameResolver a double)")));
}

}  // namespace twisted::testing

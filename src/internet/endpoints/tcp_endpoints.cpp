// TCP4/TCP6 server and client endpoints.
#include <utility>

#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/error.hpp"
#include "wrapping_factory.hpp"

namespace twisted {

// ---- servers --------------------------------------------------------------------

TCP4ServerEndpoint::TCP4ServerEndpoint(IReactorTCP& reactor, int port, int backlog,
                                       std::string interface)
    : reactor_(reactor), port_(port), backlog_(backlog), interface_(std::move(interface)) {}

Deferred<std::shared_ptr<IListeningPort>> TCP4ServerEndpoint::listen(
    std::shared_ptr<Factory> factory) {
  try {
    return succeed(reactor_.listenTCP(port_, std::move(factory), backlog_, interface_));
  } catch (...) {
    return fail<std::shared_ptr<IListeningPort>>(Failure::current());
  }
}

std::string TCP4ServerEndpoint::describe() const {
  std::string text = std::string(type_) + ":" + std::to_string(port_);
  if (!interface_.empty()) text += ":interface=" + quoteEndpointValue(interface_);
  if (backlog_ != kSystemMaxBacklog) text += ":backlog=" + std::to_string(backlog_);
  return text;
}

TCP6ServerEndpoint::TCP6ServerEndpoint(IReactorTCP& reactor, int port, int backlog,
                                       std::string interface)
    : TCP4ServerEndpoint(reactor, port, backlog, std::move(interface)) {
  type_ = "tcp6";
}

// ---- clients --------------------------------------------------------------------

namespace {

std::string describeClient(const char* type, const std::string& host, int port, double timeout,
                           const std::optional<BindAddress>& bindAddress) {
  std::string text =
      std::string(type) + ":host=" + quoteEndpointValue(host) + ":port=" + std::to_string(port);
  if (timeout != 30) text += ":timeout=" + std::to_string(timeout);
  if (bindAddress) text += ":bindAddress=" + quoteEndpointValue(bindAddress->host);
  return text;
}

// connectTCP through a WrappingFactory; fails instead of throwing.
Deferred<std::shared_ptr<Protocol>> connectWrapped(IReactorTCP& reactor, std::string host, int port,
                                                   double timeout,
                                                   const std::optional<BindAddress>& bindAddress,
                                                   std::shared_ptr<Factory> factory) {
  auto wrapping = detail::WrappingFactory::make(std::move(factory));
  Deferred<std::shared_ptr<Protocol>> d = wrapping->onConnection();
  try {
    reactor.connectTCP(std::move(host), port, wrapping, timeout, bindAddress);
  } catch (...) {
    return fail<std::shared_ptr<Protocol>>(Failure::current());
  }
  return d;
}

}  // namespace

TCP4ClientEndpoint::TCP4ClientEndpoint(IReactorTCP& reactor, std::string host, int port,
                                       double timeout, std::optional<BindAddress> bindAddress)
    : reactor_(reactor),
      host_(std::move(host)),
      port_(port),
      timeout_(timeout),
      bindAddress_(std::move(bindAddress)) {}

Deferred<std::shared_ptr<Protocol>> TCP4ClientEndpoint::connect(std::shared_ptr<Factory> factory) {
  return connectWrapped(reactor_, host_, port_, timeout_, bindAddress_, std::move(factory));
}

std::string TCP4ClientEndpoint::describe() const {
  return describeClient("tcp", host_, port_, timeout_, bindAddress_);
}

TCP6ClientEndpoint::TCP6ClientEndpoint(EndpointReactor reactor, std::string host, int port,
                                       double timeout, std::optional<BindAddress> bindAddress)
    : TCP6ClientEndpoint(reactor.tcp, reactor.names.nameResolver(), std::move(host), port, timeout,
                         std::move(bindAddress)) {}

TCP6ClientEndpoint::TCP6ClientEndpoint(IReactorTCP& reactor, IHostnameResolver& resolver,
                                       std::string host, int port, double timeout,
                                       std::optional<BindAddress> bindAddress)
    : reactor_(reactor),
      resolver_(resolver),
      host_(std::move(host)),
      port_(port),
      timeout_(timeout),
      bindAddress_(std::move(bindAddress)) {}

Deferred<std::shared_ptr<Protocol>> TCP6ClientEndpoint::connect(std::shared_ptr<Factory> factory) {
  if (isIPv6Address(host_)) {
    return connectWrapped(reactor_, host_, port_, timeout_, bindAddress_, std::move(factory));
  }
  // Look the name up (IPv6 only), then connect to its first address.
  // Cancelling during the lookup cancels the lookup.
  Deferred<std::vector<Address>> lookup =
      resolver_.resolveHostName(host_, port_, AddressFamily::IPv6);
  IReactorTCP& reactor = reactor_;
  int port = port_;
  double timeout = timeout_;
  std::optional<BindAddress> bindAddress = bindAddress_;
  std::string host = host_;
  return lookup.addCallback(
      [&reactor, port, timeout, bindAddress, host, factory](std::vector<Address> addresses) {
        if (addresses.empty()) throw error::DNSLookupError(host + ": no IPv6 address");
        const auto& address = std::get<IPv6Address>(addresses.front());
        return connectWrapped(reactor, address.host, port, timeout, bindAddress, factory);
      });
}

std::string TCP6ClientEndpoint::describe() const {
  return describeClient("tcp6", host_, port_, timeout_, bindAddress_);
}

}  // namespace twisted

// tcp::Connector: a TCP destination for the shared StreamConnector.
#include "socket.hpp"
#include "tcp.hpp"
#include "twisted/internet/pool.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted::tcp {

Connector::Connector(Reactor& reactor, std::string host, int port,
                     std::shared_ptr<ClientFactory> factory, double timeout,
                     std::optional<BindAddress> bindAddress)
    : StreamConnector(reactor, std::move(factory), timeout),
      host_(std::move(host)),
      port_(port),
      bindAddress_(std::move(bindAddress)) {}

std::shared_ptr<twisted::detail::ConnectingTransport> Connector::makeTransport() {
  auto self = std::static_pointer_cast<Connector>(shared_from_this());
  return makePooled<Client>(twisted::detail::transportHost(reactor()), self);
}

Address Connector::getDestination() const {
  if (std::optional<Address> literal = detail::literalAddress(host_, port_)) return *literal;
  return IPv4Address{Transport::TCP, host_, static_cast<std::uint16_t>(port_)};
}

}  // namespace twisted::tcp

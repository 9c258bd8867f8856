// unixsock::Connector: a UNIX destination for the shared StreamConnector.
#include "twisted/internet/pool.hpp"
#include "twisted/internet/reactor.hpp"
#include "unix.hpp"

namespace twisted::unixsock {

Connector::Connector(Reactor& reactor, std::string name, std::shared_ptr<ClientFactory> factory,
                     double timeout, bool checkPID)
    : StreamConnector(reactor, std::move(factory), timeout),
      name_(std::move(name)),
      checkPID_(checkPID) {}

std::shared_ptr<twisted::detail::ConnectingTransport> Connector::makeTransport() {
  auto self = std::static_pointer_cast<Connector>(shared_from_this());
  return makePooled<Client>(twisted::detail::transportHost(reactor()), self);
}

}  // namespace twisted::unixsock

// Reactor's IReactorTCP and name resolver.
#include "../reactor_impl.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/internet/tcp.hpp"

namespace twisted {

std::shared_ptr<IListeningPort> Reactor::listenTCP(int port, std::shared_ptr<Factory> factory,
                                                   int backlog, std::string_view interface) {
  if (!factory) throw std::invalid_argument("listenTCP needs a factory");
  auto p =
      std::make_shared<tcp::Port>(*this, port, std::move(factory), backlog, std::string(interface));
  p->startListening();
  return p;
}

std::shared_ptr<IConnector> Reactor::connectTCP(std::string host, int port,
                                                std::shared_ptr<ClientFactory> factory,
                                                double timeout,
                                                std::optional<BindAddress> bindAddress) {
  if (!factory) throw std::invalid_argument("connectTCP needs a factory");
  auto c = std::make_shared<tcp::Connector>(*this, std::move(host), port, std::move(factory),
                                            timeout, std::move(bindAddress));
  c->connect();
  return c;
}

IHostnameResolver& Reactor::nameResolver() {
  if (!impl_->resolver) impl_->resolver = std::make_shared<ThreadedResolver>(*this);
  return *impl_->resolver;
}

void Reactor::installNameResolver(std::shared_ptr<IHostnameResolver> resolver) {
  impl_->resolver = std::move(resolver);
}

}  // namespace twisted

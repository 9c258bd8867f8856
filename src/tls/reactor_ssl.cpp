#include "twisted/tls/reactor_ssl.hpp"

#include <stdexcept>

#include "twisted/internet/protocol_switch.hpp"

namespace twisted::tls {

std::shared_ptr<IListeningPort> listenSSL(IReactorTCP& reactor, int port,
                                          std::shared_ptr<Factory> factory,
                                          std::shared_ptr<IOpenSSLConnectionCreator> contextFactory,
                                          int backlog, std::string_view interface) {
  auto tls = std::make_shared<TLSMemoryBIOFactory>(std::move(contextFactory), TLSRole::Server,
                                                   std::move(factory));
  return reactor.listenTCP(port, std::move(tls), backlog, interface);
}

std::shared_ptr<IConnector> connectSSL(IReactorTCP& reactor, std::string host, int port,
                                       std::shared_ptr<ClientFactory> factory,
                                       std::shared_ptr<IOpenSSLConnectionCreator> contextFactory,
                                       double timeout, std::optional<BindAddress> bindAddress) {
  auto tls = std::make_shared<TLSMemoryBIOFactory>(std::move(contextFactory), TLSRole::Client,
                                                   std::move(factory));
  return reactor.connectTCP(std::move(host), port, std::move(tls), timeout, std::move(bindAddress));
}

std::shared_ptr<TLSMemoryBIOProtocol> startTLS(
    ITransport& transport, std::shared_ptr<IOpenSSLConnectionCreator> contextFactory, TLSRole role,
    std::string_view alreadyReceived) {
  if (dynamic_cast<TLSMemoryBIOProtocol*>(&transport)) {
    throw std::logic_error("startTLS: the connection speaks TLS already");
  }
  // A placeholder for the protocol that is there now (replaceProtocol
  // checks the transport before anything changes).
  auto factory = std::make_shared<TLSMemoryBIOFactory>(std::move(contextFactory), role,
                                                       std::make_shared<Factory>());
  auto tls = std::make_shared<TLSMemoryBIOProtocol>(*factory, nullptr, factory->creator(), role);
  tls->ownFactory_ = factory;
  std::shared_ptr<Protocol> old = replaceProtocol(transport, tls);
  tls->wrappedProtocol = std::move(old);
  std::shared_ptr<ITransport> below = tls->wrappedProtocol->transport;
  tls->adoptConnection(std::move(below));
  if (!alreadyReceived.empty()) tls->dataReceived(alreadyReceived);
  return tls;
}

}  // namespace twisted::tls

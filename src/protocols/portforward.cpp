#include "twisted/protocols/portforward.hpp"

#include "twisted/logger/logger.hpp"

namespace twisted::portforward {

namespace {

const logger::Logger& log() {
  static const logger::Logger instance("twisted.protocols.portforward");
  return instance;
}

// Builds the client side of one forwarded connection.
class ProxyClientFactory : public ClientFactory {
 public:
  explicit ProxyClientFactory(std::weak_ptr<Proxy> server) : server_(std::move(server)) {}
  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override {
    (void)addr;
    auto server = server_.lock();
    if (!server || !server->connected) return nullptr;  // the accepted side is gone
    auto client = std::make_shared<ProxyClient>();
    client->factory = this;
    client->setPeer(server);
    return client;
  }

 private:
  std::weak_ptr<Proxy> server_;
};

}  // namespace

// ---- Proxy ------------------------------------------------------------------------

void Proxy::dataReceived(std::string_view data) {
  if (peer_) peer_->transport->write(data);
}

void Proxy::connectionLost(const Failure& reason) {
  (void)reason;
  // The peer sends what it still holds, then closes. Dropping the link
  // also breaks the cycle between the two protocols.
  if (auto peer = std::move(peer_)) {
    // Our transport, the peer's producer, is gone. A consumer that closes
    // only once its producer is unregistered (TLS does, as
    // ITransport::loseConnection allows) would otherwise never close.
    peer->transport->unregisterProducer();
    peer->transport->loseConnection();
    peer->peer_.reset();
  }
}

void Proxy::readConnectionLost() {
  readLost_ = true;
  if (peer_) {
    if (auto* tcp = dynamic_cast<ITCPTransport*>(peer_->transport.get())) {
      tcp->loseWriteConnection();
    } else {
      peer_->transport->loseConnection();
    }
  }
  closeIfBothHalvesDone();
}

void Proxy::writeConnectionLost() {
  writeLost_ = true;
  closeIfBothHalvesDone();
}

void Proxy::closeIfBothHalvesDone() {
  if (readLost_ && writeLost_) transport->loseConnection();
}

void Proxy::joinWith(const std::shared_ptr<Proxy>& server) {
  server->setPeer(shared_from_this());
  // Each transport pauses the other while its own write buffer is full.
  transport->registerProducer(server->transport, true);
  server->transport->registerProducer(transport, true);
  server->transport->resumeProducing();
}

// ---- ProxyClient / ProxyServer ------------------------------------------------------

void ProxyClient::connectionMade() {
  joinWith(peer());
}

void ProxyServer::connectionMade() {
  transport->pauseProducing();  // nothing is read until the destination is there
  auto& proxyFactory = factoryAs<ProxyFactory>();
  auto clients = std::make_shared<ProxyClientFactory>(weak_from_this());
  auto d = proxyFactory.destination()->connect(clients);
  std::weak_ptr<Proxy> self = weak_from_this();
  std::string destination = proxyFactory.destination()->describe();
  d.addErrback([self, destination](const Failure& why) -> std::shared_ptr<Protocol> {
    if (auto server = std::dynamic_pointer_cast<ProxyServer>(self.lock())) {
      server->connecting_.reset();
      if (!why.check<error::CancelledError>()) {
        log().warn("Unable to connect to {destination}: {reason}",
                   {{"destination", destination}, {"reason", why.brief()}});
      }
      server->transport->loseConnection();
    }
    return nullptr;
  });
  d.addCallback([self](std::shared_ptr<Protocol> p) {
    if (auto server = std::dynamic_pointer_cast<ProxyServer>(self.lock()))
      server->connecting_.reset();
    return p;
  });
  if (!d.called()) connecting_ = d;
}

void ProxyServer::connectionLost(const Failure& reason) {
  if (auto pending = std::move(connecting_)) {
    connecting_.reset();
    pending->cancel();  // the destination is not needed any more
  }
  Proxy::connectionLost(reason);
}

// ---- ProxyFactory ------------------------------------------------------------------------

ProxyFactory::ProxyFactory(std::shared_ptr<IStreamClientEndpoint> destination)
    : destination_(std::move(destination)) {}

ProxyFactory::ProxyFactory(IReactorTCP& reactor, std::string host, int port)
    : destination_(std::make_shared<TCP4ClientEndpoint>(reactor, std::move(host), port)) {}

std::shared_ptr<Protocol> ProxyFactory::buildProtocol(const Address& addr) {
  (void)addr;
  auto server = std::make_shared<ProxyServer>();
  server->factory = this;
  return server;
}

}  // namespace twisted::portforward

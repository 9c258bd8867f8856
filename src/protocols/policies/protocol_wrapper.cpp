#include "twisted/protocols/protocol_wrapper.hpp"

#include "../../internet/build_protocol.hpp"

namespace twisted::policies {

// ---- ProtocolWrapper ------------------------------------------------------------------

ProtocolWrapper::ProtocolWrapper(WrappingFactory& factory, std::shared_ptr<Protocol> wrapped)
    : wrappedProtocol(std::move(wrapped)), owner_(&factory) {
  this->factory = &factory;
}

void ProtocolWrapper::makeConnection(std::shared_ptr<ITransport> t) {
  Protocol::makeConnection(std::move(t));
  owner_->registerProtocol(*this);
  wrappedProtocol->makeConnection(shared_from_this());
}

void ProtocolWrapper::dataReceived(std::string_view data) {
  if (wrappedProtocol) wrappedProtocol->dataReceived(data);
}

void ProtocolWrapper::connectionLost(const Failure& reason) {
  owner_->unregisterProtocol(*this);
  // Drop our reference first: the wrapped protocol keeps this wrapper as
  // its transport, and the two must not keep each other alive.
  std::shared_ptr<Protocol> wrapped = std::move(wrappedProtocol);
  if (wrapped) wrapped->connectionLost(reason);
}

std::string ProtocolWrapper::logPrefix() const {
  return wrappedProtocol ? wrappedProtocol->logPrefix() + " (" + owner_->logPrefix() + ")"
                         : owner_->logPrefix();
}

void ProtocolWrapper::write(std::string_view data) {
  transport->write(data);
}

void ProtocolWrapper::writeSequence(std::span<const std::string_view> data) {
  transport->writeSequence(data);
}

void ProtocolWrapper::loseConnection() {
  disconnecting_ = true;
  transport->loseConnection();
}

void ProtocolWrapper::abortConnection() {
  disconnecting_ = true;
  transport->abortConnection();
}

IReactorTime* ProtocolWrapper::clock() const {
  if (IReactorTime* c = transport ? transport->clock() : nullptr) return c;
  return owner_->clock();
}

bool ProtocolWrapper::disconnecting() const {
  return disconnecting_ || (transport && transport->disconnecting());
}

Address ProtocolWrapper::getPeer() const {
  return transport->getPeer();
}
Address ProtocolWrapper::getHost() const {
  return transport->getHost();
}

void ProtocolWrapper::setWriteBufferLimits(std::size_t high, std::size_t low, bool pauseReading) {
  transport->setWriteBufferLimits(high, low, pauseReading);
}

std::size_t ProtocolWrapper::writeBufferSize() const {
  return transport->writeBufferSize();
}

void ProtocolWrapper::registerProducer(std::shared_ptr<IProducer> producer, bool streaming) {
  transport->registerProducer(std::move(producer), streaming);
}

void ProtocolWrapper::unregisterProducer() {
  transport->unregisterProducer();
}
void ProtocolWrapper::pauseProducing() {
  transport->pauseProducing();
}
void ProtocolWrapper::resumeProducing() {
  transport->resumeProducing();
}
void ProtocolWrapper::stopProducing() {
  transport->stopProducing();
}

void ProtocolWrapper::loseWriteConnection() {
  if (ITCPTransport* t = tcp()) {
    t->loseWriteConnection();
  } else {
    loseConnection();
  }
}

bool ProtocolWrapper::getTcpNoDelay() const {
  return tcp() && tcp()->getTcpNoDelay();
}
void ProtocolWrapper::setTcpNoDelay(bool enabled) {
  if (ITCPTransport* t = tcp()) t->setTcpNoDelay(enabled);
}
bool ProtocolWrapper::getTcpKeepAlive() const {
  return tcp() && tcp()->getTcpKeepAlive();
}
void ProtocolWrapper::setTcpKeepAlive(bool enabled) {
  if (ITCPTransport* t = tcp()) t->setTcpKeepAlive(enabled);
}

// ---- WrappingFactory -------------------------------------------------------------------

WrappingFactory::WrappingFactory(std::shared_ptr<Factory> wrapped)
    : wrappedFactory(std::move(wrapped)) {}

std::shared_ptr<Protocol> WrappingFactory::buildProtocol(const Address& addr) {
  // The wrapped protocol knows its own factory, as a port would set it.
  std::shared_ptr<Protocol> inner = twisted::detail::buildProtocol(*wrappedFactory, addr);
  if (!inner) return nullptr;
  return wrapProtocol(std::move(inner), addr);
}

std::shared_ptr<ProtocolWrapper> WrappingFactory::wrapProtocol(std::shared_ptr<Protocol> wrapped,
                                                               const Address& addr) {
  (void)addr;
  return makeWrapper<ProtocolWrapper>(std::move(wrapped));
}

void WrappingFactory::startedConnecting(IConnector& connector) {
  if (auto* client = dynamic_cast<ClientFactory*>(wrappedFactory.get())) {
    client->startedConnecting(connector);
  }
}

void WrappingFactory::clientConnectionFailed(IConnector& connector, const Failure& reason) {
  if (auto* client = dynamic_cast<ClientFactory*>(wrappedFactory.get())) {
    client->clientConnectionFailed(connector, reason);
  }
}

void WrappingFactory::clientConnectionLost(IConnector& connector, const Failure& reason) {
  if (auto* client = dynamic_cast<ClientFactory*>(wrappedFactory.get())) {
    client->clientConnectionLost(connector, reason);
  }
}

std::string WrappingFactory::logPrefix() const {
  return wrappedFactory->logPrefix() + " (WrappingFactory)";
}

}  // namespace twisted::policies

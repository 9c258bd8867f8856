// WrappingFactory and the protocol wrapper it builds.
#include "wrapping_factory.hpp"
#include "../build_protocol.hpp"

#include <utility>

#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor_unix.hpp"

namespace twisted::detail {

namespace {

// Forwards every event to the user's protocol. The user's protocol gets
// the real transport, so its own calls do not go through the wrapper.
class WrappingProtocol : public Protocol {
 public:
  WrappingProtocol(std::shared_ptr<WrappingFactory> factory, std::shared_ptr<Protocol> wrapped)
      : owner_(std::move(factory)), wrapped_(std::move(wrapped)) {}

  void connectionMade() override {
    // The factory is needed only to fire; let it go (it may be the last
    // reference to the user's factory, which lives on in wrapped_->factory
    // only as a raw pointer pinned by the connector). Locals, as the user's
    // connectionMade may switch protocols (startTLS) and drop this wrapper.
    std::shared_ptr<WrappingFactory> owner = std::move(owner_);
    std::shared_ptr<Protocol> wrapped = wrapped_;
    owner->attach(transport);
    wrapped->makeConnection(transport);
    owner->connected(wrapped);
  }
  void dataReceived(std::string_view data) override { wrapped_->dataReceived(data); }
  void connectionLost(const Failure& reason) override { wrapped_->connectionLost(reason); }
  std::string logPrefix() const override { return wrapped_->logPrefix(); }
  const std::shared_ptr<Protocol>& wrapped() const { return wrapped_; }

 protected:
  std::shared_ptr<WrappingFactory> owner_;
  std::shared_ptr<Protocol> wrapped_;
};

// What the transport looks for on the protocol it holds (the wrapper),
// forwarded to the wrapped one, and offered only when that one has it (as
// Twisted's _WrappingProtocol provides the interfaces its wrapped protocol
// provides): half-close, and descriptors over a UNIX socket.
class ForwardsHalfClose : public IHalfCloseableProtocol {
 public:
  void readConnectionLost() override { target().readConnectionLost(); }
  void writeConnectionLost() override { target().writeConnectionLost(); }

 protected:
  virtual IHalfCloseableProtocol& target() = 0;
};
class ForwardsDescriptors : public IFileDescriptorReceiver {
 public:
  void fileDescriptorReceived(int fd) override { receiver().fileDescriptorReceived(fd); }

 protected:
  virtual IFileDescriptorReceiver& receiver() = 0;
};

template <class... Forwards>
class WrappingWith final : public WrappingProtocol, public Forwards... {
 public:
  using WrappingProtocol::WrappingProtocol;

 protected:
  IHalfCloseableProtocol& target() { return dynamic_cast<IHalfCloseableProtocol&>(*wrapped_); }
  IFileDescriptorReceiver& receiver() { return dynamic_cast<IFileDescriptorReceiver&>(*wrapped_); }
};

}  // namespace

std::shared_ptr<Protocol> unwrapEndpointProtocol(std::shared_ptr<Protocol> protocol) {
  if (auto* wrapper = dynamic_cast<WrappingProtocol*>(protocol.get())) return wrapper->wrapped();
  return protocol;
}

std::shared_ptr<WrappingFactory> WrappingFactory::make(std::shared_ptr<Factory> wrapped) {
  auto factory = std::make_shared<WrappingFactory>(std::move(wrapped));
  std::weak_ptr<WrappingFactory> weak = factory;
  // The canceller holds the factory weakly: the factory holds the Deferred.
  factory->onConnection_ =
      Deferred<std::shared_ptr<Protocol>>([weak](Deferred<std::shared_ptr<Protocol>>& d) {
        if (auto self = weak.lock()) self->cancel(d);
      });
  return factory;
}

void WrappingFactory::startedConnecting(IConnector& connector) {
  connector_ = connector.weak_from_this();
}

void WrappingFactory::cancel(Deferred<std::shared_ptr<Protocol>>& d) {
  fired_ = true;
  std::shared_ptr<IConnector> connector = connector_.lock();
  if (!built_) {
    // Still connecting: fail first, so the UserError that stopConnecting
    // reports to clientConnectionFailed finds the Deferred already fired.
    d.errback(Failure::of(error::ConnectingCancelledError(
        connector ? toString(connector->getDestination()) : std::string())));
    if (connector) {
      try {
        connector->stopConnecting();
      } catch (const error::NotConnectingError&) {
        // It had already stopped; nothing left to abandon.
      }
    }
    return;
  }
  // Connected in the race (the cancel came from inside connectionMade):
  // drop the connection at once; the Deferred still fails.
  d.errback(Failure::of(error::CancelledError()));
  if (auto transport = transport_.lock()) transport->loseConnection();
}

std::shared_ptr<Protocol> WrappingFactory::buildProtocol(const Address& addr) {
  if (fired_) return nullptr;  // cancelled: refuse, which closes the socket
  std::shared_ptr<Protocol> proto;
  try {
    proto = detail::buildProtocol(*wrapped_, addr);
    if (!proto) throw error::NoProtocol();
  } catch (...) {
    fired_ = true;
    Deferred<std::shared_ptr<Protocol>> d = std::move(onConnection_);
    d.errback(Failure::current());
    return nullptr;
  }
  if (fired_) return nullptr;  // cancelled from inside the user's buildProtocol
  built_ = true;
  auto self = shared_from_this();
  bool halfClose = dynamic_cast<IHalfCloseableProtocol*>(proto.get()) != nullptr;
  bool descriptors = dynamic_cast<IFileDescriptorReceiver*>(proto.get()) != nullptr;
  if (halfClose && descriptors) {
    return std::make_shared<WrappingWith<ForwardsHalfClose, ForwardsDescriptors>>(self,
                                                                                  std::move(proto));
  }
  if (halfClose) return std::make_shared<WrappingWith<ForwardsHalfClose>>(self, std::move(proto));
  if (descriptors) {
    return std::make_shared<WrappingWith<ForwardsDescriptors>>(self, std::move(proto));
  }
  return std::make_shared<WrappingProtocol>(self, std::move(proto));
}

void WrappingFactory::connected(const std::shared_ptr<Protocol>& wrapped) {
  if (fired_) return;  // cancelled while connectionMade ran: already closing
  fired_ = true;
  Deferred<std::shared_ptr<Protocol>> d = std::move(onConnection_);
  d.callback(wrapped);
}

void WrappingFactory::clientConnectionFailed(IConnector& connector, const Failure& reason) {
  (void)connector;
  if (fired_) return;
  fired_ = true;
  Deferred<std::shared_ptr<Protocol>> d = std::move(onConnection_);
  d.errback(reason);
}

}  // namespace twisted::detail

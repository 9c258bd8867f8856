// Protocol wrappers, as Twisted's twisted.protocols.policies.ProtocolWrapper
// and WrappingFactory: the base of every policy (throttling, limits,
// timeouts, traffic logging).
//
// A WrappingFactory wraps another factory: each protocol that factory builds
// is wrapped in a ProtocolWrapper, which is the real transport's protocol
// and, at the same time, the wrapped protocol's transport. So a policy sees
// every event going in (dataReceived, connectionLost) and every call going
// out (write, loseConnection) and can count, delay or refuse them.
//
// Ownership: the real transport owns the wrapper, the wrapper owns the
// wrapped protocol until connectionLost, and the wrapped protocol's
// `transport` is the wrapper (kept, closed, after connectionLost).
#pragma once

#include <memory>
#include <set>
#include <string>

#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted::policies {

class WrappingFactory;

/// Twisted's ProtocolWrapper: forwards events to `wrappedProtocol` and its
/// transport calls to the real transport. Subclasses override either side.
class ProtocolWrapper : public Protocol,
                        public ITCPTransport,
                        public std::enable_shared_from_this<ProtocolWrapper> {
 public:
  /// Wraps `wrapped` on behalf of `factory`, which must outlive this wrapper and is also
  /// set as this protocol's `factory`.
  ProtocolWrapper(WrappingFactory& factory, std::shared_ptr<Protocol> wrapped);

  /// The protocol being wrapped; null after connectionLost.
  std::shared_ptr<Protocol> wrappedProtocol;
  /// The factory that built this wrapper.
  WrappingFactory& wrappingFactory() const { return *owner_; }

  // ---- events from the real transport ------------------------------------------
  /// Registers with the factory and connects the wrapped protocol to this.
  void makeConnection(std::shared_ptr<ITransport> t) override;
  void dataReceived(std::string_view data) override;
  /// Unregisters, then passes the reason on.
  void connectionLost(const Failure& reason) override;
  std::string logPrefix() const override;

  // ---- calls from the wrapped protocol, passed to the real transport -----------------
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> data) override;
  /// Writes the listed pieces in order, as the span overload does.
  using ITransport::writeSequence;
  void loseConnection() override;
  void abortConnection() override;
  bool disconnecting() const override;
  Address getPeer() const override;
  Address getHost() const override;
  void setWriteBufferLimits(std::size_t high, std::size_t low, bool pauseReading = true) override;
  std::size_t writeBufferSize() const override;
  /// The real transport's clock, else the wrapping factory's.
  IReactorTime* clock() const override;
  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) override;
  void unregisterProducer() override;
  void pauseProducing() override;
  void resumeProducing() override;
  void stopProducing() override;
  /// Half-closes if the real transport can (else closes).
  void loseWriteConnection() override;
  /// The real transport's TCP_NODELAY; false if it is not a TCP transport.
  bool getTcpNoDelay() const override;
  /// Sets TCP_NODELAY on the real transport; does nothing if it is not a TCP transport.
  void setTcpNoDelay(bool enabled) override;
  /// The real transport's SO_KEEPALIVE; false if it is not a TCP transport.
  bool getTcpKeepAlive() const override;
  /// Sets SO_KEEPALIVE on the real transport; does nothing if it is not a TCP transport.
  void setTcpKeepAlive(bool enabled) override;

 private:
  ITCPTransport* tcp() const { return dynamic_cast<ITCPTransport*>(transport.get()); }

  WrappingFactory* owner_;
  bool disconnecting_ = false;
};

/// A wrapper of type W that also passes half-close events on; WrappingFactory
/// uses it when the wrapped protocol is an IHalfCloseableProtocol, so the
/// wrapping does not change how the connection treats a half-close.
template <class W>
class HalfCloseable final : public W, public IHalfCloseableProtocol {
 public:
  using W::W;
  void readConnectionLost() override { inner().readConnectionLost(); }
  void writeConnectionLost() override { inner().writeConnectionLost(); }

 private:
  IHalfCloseableProtocol& inner() {
    return dynamic_cast<IHalfCloseableProtocol&>(*this->wrappedProtocol);
  }
};

/// Twisted's WrappingFactory: builds the wrapped factory's protocols
/// wrapped, and keeps track of the live wrappers.
class WrappingFactory : public ClientFactory {
 public:
  /// Wraps the protocols that `wrapped` builds.
  explicit WrappingFactory(std::shared_ptr<Factory> wrapped);

  /// The factory whose protocols are wrapped; start, stop and client events go to it too.
  std::shared_ptr<Factory> wrappedFactory;
  /// The wrappers whose connections are open.
  const std::set<ProtocolWrapper*>& protocols() const { return protocols_; }

  /// Asks the wrapped factory, then wraps (nullptr refuses).
  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override;
  /// Makes the wrapper; override to use another ProtocolWrapper subclass
  /// (with makeWrapper<YourWrapper>).
  virtual std::shared_ptr<ProtocolWrapper> wrapProtocol(std::shared_ptr<Protocol> wrapped,
                                                        const Address& addr);
  /// Called by each wrapper when connected and when its connection is lost.
  virtual void registerProtocol(ProtocolWrapper& p) { protocols_.insert(&p); }
  /// Called by a wrapper when its connection is lost: forgets it.
  virtual void unregisterProtocol(ProtocolWrapper& p) { protocols_.erase(&p); }

  /// Starts the wrapped factory (Factory::doStart).
  void startFactory() override { wrappedFactory->doStart(); }
  /// Stops the wrapped factory (Factory::doStop).
  void stopFactory() override { wrappedFactory->doStop(); }
  void startedConnecting(IConnector& connector) override;
  void clientConnectionFailed(IConnector& connector, const Failure& reason) override;
  void clientConnectionLost(IConnector& connector, const Failure& reason) override;
  /// The wrapped factory's prefix followed by " (WrappingFactory)".
  std::string logPrefix() const override;
  /// The wrapped factory's clock.
  IReactorTime* clock() const override {
    return wrappedFactory ? wrappedFactory->clock() : nullptr;
  }

 protected:
  /// A W(*this, wrapped, args...), half-close aware if `wrapped` is.
  template <class W, class... Args>
  std::shared_ptr<ProtocolWrapper> makeWrapper(std::shared_ptr<Protocol> wrapped, Args&&... args) {
    if (dynamic_cast<IHalfCloseableProtocol*>(wrapped.get())) {
      return std::make_shared<HalfCloseable<W>>(*this, std::move(wrapped),
                                                std::forward<Args>(args)...);
    }
    return std::make_shared<W>(*this, std::move(wrapped), std::forward<Args>(args)...);
  }

 private:
  std::set<ProtocolWrapper*> protocols_;
};

}  // namespace twisted::policies

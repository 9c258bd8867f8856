// HAProxyWrappingFactory, and the half-close aware wrapper it builds for a
// half-closeable protocol.
#include "twisted/protocols/haproxy.hpp"

namespace twisted::haproxy {

namespace {

// policies::HalfCloseable would pass a half-close to a protocol that may
// not be connected yet; before the header, the header can no longer come.
class HalfCloseableWrapper final : public HAProxyProtocolWrapper, public IHalfCloseableProtocol {
 public:
  using HAProxyProtocolWrapper::HAProxyProtocolWrapper;
  void readConnectionLost() override {
    if (!proxyInfo()) {
      refuse("the peer closed its side before the PROXY header was complete");
    } else if (wrappedProtocol) {
      inner().readConnectionLost();
    }
  }
  void writeConnectionLost() override {
    // Only the wrapped protocol half-closes, so it is connected.
    if (wrappedProtocol) inner().writeConnectionLost();
  }

 private:
  IHalfCloseableProtocol& inner() {
    return dynamic_cast<IHalfCloseableProtocol&>(*wrappedProtocol);
  }
};

}  // namespace

std::shared_ptr<policies::ProtocolWrapper> HAProxyWrappingFactory::wrapProtocol(
    std::shared_ptr<Protocol> wrapped, const Address& addr) {
  (void)addr;
  if (dynamic_cast<IHalfCloseableProtocol*>(wrapped.get())) {
    return std::make_shared<HalfCloseableWrapper>(*this, std::move(wrapped));
  }
  return std::make_shared<HAProxyProtocolWrapper>(*this, std::move(wrapped));
}

std::string HAProxyWrappingFactory::logPrefix() const {
  return wrappedFactory->logPrefix() + " (PROXY)";
}

}  // namespace twisted::haproxy

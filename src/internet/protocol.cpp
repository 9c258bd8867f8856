// Protocol and Factory (twisted.internet.protocol).
#include "twisted/internet/protocol.hpp"

#include <typeinfo>

namespace twisted {

void Protocol::makeConnection(std::shared_ptr<ITransport> t) {
  connected = true;
  transport = std::move(t);
  connectionMade();
}

std::string Protocol::logPrefix() const {
  // The dynamic type's mangled name is not for humans; a protocol that wants
  // a readable prefix overrides this, as in Twisted.
  return "Protocol";
}

std::shared_ptr<Protocol> Factory::buildProtocol(const Address& addr) {
  (void)addr;
  if (!protocol) return nullptr;
  std::shared_ptr<Protocol> p = protocol();
  if (p) p->factory = this;
  return p;
}

void Factory::doStart() {
  if (numPorts_.fetch_add(1, std::memory_order_acq_rel) == 0) startFactory();
}

void Factory::doStop() {
  int n = numPorts_.load(std::memory_order_acquire);
  do {
    if (n == 0) return;  // unbalanced: ignore, as Twisted does
  } while (!numPorts_.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel));
  if (n == 1) stopFactory();
}

}  // namespace twisted

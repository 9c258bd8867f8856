// What every port, connector and loopback calls instead of
// factory.buildProtocol: the protocol it receives knows its factory even
// when an override of buildProtocol built it without the default's help
// (users expect `protocol->factory` set, as Twisted users do).
#pragma once

#include <memory>

#include "twisted/internet/protocol.hpp"

namespace twisted::detail {

inline std::shared_ptr<Protocol> buildProtocol(Factory& factory, const Address& addr) {
  std::shared_ptr<Protocol> p = factory.buildProtocol(addr);
  if (p && !p->factory) p->factory = &factory;
  return p;
}

}  // namespace twisted::detail

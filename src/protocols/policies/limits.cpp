#include "twisted/protocols/policies.hpp"

namespace twisted::policies {

namespace {

// The host part of an address: what LimitConnectionsByPeer counts by.
std::string hostOf(const Address& address) {
  return std::visit(
      [](const auto& a) -> std::string {
        if constexpr (requires { a.host; }) {
          return a.host;
        } else if constexpr (requires { a.name; }) {
          return a.name;
        } else {
          return "pipe";  // PipeAddress: one peer
        }
      },
      address);
}

}  // namespace

LimitTotalConnectionsFactory::LimitTotalConnectionsFactory(
    std::shared_ptr<Factory> wrapped, std::optional<std::size_t> connectionLimit)
    : WrappingFactory(std::move(wrapped)), connectionLimit(connectionLimit) {}

std::shared_ptr<Protocol> LimitTotalConnectionsFactory::buildProtocol(const Address& addr) {
  if (!connectionLimit || connectionCount_ < *connectionLimit) {
    return WrappingFactory::buildProtocol(addr);
  }
  if (!overflowProtocol) return nullptr;
  auto overflow = overflowProtocol();
  overflow->factory = this;
  return wrapProtocol(std::move(overflow), addr);
}

// Counted from connection to loss, so a connection refused later on (or
// never made) is not counted.
void LimitTotalConnectionsFactory::registerProtocol(ProtocolWrapper& p) {
  WrappingFactory::registerProtocol(p);
  ++connectionCount_;
}

void LimitTotalConnectionsFactory::unregisterProtocol(ProtocolWrapper& p) {
  WrappingFactory::unregisterProtocol(p);
  --connectionCount_;
}

LimitConnectionsByPeer::LimitConnectionsByPeer(std::shared_ptr<Factory> wrapped,
                                               std::size_t maxConnectionsPerPeer)
    : WrappingFactory(std::move(wrapped)), maxConnectionsPerPeer(maxConnectionsPerPeer) {}

std::shared_ptr<Protocol> LimitConnectionsByPeer::buildProtocol(const Address& addr) {
  std::string host = hostOf(addr);
  std::size_t& count = peers_[host];
  if (count >= maxConnectionsPerPeer) return nullptr;
  auto p = WrappingFactory::buildProtocol(addr);
  if (p) {
    ++count;
  } else if (count == 0) {
    peers_.erase(host);
  }
  return p;
}

void LimitConnectionsByPeer::unregisterProtocol(ProtocolWrapper& p) {
  WrappingFactory::unregisterProtocol(p);
  auto it = peers_.find(hostOf(p.getPeer()));
  if (it != peers_.end() && --it->second == 0) peers_.erase(it);
}

}  // namespace twisted::policies

// HAProxyProtocolWrapper: the header first, then the wrapped protocol.
#include "twisted/logger/logger.hpp"
#include "twisted/protocols/haproxy.hpp"

namespace twisted::haproxy {

namespace {

const logger::Logger& log() {
  static const logger::Logger instance("twisted.protocols.haproxy");
  return instance;
}

}  // namespace

HAProxyProtocolWrapper::HAProxyProtocolWrapper(policies::WrappingFactory& factory,
                                               std::shared_ptr<Protocol> wrapped)
    : ProtocolWrapper(factory, std::move(wrapped)) {}

void HAProxyProtocolWrapper::makeConnection(std::shared_ptr<ITransport> t) {
  // As ProtocolWrapper's, less connecting the wrapped protocol: it waits
  // for the header, so that its connectionMade sees the proxied addresses.
  Protocol::makeConnection(std::move(t));
  wrappingFactory().registerProtocol(*this);
}

void HAProxyProtocolWrapper::dataReceived(std::string_view data) {
  if (info_) {
    ProtocolWrapper::dataReceived(data);
    return;
  }
  if (refused_ || data.empty()) return;
  if (!parser_) {
    // The two signatures differ in their first byte ('P', '\r').
    if (data.front() == V1Parser::kSignature.front()) {
      parser_ = std::make_unique<V1Parser>();
    } else if (data.front() == V2Parser::kSignature.front()) {
      parser_ = std::make_unique<V2Parser>();
    } else {
      refuse("the connection does not start with a PROXY protocol header");
      return;
    }
  }
  std::optional<ParsedHeader> parsed;
  try {
    parsed = parser_->feed(data);
  } catch (const InvalidProxyHeader& e) {
    refuse(e.what());
    return;
  }
  if (!parsed) return;
  parser_.reset();
  info_ = std::move(parsed->info);
  wrappedProtocol->makeConnection(shared_from_this());
  // (Its connectionMade may have closed the connection, and a transport
  // that closes at once has already cleared wrappedProtocol.)
  if (wrappedProtocol && !parsed->remaining.empty()) {
    wrappedProtocol->dataReceived(parsed->remaining);
  }
}

void HAProxyProtocolWrapper::connectionLost(const Failure& reason) {
  if (info_) {
    ProtocolWrapper::connectionLost(reason);
    return;
  }
  // The wrapped protocol never had a connection: nothing to tell it.
  if (!refused_ && parser_) {
    log().info("The connection from {peer} closed before its PROXY header was complete",
               {{"peer", toString(transport->getPeer())}});
  }
  wrappingFactory().unregisterProtocol(*this);
  wrappedProtocol.reset();
}

Address HAProxyProtocolWrapper::getPeer() const {
  if (info_ && info_->source) return *info_->source;
  return ProtocolWrapper::getPeer();
}

Address HAProxyProtocolWrapper::getHost() const {
  if (info_ && info_->destination) return *info_->destination;
  return ProtocolWrapper::getHost();
}

void HAProxyProtocolWrapper::refuse(const std::string& why) {
  refused_ = true;
  parser_.reset();
  log().warn("Closing the connection from {peer}: {reason}",
             {{"peer", toString(transport->getPeer())}, {"reason", why}});
  loseConnection();
}

}  // namespace twisted::haproxy

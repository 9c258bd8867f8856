// tcp::Server: an accepted connection.
#include "tcp.hpp"

namespace twisted::tcp {

Server::Server(twisted::detail::TransportHost& host, std::shared_ptr<Factory> factory,
               const Address& peer, long sessionno)
    : Connection(host), factory_(std::move(factory)) {
  sessionno_ = static_cast<std::uint32_t>(sessionno);  // for the log prefix only
  setPeer(peer);
}

void Server::start(int fd, std::shared_ptr<Protocol> protocol) {
  setFd(fd);  // owned from here on, even if what follows throws
  host().track(shared_from_this());
  startConnection(fd, std::move(protocol));
}

// Twisted's "Protocol,sessionno,peerhost".
std::string Server::prefixFor(const Protocol& protocol) const {
  Address peer = getPeer();
  std::string peerHost;
  if (const auto* v4 = std::get_if<IPv4Address>(&peer)) peerHost = v4->host;
  if (const auto* v6 = std::get_if<IPv6Address>(&peer)) peerHost = v6->host;
  return protocol.logPrefix() + "," + std::to_string(sessionno_) + "," + peerHost;
}

void Server::afterConnectionLost(const Failure&) {
  factory_.reset();
}

}  // namespace twisted::tcp
